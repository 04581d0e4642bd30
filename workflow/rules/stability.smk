# Stability and count control (issue #28), from the per-image table of the benchmark's
# own evaluation: the spread over images of ASA, BR and UE (curves with min/max and std
# bands), and the realised superpixel count against the requested K with the
# superpixels that are not one 4-connected region.


rule stability:
    input:
        table=rules.aggregate.output.table,
    output:
        csv=report(
            f"{RESULTS}/tables/stability.csv",
            caption="../report/stability_table.rst",
            category="Tables",
            labels={"table": "stability (CSV)"},
        ),
        md=f"{RESULTS}/tables/stability.md",
    log:
        "logs/stability/table.log",
    benchmark:
        "benchmarks/stability/table.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=4000,
    params:
        datasets=PLAN.stability_datasets,
        labels=PLAN.method_labels(),
    script:
        "../scripts/stability.py"


rule stability_figure:
    input:
        table=rules.stability.output.csv,
    output:
        pdf=f"{RESULTS}/figures/stability_{{dataset}}_{{metric}}.pdf",
        png=report(
            f"{RESULTS}/figures/stability_{{dataset}}_{{metric}}.png",
            caption="../report/stability.rst",
            category="Stability",
            subcategory="{dataset}",
            labels={"metric": "{metric}"},
        ),
    log:
        "logs/figures/stability_{dataset}_{metric}.log",
    benchmark:
        "benchmarks/figures/stability_{dataset}_{metric}.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
    params:
        protocol=stability_protocol,
        styles=PLAN.method_styles(),
    script:
        "../scripts/plot_stability.py"


rule count_control:
    input:
        table=rules.aggregate.output.table,
    output:
        csv=report(
            f"{RESULTS}/tables/count_control.csv",
            caption="../report/count_control_table.rst",
            category="Tables",
            labels={"table": "count control (CSV)"},
        ),
        md=f"{RESULTS}/tables/count_control.md",
        pdf=f"{RESULTS}/figures/count_control.pdf",
        png=report(
            f"{RESULTS}/figures/count_control.png",
            caption="../report/count_control.rst",
            category="Count control",
            labels={"figure": "count_control"},
        ),
    log:
        "logs/count_control/count_control.log",
    benchmark:
        "benchmarks/count_control/count_control.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=4000,
    params:
        labels=PLAN.method_labels(),
        styles=PLAN.method_styles(),
    script:
        "../scripts/count_control.py"
