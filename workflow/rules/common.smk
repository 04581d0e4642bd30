# Configuration validation, derived tables (datasets x methods x K), input functions and
# wildcard constraints. Every other .smk file reads the config only through what is
# defined here.

import os
import sys
from pathlib import Path

from snakemake.utils import validate

validate(config, schema="../schemas/config.schema.yaml")


def _note(message):
    print(f"[ssn-bench] {message}", file=sys.stderr)


DATASET_NAMES = ("bsds500", "voc2012", "cityscapes", "sintel")
WORK = config["workdir"]
RESULTS = config["results"]
DATA_DEST = config["data"]["dest"]
TRAIN_DIR = config["training"]["outdir"]
MODELS_DEST = config["models"]["dest"]
# Models configs (a local `source:` folder of the paper's .caffemodel files); absent
# files are left out, so a machine-specific models.local.yaml is optional.
MODEL_CONFIGS = [c for c in config["models"]["configs"] if os.path.exists(c)]

# Dataset source files: later ones override earlier ones; absent files are left out so
# a machine-specific datasets.local.yaml is optional.
DATA_CONFIGS = [c for c in config["data"]["configs"] if os.path.exists(c)]
for _c in config["data"]["configs"]:
    if not os.path.exists(_c):
        _note(f"dataset config {_c} not found: left out")
if not DATA_CONFIGS:
    raise ValueError(
        f"config data.configs: none of {config['data']['configs']} exists "
        "(give at least config/datasets.yaml)"
    )

DATASETS = {
    name: spec for name, spec in config["datasets"].items() if spec.get("activate", False)
}
if not DATASETS:
    raise ValueError("config datasets: no dataset has activate: true")

K_VALUES = sorted(config["n_segments"])


def k_values(dataset):
    """Requested counts K of a dataset (its own n_segments, else the global list)."""
    return sorted(config["datasets"][dataset].get("n_segments") or K_VALUES)



def _torch_sees_gpu():
    try:
        import torch

        return torch.cuda.is_available()
    except Exception:  # torch missing or broken: no GPU
        return False


if config["device"] == "auto":
    DEVICE = "cuda" if _torch_sees_gpu() else "cpu"
else:
    DEVICE = config["device"]

TRAIN_RUNS = config["training"]["runs"] if config["training"]["activate"] else {}

# conda environments (--software-deployment-method conda; paths relative to the .smk files);
# the jobs that run SSN on the workflow's device need the CUDA build of PyTorch there
CONDA_ENV = "../envs/ssn.yaml"
SSN_CONDA_ENV = "../envs/ssn-cuda.yaml" if DEVICE == "cuda" else CONDA_ENV


def train_config(run):
    """The run's training config: its CPU-sized profile when SSN jobs use the CPU."""
    spec = TRAIN_RUNS[run]
    if DEVICE == "cpu" and spec.get("cpu_config"):
        return spec["cpu_config"]
    return spec["config"]


def train_gpus(run):
    gpu = TRAIN_RUNS[run].get("gpu")
    return (1 if DEVICE == "cuda" else 0) if gpu is None else gpu


_cpu_profiles = [r for r in TRAIN_RUNS if train_config(r) != TRAIN_RUNS[r]["config"]]
if _cpu_profiles:
    _note(
        f"no GPU (device {DEVICE}): training runs {_cpu_profiles} use their CPU-sized "
        "profile (cpu_config), not the paper's schedule"
    )


def _bundled_weights(name):
    try:
        from ssn.checkpoint import pretrained_path

        return Path(pretrained_path(name))
    except Exception:
        return Path("ssn/weights") / f"ssn_{name}_bsds500.pt"


def method_model(method, dataset):
    """The `model=` value of an SSN method on a dataset, or None when unavailable."""
    spec = config["methods"][method]
    model = spec.get("model_per_dataset", {}).get(dataset, spec.get("model", "pix"))
    if model == "pix":
        return "pix"
    if model.startswith("bundled:"):
        name = model.split(":", 1)[1]
        return name if _bundled_weights(name).is_file() else None
    if model.startswith("official:"):
        return official_model_path(model.split(":", 1)[1])
    if model.startswith("run:"):
        run = model.split(":", 1)[1]
        if run not in TRAIN_RUNS:
            return None
        return f"{TRAIN_DIR}/{run}/model.pt"
    return model


def official_model_path(task):
    """The checkpoint rule fetch_model writes for the paper's model of ``task``."""
    return f"{MODELS_DEST}/official-{task}.pt"


