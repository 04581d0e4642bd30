# ssn-bench: the SSN paper's benchmark, from the datasets to the figures and tables.
#   snakemake --cores all                              # config/config.yaml (paper settings)
#   snakemake --cores all --config device=cuda         # SSN jobs on the GPU (gpu=1 each)
#   snakemake --cores 2 --configfile config/quick.yaml --forceall  # the CPU check (< 60 min)
#   snakemake results/figures                          # only the figures (and what they need)
#   snakemake --report results/report.html             # self-contained HTML report
# The stages live in workflow/rules/*.smk, the plan (which jobs, from the config) in
# workflow/plan.py; see config/README.md ("Workflow").

from snakemake.utils import min_version

min_version("8.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/segment.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/robustness.smk"
include: "workflow/rules/stability.smk"
include: "workflow/rules/report.smk"


# cheap steps run by Snakemake itself, never submitted to a cluster (--executor slurm)
localrules:
    all,
    figures,
    aggregate,
    figure,
    qualitative,
    runtime_table,
    reproduction_gap,
    provenance,
    robustness_table,
    robustness_figure,
    stability,
    stability_figure,
    count_control,
    claims,


rule all:
    default_target: True
    input:
        PLAN.final_outputs(),
