# Figures (PDF + PNG, one colour per method), the runtime table (CSV, Markdown, LaTeX)
# and the provenance of a run; every figure is in the HTML report
# (snakemake --report results/report.html).


# `snakemake results/figures` (or `snakemake figures`): only the figures and what they
# need. Each figure is drawn into the work folder (and the HTML report) and the set is
# copied into results/figures as one directory output.
rule figures:
    input:
        f"{RESULTS}/figures",


rule collect_figures:
    input:
        figure_outputs(),
    output:
        directory(f"{RESULTS}/figures"),
    log:
        "logs/figures/collect.log",
    benchmark:
        "benchmarks/figures/collect.tsv"
    threads: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/collect_figures.py"


rule figure:
    input:
        summary=rules.aggregate.output.summary,
    output:
        pdf=f"{WORK}/figures/{{figure}}.pdf",
        png=report(
            f"{WORK}/figures/{{figure}}.png",
            caption="../report/figure.rst",
            category="Figures",
            subcategory=lambda wildcards: FIGURES[wildcards.figure]["dataset"],
            labels=lambda wildcards: {
                "figure": wildcards.figure,
                "protocol": FIGURES[wildcards.figure]["protocol"],
            },
        ),
    params:
        spec=lambda wildcards: FIGURES[wildcards.figure],
        styles=method_styles(),
    log:
        "logs/figures/{figure}.log",
    benchmark:
        "benchmarks/figures/{figure}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
    conda:
        CONDA_ENV
    script:
        "../scripts/plot_curves.py"


rule qualitative:
    input:
        unpack(qualitative_inputs),
        stamp=lambda wildcards: dataset_stamp(wildcards.dataset),
    output:
        pdf=f"{WORK}/figures/qualitative_{{dataset}}.pdf",
        png=report(
            f"{WORK}/figures/qualitative_{{dataset}}.png",
            caption="../report/qualitative.rst",
            category="Figures",
            subcategory="{dataset}",
            labels={"figure": "qualitative_{dataset}", "protocol": "-"},
        ),
    params:
        dataset=lambda wildcards: dataset_options(wildcards.dataset, IMAGE_OPTIONS),
        methods=lambda wildcards: COMBOS[wildcards.dataset],
        styles=method_styles(),
        k=QUAL_K,
        n_images=config["figures"]["qualitative"]["n_images"],
        crop=config["figures"]["qualitative"]["crop"],
    log:
        "logs/figures/qualitative_{dataset}.log",
    benchmark:
        "benchmarks/figures/qualitative_{dataset}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
    conda:
        CONDA_ENV
    script:
        "../scripts/plot_qualitative.py"


rule runtime_measure:
    input:
        data=lambda wildcards: dataset_ready(RUNTIME_SIZES[wildcards.size]["dataset"]),
        stamp=lambda wildcards: dataset_stamp(RUNTIME_SIZES[wildcards.size]["dataset"]),
        models=runtime_model_inputs,
    output:
        times=f"{WORK}/runtime/{{size}}.csv",
    params:
        size=lambda wildcards: RUNTIME_SIZES[wildcards.size],
        dataset=lambda wildcards: dataset_options(
            RUNTIME_SIZES[wildcards.size]["dataset"], IMAGE_OPTIONS
        ),
        methods=runtime_method_specs,
        n_segments=config["runtime"]["n_segments"],
        repeats=config["runtime"]["repeats"],
    log:
        "logs/runtime/{size}.log",
    benchmark:
        "benchmarks/runtime/{size}.tsv"
    # all cores: nothing else runs beside the timing (the table states the threads)
    threads: workflow.cores
    resources:
        gpu=lambda wildcards: 1 if DEVICE == "cuda" else 0,
        mem_mb=8000,
    conda:
        SSN_CONDA_ENV
    script:
        "../scripts/runtime.py"


rule runtime_table:
    input:
        times=expand(f"{WORK}/runtime/{{size}}.csv", size=list(RUNTIME_SIZES)),
    output:
        csv=report(
            f"{RESULTS}/tables/runtime.csv",
            caption="../report/runtime.rst",
            category="Tables",
            labels={"table": "runtime (CSV)"},
        ),
        md=f"{RESULTS}/tables/runtime.md",
        tex=f"{RESULTS}/tables/runtime.tex",
    params:
        labels={m: method_label(m) for m in ALL_METHODS},
    log:
        "logs/runtime/table.log",
    benchmark:
        "benchmarks/runtime/table.tsv"
    threads: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/runtime_table.py"


rule provenance:
    input:
        summary=rules.aggregate.output.summary,
    output:
        versions=f"{RESULTS}/provenance/versions.txt",
        config=f"{RESULTS}/provenance/config.yaml",
    params:
        config=config,
        device=DEVICE,
        repo=workflow.basedir,
    log:
        "logs/provenance.log",
    benchmark:
        "benchmarks/provenance/provenance.tsv"
    threads: 1
    conda:
        CONDA_ENV
    script:
        "../scripts/provenance.py"