def _method_available(method, dataset):
    spec = config["methods"][method]
    if spec.get("datasets") is not None and dataset not in spec["datasets"]:
        return False
    if spec["family"] == "baseline":
        return True
    return method_model(method, dataset) is not None


METHODS = [m for m, spec in config["methods"].items() if spec.get("activate", True)]
for _m in METHODS:
    _spec = config["methods"][_m]
    if _spec["family"] == "baseline" and "baseline" not in _spec:
        raise ValueError(f"config methods.{_m}: a baseline needs `baseline:` (e.g. slic)")

# (dataset, method) pairs that run; methods whose model is unavailable are left out.
COMBOS = {}
for _d in DATASETS:
    COMBOS[_d] = [m for m in METHODS if _method_available(m, _d)]
    # a method restricted to other datasets is not missing anything: no note
    _wanted = [m for m in METHODS if _d in (config["methods"][m].get("datasets") or [_d])]
    _skipped = [m for m in _wanted if m not in COMBOS[_d]]
    if _skipped:
        _note(
            f"{_d}: methods {_skipped} left out (model not available: training off, "
            "run not configured or bundled weights absent)"
        )

ALL_METHODS = list(config["methods"])  # fixed order -> fixed colour per method


def method_label(method):
    return config["methods"][method]["label"]


def method_colors():
    """One colour per configured method, stable across figures and configs."""
    palette = [
        "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
        "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939",
    ]  # fmt: skip
    colors = {}
    for i, m in enumerate(ALL_METHODS):
        colors[m] = config["methods"][m].get("color") or palette[i % len(palette)]
    return colors


def method_styles():
    return {
        m: {"label": method_label(m), "color": c, "family": config["methods"][m]["family"]}
        for m, c in method_colors().items()
    }


def is_gpu_job(method):
    return config["methods"][method]["family"] == "ssn" and DEVICE == "cuda"


def dataset_stamp(dataset):
    return f"{DATA_DEST}/{dataset}.json"


def dataset_ready(dataset):
    """The stamp of a fetched (and, if configured, checked) dataset."""
    if config["data"]["check"]:
        return f"{DATA_DEST}/{dataset}.checked"
    return dataset_stamp(dataset)


# What reading and segmenting a dataset's images depends on. The other keys (protocols,
# tolerance, void_boundaries) change only the evaluation: leaving them out of the
# segmentation jobs' params keeps a change of them from re-running the segmentation.
IMAGE_OPTIONS = ("split", "max_images", "scale", "pass")


def dataset_options(dataset, keys=None):
    """A dataset's config (without `activate`), or only ``keys`` of it."""
    spec = dict(config["datasets"][dataset])
    spec.pop("activate", None)
    if keys is not None:
        spec = {k: v for k, v in spec.items() if k in keys}
    return spec


# ---------------------------------------------------------------------------- inputs


def segment_model_input(wildcards):
    """The checkpoint a segmentation job needs (none for pix, bundled and baselines)."""
    spec = config["methods"][wildcards.method]
    if spec["family"] != "ssn":
        return []
    model = method_model(wildcards.method, wildcards.dataset)
    if model is None or model in ("pix", "linear", "deep"):
        return []
    return [model]


def segment_params(wildcards):
    spec = config["methods"][wildcards.method]
    if spec["family"] == "ssn":
        return {
            "method": "ssn",
            "model": method_model(wildcards.method, wildcards.dataset),
            "n_iter": spec.get("n_iter", 10),
            "connectivity": spec.get("connectivity", "largest"),
            "device": DEVICE,
        }
    return {"method": spec["baseline"], "seed": spec.get("seed", 0), "device": "cpu"}


def metrics_files(dataset=None):
    datasets = [dataset] if dataset else list(DATASETS)
    return [
        f"{WORK}/metrics/{d}/{m}/k{k}.csv"
        for d in datasets
        for m in COMBOS[d]
        for k in k_values(d)
    ]


# ------------------------------------------------------------------------ figures

_PRIMARY = config["figures"]["primary_protocol"]


def _protocols(dataset):
    return config["datasets"][dataset].get("protocols", ["stutz", "ssn"])


