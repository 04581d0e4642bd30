# Configuration validation, the plan, input functions and wildcard constraints.
# What the config asks for (datasets x methods x K, models, training profiles, figures,
# runtime jobs, targets) is decided by workflow/plan.py, plain Python with unit tests
# (tests/test_plan.py); here its methods are adapted to wildcards. Every other .smk file
# reads the config only through what is defined here. Nothing here probes the machine:
# the config's device (auto | cpu | cuda) is resolved inside the jobs.

import os
import sys

from snakemake.utils import validate

sys.path.insert(0, os.path.join(workflow.basedir, "workflow"))
from plan import DATASET_NAMES, IMAGE_OPTIONS, STABILITY_METRICS, Plan

validate(config, schema="../schemas/config.schema.yaml")

PLAN = Plan(config)
for _note in PLAN.notes:
    print(f"[ssn-bench] {_note}", file=sys.stderr)

WORK = PLAN.work
RESULTS = PLAN.results
DATA_DEST = PLAN.data_dest
TRAIN_DIR = PLAN.train_dir
MODELS_DEST = PLAN.models_dest
DATA_CONFIGS = PLAN.data_configs
MODEL_CONFIGS = PLAN.model_configs
DEVICE = PLAN.device
TRAIN_RUNS = PLAN.train_runs
FIGURES = PLAN.figures
QUAL_DATASET = PLAN.qual_dataset
RUNTIME_SIZES = PLAN.runtime_sizes
ROBUSTNESS = PLAN.robustness  # None when off

# conda environments (--software-deployment-method conda; paths relative to the .smk
# files). Both install this checkout's package (pip install -e, dependencies from
# pyproject.toml). SSN jobs take the CUDA build of PyTorch with device: cuda only;
# device: auto keeps the CPU environment (and reserves no gpu resource).
CONDA_ENV = "../envs/ssn.yaml"
SSN_CONDA_ENV = "../envs/ssn-cuda.yaml" if PLAN.gpu_jobs else CONDA_ENV
# the checkout the environments install (`pip: -e ${SSN_BENCH_REPO}` in workflow/envs/):
# set here, when Snakemake creates them, not asked of the user
os.environ.update(SSN_BENCH_REPO=workflow.basedir)


# ---------------------------------------------------------------------------- inputs
# One-line adapters from wildcards to the plan.


def dataset_ready(wildcards):
    return PLAN.dataset_ready(wildcards.dataset)


def dataset_stamp(wildcards):
    return PLAN.dataset_stamp(wildcards.dataset)


def image_options(wildcards):
    return PLAN.dataset_options(wildcards.dataset, IMAGE_OPTIONS)


def dataset_options(wildcards):
    return PLAN.dataset_options(wildcards.dataset)


def segment_model_input(wildcards):
    return PLAN.segment_model_input(wildcards.method, wildcards.dataset)


def segment_reused_input(wildcards):
    return PLAN.segment_reused_input(
        wildcards.method, wildcards.dataset, int(wildcards.k)
    )


def segment_params(wildcards):
    return PLAN.segment_params(wildcards.method, wildcards.dataset)


def segment_gpus(wildcards):
    return 1 if PLAN.is_gpu_job(wildcards.method) else 0


def train_inputs(wildcards):
    data = PLAN.dataset_ready(PLAN.train_dataset(wildcards.run))
    return {"data": data, **PLAN.train_profiles(wildcards.run)}


def train_overrides(wildcards):
    return PLAN.train_overrides(wildcards.run)


def train_data_root(wildcards):
    return PLAN.train_data_root(wildcards.run)


def train_out_dir(wildcards):
    return PLAN.train_out_dir(wildcards.run)


def train_threads(wildcards):
    return PLAN.train_threads(wildcards.run)


def train_gpus(wildcards):
    return PLAN.train_gpus(wildcards.run)


def train_mem_mb(wildcards):
    return PLAN.train_mem_mb(wildcards.run)


def figure_spec(wildcards):
    return FIGURES[wildcards.figure]


def qualitative_inputs(wildcards):
    return {
        "labels": PLAN.qualitative_labels(),
        "data": PLAN.dataset_ready(QUAL_DATASET),
    }


def runtime_ready(wildcards):
    return PLAN.dataset_ready(PLAN.runtime_dataset(wildcards.size))


def runtime_stamp(wildcards):
    return PLAN.dataset_stamp(PLAN.runtime_dataset(wildcards.size))


def runtime_image_options(wildcards):
    return PLAN.dataset_options(PLAN.runtime_dataset(wildcards.size), IMAGE_OPTIONS)


def runtime_model_inputs(wildcards):
    return PLAN.runtime_model_inputs(wildcards.size)


def runtime_method_specs(wildcards):
    return PLAN.runtime_method_specs(wildcards.size)


def robustness_params(wildcards):
    return PLAN.robustness_params(wildcards.method, wildcards.perturbation)


def stability_protocol(wildcards):
    return PLAN.primary_protocol(wildcards.dataset)


def claims_inputs(wildcards):
    return PLAN.claims_inputs()


wildcard_constraints:
    dataset="|".join(DATASET_NAMES),
    method="|".join(config["methods"]) if config["methods"] else "none",
    k=r"\d+",
    figure="|".join(FIGURES) if FIGURES else "none",
    size="|".join(RUNTIME_SIZES) if RUNTIME_SIZES else "none",
    run=r"[A-Za-z0-9_]+",
    task="|".join(DATASET_NAMES),
    perturbation="|".join(ROBUSTNESS["perturbations"]) if ROBUSTNESS else "none",
    metric="|".join(STABILITY_METRICS),
