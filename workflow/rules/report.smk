# Figures (PDF + PNG, one colour per method), the runtime table (CSV, Markdown, LaTeX)
# and the provenance of a run; every figure is in the HTML report
# (snakemake --report results/report.html).


# `snakemake results/figures` (or `snakemake figures`): every figure and what it needs,
# no more. The figures are drawn straight into results/figures (and the HTML report);
# the target is a rule named after that folder, since a folder holding other rules'
# outputs cannot be an output itself.
rule figures:
    input:
        PLAN.all_figure_outputs(),


rule:
    name:
        f"{RESULTS}/figures"
    input:
        rules.figures.input,


rule figure:
    input:
        summary=rules.aggregate.output.summary,
    output:
        pdf=f"{RESULTS}/figures/{{figure}}.pdf",
        png=report(
            f"{RESULTS}/figures/{{figure}}.png",
            caption="../report/figure.rst",
            category="Figures",
            subcategory=lambda wildcards: FIGURES[wildcards.figure]["dataset"],
            labels=lambda wildcards: {
                "figure": wildcards.figure,
                "protocol": FIGURES[wildcards.figure]["protocol"],
            },
        ),
    log:
        "logs/figures/{figure}.log",
    benchmark:
        "benchmarks/figures/{figure}.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
    params:
        spec=figure_spec,
        styles=PLAN.method_styles(),
    script:
        "../scripts/plot_curves.py"


rule qualitative:
    input:
        unpack(qualitative_inputs),
        stamp=dataset_stamp,
    output:
        pdf=f"{RESULTS}/figures/qualitative_{{dataset}}.pdf",
        png=report(
            f"{RESULTS}/figures/qualitative_{{dataset}}.png",
            caption="../report/qualitative.rst",
            category="Figures",
            subcategory="{dataset}",
            labels={"figure": "qualitative_{dataset}", "protocol": "-"},
        ),
    log:
        "logs/figures/qualitative_{dataset}.log",
    benchmark:
        "benchmarks/figures/qualitative_{dataset}.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
    params:
        dataset=image_options,
        methods=lambda wildcards: PLAN.combos[wildcards.dataset],
        styles=PLAN.method_styles(),
        k=PLAN.qual_k,
        n_images=config["figures"]["qualitative"]["n_images"],
        crop=config["figures"]["qualitative"]["crop"],
    script:
        "../scripts/plot_qualitative.py"


rule runtime_measure:
    input:
        data=runtime_ready,
        stamp=runtime_stamp,
        models=runtime_model_inputs,
    output:
        times=f"{WORK}/runtime/{{size}}.csv",
    log:
        "logs/runtime/{size}.log",
    benchmark:
        "benchmarks/runtime/{size}.tsv"
    conda:
        SSN_CONDA_ENV
    # all cores: nothing else runs beside the timing (the table states the threads)
    threads: workflow.cores
    resources:
        gpu=1 if PLAN.gpu_jobs else 0,
        mem_mb=8000,
    params:
        size=lambda wildcards: RUNTIME_SIZES[wildcards.size],
        dataset=runtime_image_options,
        methods=runtime_method_specs,
        n_segments=config["runtime"]["n_segments"],
        repeats=config["runtime"]["repeats"],
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
    log:
        "logs/runtime/table.log",
    benchmark:
        "benchmarks/runtime/table.tsv"
    conda:
        CONDA_ENV
    threads: 1
    params:
        labels=PLAN.method_labels(),
    script:
        "../scripts/runtime_table.py"


rule reproduction_gap:
    input:
        summary=rules.aggregate.output.summary,
        records=lambda wildcards: [f for f in PLAN.training_records().values() if f],
    output:
        csv=report(
            f"{RESULTS}/tables/reproduction_gap.csv",
            caption="../report/reproduction_gap.rst",
            category="Tables",
            labels={"table": "reproduction gap (CSV)"},
        ),
        md=f"{RESULTS}/tables/reproduction_gap.md",
    log:
        "logs/reproduction_gap/reproduction_gap.log",
    benchmark:
        "benchmarks/reproduction_gap/reproduction_gap.tsv"
    conda:
        CONDA_ENV
    threads: 1
    params:
        spec=PLAN.reproduction,
        records=lambda wildcards: PLAN.training_records(),
        labels=PLAN.method_labels(),
    script:
        "../scripts/reproduction_gap.py"


rule provenance:
    input:
        summary=rules.aggregate.output.summary,
    output:
        versions=f"{RESULTS}/provenance/versions.txt",
        config=f"{RESULTS}/provenance/config.yaml",
    log:
        "logs/provenance.log",
    benchmark:
        "benchmarks/provenance/provenance.tsv"
    conda:
        CONDA_ENV
    threads: 1
    params:
        config=config,
        device=DEVICE,
        repo=workflow.basedir,
    script:
        "../scripts/provenance.py"


# The paper's claims and those of the robustness, stability and count-control results,
# each with its measured verdict (workflow/scripts/paper_claims.py).
rule claims:
    input:
        unpack(claims_inputs),
    output:
        md=report(
            f"{RESULTS}/tables/paper_claims.md",
            caption="../report/claims.rst",
            category="Tables",
            labels={"table": "claims (Markdown)"},
        ),
    log:
        "logs/claims/claims.log",
    benchmark:
        "benchmarks/claims/claims.tsv"
    conda:
        CONDA_ENV
    threads: 1
    params:
        method=PLAN.claims_method(),
        robustness=ROBUSTNESS,
    script:
        "../scripts/claims.py"
