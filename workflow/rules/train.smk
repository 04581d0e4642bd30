# Train SSN_linear / SSN_deep per task with ssn.train (only when training.activate).
# Methods refer to a run with `model: run:NAME`; with training off they are left out
# and the rest of the DAG (SSN_pix, bundled weights, baselines) runs without it.
# The checkpoints in the run folder are not outputs, so an interrupted job resumes; a
# run whose settings changed starts again (workflow/scripts/train.py).


rule train:
    input:
        data=lambda wildcards: dataset_ready(TRAIN_RUNS[wildcards.run]["dataset"]),
    output:
        model=f"{TRAIN_DIR}/{{run}}/model.pt",
    params:
        # the training config is a parameter, not an input: the configs live in
        # config/train/ next to the trainer and the DAG must build without them
        config=lambda wildcards: train_config(wildcards.run),
        data_root=lambda wildcards: f"{DATA_DEST}/{TRAIN_RUNS[wildcards.run]['dataset']}",
        overrides=lambda wildcards: [
            *config["training"]["overrides"],
            *TRAIN_RUNS[wildcards.run].get("overrides", []),
        ],
        out_dir=lambda wildcards: f"{TRAIN_DIR}/{wildcards.run}",
        device="cuda" if DEVICE == "cuda" else "cpu",
    log:
        "logs/train/{run}.log",
    benchmark:
        "benchmarks/train/{run}.tsv"
    threads: lambda wildcards: TRAIN_RUNS[wildcards.run].get("threads", 8)
    resources:
        gpu=lambda wildcards: train_gpus(wildcards.run),
        mem_mb=lambda wildcards: TRAIN_RUNS[wildcards.run].get("mem_mb", 16000),
        runtime=72 * 60,
    conda:
        SSN_CONDA_ENV
    script:
        "../scripts/train.py"
