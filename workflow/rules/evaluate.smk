# Evaluate one (dataset, method, K) job with ssn.metrics: one row per image x annotation
# x protocol (ASA, BR, BP, UE, with CO, EV and the realised count), or EPE on Sintel.


rule evaluate:
    input:
        data=lambda wildcards: dataset_ready(wildcards.dataset),
        stamp=lambda wildcards: dataset_stamp(wildcards.dataset),
        labels=rules.segment.output.labels,
        timing=rules.segment.output.timing,
    output:
        metrics=f"{WORK}/metrics/{{dataset}}/{{method}}/k{{k}}.csv",
    params:
        dataset=lambda wildcards: dataset_options(wildcards.dataset),
    log:
        "logs/evaluate/{dataset}/{method}/k{k}.log",
    benchmark:
        "benchmarks/evaluate/{dataset}/{method}/k{k}.tsv"
    threads: config["threads"]["evaluate"]
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        CONDA_ENV
    script:
        "../scripts/evaluate.py"


rule aggregate:
    input:
        metrics=metrics_files(),
    output:
        table=f"{RESULTS}/tables/all_results.csv.gz",
        summary=report(
            f"{RESULTS}/tables/summary.csv",
            caption="../report/summary.rst",
            category="Tables",
            labels={"table": "summary (CSV)"},
        ),
        markdown=f"{RESULTS}/tables/summary.md",
    params:
        labels={m: method_label(m) for m in ALL_METHODS},
    log:
        "logs/aggregate.log",
    benchmark:
        "benchmarks/aggregate/aggregate.tsv"
    threads: 1
    resources:
        mem_mb=4000,
    conda:
        CONDA_ENV
    script:
        "../scripts/aggregate.py"
