# Train SSN_linear / SSN_deep per task with `ssn train` (only when training.activate).
# Methods refer to a run with `model: run:NAME`; with training off they are left out
# and the rest of the DAG (SSN_pix, bundled weights, baselines) runs without it.


rule train:
    input:
        data=lambda wildcards: dataset_ready(TRAIN_RUNS[wildcards.run]["dataset"]),
    output:
        best=f"{TRAIN_DIR}/{{run}}/best.pt",
        last=f"{TRAIN_DIR}/{{run}}/last.pt",
        log_csv=f"{TRAIN_DIR}/{{run}}/log.csv",
    params:
        # the training config is a parameter, not an input: the configs live in
        # config/train/ next to the trainer and the DAG must build without them
        config=lambda wildcards: TRAIN_RUNS[wildcards.run]["config"],
        # the dataset as fetched by rule fetch_dataset, the job's threads, no progress
        # bars in the log; then the run's own overrides (which win)
        overrides=lambda wildcards, threads: " ".join(
            f"'{o}'"
            for o in [
                f"data_root={DATA_DEST}/{TRAIN_RUNS[wildcards.run]['dataset']}",
                f"threads={threads}",
                "progress=false",
                *TRAIN_RUNS[wildcards.run].get("overrides", []),
            ]
        ),
        out=lambda wildcards: f"{TRAIN_DIR}/{wildcards.run}",
    log:
        "logs/train/{run}.log",
    benchmark:
        "benchmarks/train/{run}.tsv"
    threads: lambda wildcards: TRAIN_RUNS[wildcards.run].get("threads", 8)
    resources:
        gpu=lambda wildcards: TRAIN_RUNS[wildcards.run].get("gpu", 1),
        mem_mb=lambda wildcards: TRAIN_RUNS[wildcards.run].get("mem_mb", 16000),
        runtime=72 * 60,
    shell:
        "ssn train --config {params.config} --out {params.out} {params.overrides} "
        "> {log} 2>&1"