def figure_specs():
    """Figure name -> what it draws (computed from the active datasets and methods)."""
    specs = {}
    for d in DATASETS:
        if d == "sintel":
            specs["sintel_epe"] = {"kind": "curve", "dataset": d, "metric": "epe",
                                   "protocol": "flow", "caption": "epe"}  # fmt: skip
            continue
        protos = _protocols(d)
        first = _PRIMARY if _PRIMARY in protos else protos[0]
        specs[f"{d}_asa"] = {"kind": "curve", "dataset": d, "metric": "asa",
                             "protocol": first, "caption": "asa"}  # fmt: skip
        boundary_protos = protos if d == "bsds500" else [first]
        for p in boundary_protos:
            specs[f"{d}_br_{p}"] = {"kind": "curve", "dataset": d, "metric": "br",
                                    "protocol": p, "caption": "br"}  # fmt: skip
            if d == "bsds500":
                specs[f"{d}_br_bp_{p}"] = {"kind": "br_bp", "dataset": d, "metric": "br",
                                           "protocol": p, "caption": "br_bp"}  # fmt: skip
    ablation = [m for m in config["figures"]["ablation"] if m in METHODS]
    for d in DATASETS:
        if d == "sintel":
            continue
        present = [m for m in ablation if m in COMBOS[d]]
        if len(present) >= 2:
            protos = _protocols(d)
            p = _PRIMARY if _PRIMARY in protos else protos[0]
            specs[f"{d}_ablation"] = {"kind": "ablation", "dataset": d, "metric": "asa",
                                      "protocol": p, "methods": present,
                                      "caption": "ablation"}  # fmt: skip
            break
    return specs


FIGURES = figure_specs()

_QUAL = config["figures"]["qualitative"]
QUAL_DATASET = _QUAL["dataset"] if _QUAL["dataset"] in DATASETS else None
QUAL_K = (
    min(k_values(QUAL_DATASET), key=lambda k: abs(k - _QUAL["n_segments"]))
    if QUAL_DATASET
    else None
)


def qualitative_inputs(wildcards):
    d = QUAL_DATASET
    return {
        "labels": [f"{WORK}/labels/{d}/{m}/k{QUAL_K}" for m in COMBOS[d]],
        "data": dataset_ready(d),
    }


# ------------------------------------------------------------------------ runtime

RUNTIME_SIZES = {}
if config["runtime"]["activate"]:
    for _size, _spec in config["runtime"]["sizes"].items():
        if _spec["dataset"] in config["datasets"]:
            RUNTIME_SIZES[_size] = _spec
RUNTIME_METHODS = [
    m for m in (config["runtime"]["methods"] or METHODS) if m in METHODS
]  # fmt: skip


def runtime_methods(size):
    d = RUNTIME_SIZES[size]["dataset"]
    return [m for m in RUNTIME_METHODS if _method_available(m, d)]


def runtime_method_specs(wildcards):
    d = RUNTIME_SIZES[wildcards.size]["dataset"]
    out = {}
    for m in runtime_methods(wildcards.size):
        wc = type("W", (), {"method": m, "dataset": d})
        out[m] = segment_params(wc)
    return out


def runtime_model_inputs(wildcards):
    d = RUNTIME_SIZES[wildcards.size]["dataset"]
    files = []
    for m in runtime_methods(wildcards.size):
        files += segment_model_input(type("W", (), {"method": m, "dataset": d}))
    return files


# ------------------------------------------------------------------------ targets


def figure_outputs():
    """Every figure (PDF + PNG) the config asks for, as drawn in the work folder."""
    out = [f"{WORK}/figures/{name}.{ext}" for name in FIGURES for ext in ("pdf", "png")]
    if QUAL_DATASET:
        out += [f"{WORK}/figures/qualitative_{QUAL_DATASET}.{e}" for e in ("pdf", "png")]
    return out


def final_outputs():
    """Everything `rule all` builds, from the config's activate flags."""
    out = [
        f"{RESULTS}/tables/all_results.csv.gz",
        f"{RESULTS}/tables/summary.csv",
        f"{RESULTS}/tables/summary.md",
        f"{RESULTS}/provenance/versions.txt",
        f"{RESULTS}/provenance/config.yaml",
    ]
    out.append(f"{RESULTS}/figures")
    if RUNTIME_SIZES:
        out += [f"{RESULTS}/tables/runtime.{e}" for e in ("csv", "md", "tex")]
    return out


wildcard_constraints:
    dataset="|".join(DATASET_NAMES),
    method="|".join(config["methods"]) if config["methods"] else "none",
    k=r"\d+",
    figure="|".join(FIGURES) if FIGURES else "none",
    size="|".join(RUNTIME_SIZES) if RUNTIME_SIZES else "none",
    run=r"[A-Za-z0-9_]+",
    task="|".join(DATASET_NAMES),
