# Train SSN_linear / SSN_deep per task with ssn.train (only when training.activate).
# Methods refer to a run with `model: run:NAME`; with training off they are left out
# and the rest of the DAG (SSN_pix, bundled weights, baselines) runs without it.
# The profiles a run may read (config/train/*.yaml) are inputs, so editing one reruns
# it; the run entry becomes overrides, which are params (Snakemake reruns a job whose
# params changed). The checkpoints
# in the run folder are not outputs, so an interrupted job resumes; a run whose
# settings changed starts again (workflow/scripts/train.py).


rule train:
    input:
        # data, then gpu_profile and/or cpu_profile: the job picks by the device it
        # runs on (Plan.train_profiles)
        unpack(train_inputs),
    output:
        model=f"{TRAIN_DIR}/{{run}}/model.pt",
    log:
        "logs/train/{run}.log",
    benchmark:
        "benchmarks/train/{run}.tsv"
    conda:
        SSN_CONDA_ENV
    threads: train_threads
    resources:
        gpu=train_gpus,
        mem_mb=train_mem_mb,
        runtime=72 * 60,
    params:
        data_root=train_data_root,
        overrides=train_overrides,
        out_dir=train_out_dir,
        device=DEVICE,
    script:
        "../scripts/train.py"
