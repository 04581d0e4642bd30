# Evaluate one (dataset, method, K) job with ssn.metrics: one row per image x annotation
# x protocol (ASA, BR, BP, UE, with CO, EV and the realised count), or EPE on Sintel.


rule evaluate:
    input:
        data=dataset_ready,
        stamp=dataset_stamp,
        labels=rules.segment.output.labels,
        timing=rules.segment.output.timing,
    output:
        metrics=f"{WORK}/metrics/{{dataset}}/{{method}}/k{{k}}.csv",
    log:
        "logs/evaluate/{dataset}/{method}/k{k}.log",
    benchmark:
        "benchmarks/evaluate/{dataset}/{method}/k{k}.tsv"
    conda:
        CONDA_ENV
    threads: config["threads"]["evaluate"]
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        dataset=dataset_options,
    script:
        "../scripts/evaluate.py"


rule aggregate:
    input:
        metrics=PLAN.metrics_files(),
    output:
        table=f"{RESULTS}/tables/all_results.csv.gz",
        summary=report(
            f"{RESULTS}/tables/summary.csv",
            caption="../report/summary.rst",
            category="Tables",
            labels={"table": "summary (CSV)"},
        ),
        averages=f"{RESULTS}/tables/stutz_averages.csv",
        markdown=f"{RESULTS}/tables/summary.md",
    log:
        "logs/aggregate.log",
    benchmark:
        "benchmarks/aggregate/aggregate.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=4000,
    params:
        labels=PLAN.method_labels(),
    script:
        "../scripts/aggregate.py"
