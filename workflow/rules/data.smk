# Acquire the datasets with `ssn data` (download, or link the configured local copy),
# then verify them. One job per dataset; re-running is a no-op once the stamp exists.
# The scripts run the command in-process (workflow/scripts/data.py), so they need no
# installed `ssn` executable inside a conda environment.


rule fetch_dataset:
    input:
        configs=DATA_CONFIGS,
    output:
        stamp=f"{DATA_DEST}/{{dataset}}.json",
    log:
        "logs/data/fetch_{dataset}.log",
    benchmark:
        "benchmarks/data/fetch_{dataset}.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
    params:
        action="fetch",
        dest=lambda wildcards, output: os.path.dirname(output.stamp),
    script:
        "../scripts/data.py"


rule check_dataset:
    input:
        stamp=rules.fetch_dataset.output.stamp,
        configs=DATA_CONFIGS,
    output:
        checked=touch(f"{DATA_DEST}/{{dataset}}.checked"),
    log:
        "logs/data/check_{dataset}.log",
    benchmark:
        "benchmarks/data/check_{dataset}.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
    params:
        action="check",
        dest=lambda wildcards, input: os.path.dirname(input.stamp),
    script:
        "../scripts/data.py"


# The released models (ssn.official: the SSN paper's, CC BY-NC-SA 4.0; SEAL's; LNSNet's,
# no licence; never committed): `ssn models fetch` finds them ($SSN_WEIGHTS, the models
# config's source folder, the user cache) or downloads them pinned to their sha256. An SSN
# model is written as an ssn checkpoint, SEAL's and LNSNet's as their verified state dict.


rule fetch_model:
    input:
        configs=MODEL_CONFIGS,
    output:
        checkpoint=f"{MODELS_DEST}/{{name}}.pt",
    log:
        "logs/models/fetch_{name}.log",
    benchmark:
        "benchmarks/models/fetch_{name}.tsv"
    wildcard_constraints:
        name="(official|seal|lnsnet)-[a-z0-9]+",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
    script:
        "../scripts/fetch_model.py"
