# Robustness (issue #28): every method of the robustness dataset segments perturbed
# copies of its images (ssn.perturbations: noise, blur, rotation, shear; seeded, the
# void pixels of a rotation or shear left out of every metric) at one K, one job per
# method x perturbation; a table against the clean images' scores and one figure per
# perturbation.


rule robustness:
    input:
        data=dataset_ready,
        stamp=dataset_stamp,
        model=segment_model_input,
    output:
        metrics=f"{WORK}/robustness/{{dataset}}/{{method}}/{{perturbation}}.csv",
    log:
        "logs/robustness/{dataset}/{method}/{perturbation}.log",
    benchmark:
        "benchmarks/robustness/{dataset}/{method}/{perturbation}.tsv"
    conda:
        SSN_CONDA_ENV
    threads: config["threads"]["segment"]
    resources:
        gpu=segment_gpus,
        mem_mb=4000,
        runtime=60,
    params:
        job=robustness_params,
    script:
        "../scripts/robustness.py"


rule robustness_table:
    input:
        perturbed=PLAN.robustness_files(),
        clean=PLAN.robustness_clean_files(),
    output:
        csv=report(
            f"{RESULTS}/tables/robustness.csv",
            caption="../report/robustness_table.rst",
            category="Tables",
            labels={"table": "robustness (CSV)"},
        ),
        md=f"{RESULTS}/tables/robustness.md",
        parameters=f"{RESULTS}/provenance/perturbations.yaml",
    log:
        "logs/robustness/table.log",
    benchmark:
        "benchmarks/robustness/table.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
    params:
        spec=ROBUSTNESS,
        labels=PLAN.method_labels(),
    script:
        "../scripts/robustness_table.py"


rule robustness_figure:
    input:
        table=rules.robustness_table.output.csv,
    output:
        pdf=f"{RESULTS}/figures/robustness_{{perturbation}}.pdf",
        png=report(
            f"{RESULTS}/figures/robustness_{{perturbation}}.png",
            caption="../report/robustness.rst",
            category="Robustness",
            labels={"perturbation": "{perturbation}"},
        ),
    log:
        "logs/figures/robustness_{perturbation}.log",
    benchmark:
        "benchmarks/figures/robustness_{perturbation}.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
    params:
        styles=PLAN.method_styles(),
    script:
        "../scripts/plot_robustness.py"
