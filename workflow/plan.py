"""The benchmark's plan: what a validated config asks the workflow to do, as plain data.

Pure Python (the standard library only: no Snakemake, no torch), so the DAG does not
depend on the machine that builds it and every decision here is unit-tested
(tests/test_plan.py). ``workflow/rules/common.smk`` validates the config, builds one
:class:`Plan` and adapts its methods to wildcards; the rules read the config only
through it.

What it decides:

- the datasets x methods x K matrix (methods whose model is unavailable are left out,
  with a note);
- the model of an SSN method on a dataset (``pix``, ``bundled:``, ``official:``,
  ``run:`` or a checkpoint path) and the file a segmentation job needs for it;
- the training runs: their settings files, GPUs, threads and memory;
- the figures (curves, BR-BP, ablation, qualitative) and the runtime table's jobs;
- the evaluations the two superpixel benchmarks of the field add (issue #28): the
  robustness jobs (method x perturbation on a dataset's images at one K), the
  stability figures and the count-control table;
- the final targets.

The device is the config's (``auto``, ``cpu`` or ``cuda``) and is never probed here:
``auto`` is resolved by each job on the machine that runs it. Only ``cuda`` makes jobs
take the ``gpu`` resource and the CUDA conda environment.
"""

from __future__ import annotations

import os
from pathlib import Path

DATASET_NAMES = ("bsds500", "voc2012", "cityscapes", "sintel")

# What reading and segmenting a dataset's images depends on. The other keys (protocols,
# tolerance, void_boundaries) change only the evaluation: leaving them out of the
# segmentation jobs' params keeps a change of them from re-running the segmentation.
IMAGE_OPTIONS = ("split", "max_images", "scale", "pass")

# The names a method's `baseline:` may take: the baselines of ssn.methods' registry
# (tests/test_plan.py checks this list against it; the plan does not import it, which
# would load numba and OpenCV to build the DAG).
BASELINES = ("ers", "fh", "lnsnet", "lsc", "seal", "seeds", "slic", "slic-opencv", "snic",
             "watershed")  # fmt: skip
# The baselines that run a network with their authors' released weights (issue #27): a
# `model: released:NAME` each (NAME in ssn.official.OFFICIAL_MODELS), and a device.
LEARNED_BASELINES = ("lnsnet", "seal")

# The splits each dataset's loader takes (ssn.data; checked against it in
# tests/test_plan.py): a name, or for BSDS500 and Sintel a list of splits / scenes.
SPLITS = {
    "bsds500": ("train", "val", "test", "trainval", "all"),
    "voc2012": ("train", "val", "trainval"),
    "cityscapes": ("train", "val", "test"),
    "sintel": ("train", "val", "all"),
}
SPLIT_LISTS = {
    "bsds500": ("train", "val", "test"),
    "sintel": (
        "alley_1", "alley_2", "ambush_2", "ambush_4", "ambush_5", "ambush_6", "ambush_7",
        "bamboo_1", "bamboo_2", "bandage_1", "bandage_2", "cave_2", "cave_4", "market_2",
        "market_5", "market_6", "mountain_1", "shaman_2", "shaman_3", "sleeping_1",
        "sleeping_2", "temple_2", "temple_3",
    ),
}  # fmt: skip

# (height, width) of each dataset's images at scale 1, known without the data: a K above
# their pixel count fails in the segmentation job (ssn.validation.check_n_segments), so
# the plan refuses it. BSDS500 (481 x 321 either way up), Cityscapes and Sintel have one
# size; VOC2012's images are at most 500 on each side, so for VOC only a K that no image
# can hold is refused here (a K between its smallest image's pixels and 250000 still
# fails in the job).
IMAGE_SIZES = {
    "bsds500": (321, 481),
    "voc2012": (500, 500),
    "cityscapes": (1024, 2048),
    "sintel": (436, 1024),
}

# the ablation figure's methods when the config names none (those of them configured)
DEFAULT_ABLATION = ("ssn_pix", "ssn_linear", "ssn_deep")

# one colour per configured method, by its position in the config
# twenty distinct colours: the configs' 15-16 methods (inactive ones keep their slot)
# draw without a repeat
PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939",
    "#e7298a", "#000000", "#a6761d", "#66a61e", "#e6ab02", "#1b9e77",
    "#7570b3", "#d95f02",
)  # fmt: skip

# ssn/weights of this checkout: the bundled BSDS500 models (ssn.checkpoint.PRETRAINED_DIR,
# located without importing ssn, which imports torch)
BUNDLED_DIR = Path(__file__).resolve().parents[1] / "ssn" / "weights"

FIGURE_EXTENSIONS = ("pdf", "png")

# The perturbations of ssn.perturbations (tests/test_plan.py checks the list against
# it; importing it here would load scipy to build the DAG), and the strengths the
# module refuses, which the plan refuses first: blur kernels are odd.
PERTURBATIONS = (
    "gaussian_noise", "salt_and_pepper", "gaussian_blur", "average_blur", "rotation", "shear",
)  # fmt: skip
ODD_STRENGTHS = ("gaussian_blur", "average_blur")

# the metrics whose spread over images the stability figures draw
STABILITY_METRICS = ("asa", "br", "ue")


class Plan:
    """The jobs and files a config asks for.

    ``config`` is the validated config (defaults filled in). ``exists`` tells whether a
    file exists (data and models configs, bundled weights); ``bundled_dir`` holds the
    bundled weights ``ssn_<name>_bsds500.pt``. Remarks for the user (files left out,
    methods skipped, CPU training profiles) are collected in :attr:`notes`.
    """

    def __init__(self, config: dict, exists=os.path.exists, bundled_dir=BUNDLED_DIR):
        self.config = config
        self.notes: list[str] = []
        self._exists = exists
        self._bundled_dir = Path(bundled_dir)

        self.work = config["workdir"]
        self.results = config["results"]
        self.data_dest = config["data"]["dest"]
        self.train_dir = config["training"]["outdir"]
        self.models_dest = config["models"]["dest"]
        self.device = config["device"]
        self.precision = config.get("precision", "auto")

        # Dataset source files: later ones override earlier ones; absent files are left
        # out so a machine-specific datasets.local.yaml is optional. Same for the models
        # configs (a local `source:` folder of the paper's .caffemodel files).
        self.data_configs = self._present(config["data"]["configs"], "dataset config")
        if not self.data_configs:
            raise ValueError(
                f"config data.configs: none of {config['data']['configs']} exists "
                "(give at least config/datasets.yaml)"
            )
        self.model_configs = [c for c in config["models"]["configs"] if exists(c)]

        self.datasets = {
            name: spec for name, spec in config["datasets"].items() if spec.get("activate")
        }
        if not self.datasets:
            raise ValueError("config datasets: no dataset has activate: true")
        self.k_values_all = sorted(config["n_segments"])

        training = config["training"]
        self.train_runs = training["runs"] if training["activate"] else {}
        self._note_training_profiles()

        self.all_methods = list(config["methods"])  # fixed order -> fixed colour per method
        self.methods = [m for m, s in config["methods"].items() if s.get("activate", True)]
        for m in self.methods:
            spec = config["methods"][m]
            if spec["family"] == "baseline" and "baseline" not in spec:
                raise ValueError(f"config methods.{m}: a baseline needs `baseline:` (e.g. slic)")
            if spec["family"] == "baseline" and spec["baseline"] not in BASELINES:
                raise ValueError(
                    f"config methods.{m}.baseline: unknown baseline {spec['baseline']!r}; "
                    f"use one of {', '.join(BASELINES)}"
                )
            self._check_released(m, spec)
        for d, spec in self.datasets.items():
            self._check_split(f"datasets.{d}.split", d, spec["split"])
            key = f"datasets.{d}.n_segments" if spec.get("n_segments") else "n_segments"
            self._check_k(key, d, self.k_values(d), spec.get("scale", 1.0))
        self.ablation = config["figures"]["ablation"]
        if self.ablation is None:  # the schema's default: those of the usual three configured
            self.ablation = [m for m in DEFAULT_ABLATION if m in config["methods"]]
        self._check_method_names("figures.ablation", self.ablation)
        self.combos = {d: self._combos(d) for d in self.datasets}

        self.figures = self._figure_specs()
        self.qual_dataset, self.qual_k = self._qualitative()
        self.runtime_sizes = self._runtime_sizes()
        self.reproduction = self._reproduction()
        self.robustness = self._robustness()
        # the spread over images of ASA, BR, UE (not Sintel: EPE); the count control of
        # every dataset
        self.stability_datasets = self._stability_datasets()
        self.count_control = self.config["count_control"]["activate"]

    # ------------------------------------------------------------------ config files

    def _present(self, paths, what):
        present = []
        for path in paths:
            if self._exists(path):
                present.append(path)
            else:
                self.notes.append(f"{what} {path} not found: left out")
        return present

    # ------------------------------------------------------------------- checks
    # Values that would otherwise fail only in a job, after the data is fetched.

    @staticmethod
    def _check_split(key: str, dataset: str, split) -> None:
        names = SPLITS[dataset]
        if isinstance(split, str) and split in names:
            return
        scenes = SPLIT_LISTS.get(dataset)
        if not isinstance(split, str) and scenes and split:
            unknown = [s for s in split if s not in scenes]
            if not unknown:
                return
            raise ValueError(
                f"config {key}: unknown {dataset} split names {unknown}; a list holds "
                f"{', '.join(scenes)}"
            )
        lists = " (or a list of them)" if dataset == "bsds500" else ""
        lists = " or a list of scenes" if dataset == "sintel" else lists
        raise ValueError(
            f"config {key}: unknown {dataset} split {split!r}; use one of {', '.join(names)}{lists}"
        )

    @staticmethod
    def _check_k(key: str, dataset: str, k_values, scale: float = 1.0) -> None:
        height, width = IMAGE_SIZES[dataset]
        if dataset == "cityscapes":  # resized as ssn.data.Cityscapes does
            height, width = round(height * scale), round(width * scale)
        too_large = [k for k in k_values if k > height * width]
        if too_large:
            at = f" at scale {scale:g}" if dataset == "cityscapes" else ""
            size = "at most " if dataset == "voc2012" else ""
            raise ValueError(
                f"config {key}: K={too_large[0]} exceeds the pixels of every {dataset} "
                f"image ({size}{height}x{width} = {height * width}{at}); use K <= "
                f"{height * width}"
            )

    def _check_method_names(self, key: str, names) -> None:
        unknown = [m for m in names or [] if m not in self.config["methods"]]
        if unknown:
            raise ValueError(
                f"config {key}: unknown methods {unknown}; the configured methods are "
                f"{', '.join(self.config['methods'])}"
            )

    # --------------------------------------------------------------------- datasets

    def k_values(self, dataset: str) -> list[int]:
        """Requested counts K of a dataset (its own n_segments, else the global list)."""
        return sorted(self.config["datasets"][dataset].get("n_segments") or self.k_values_all)

    def dataset_stamp(self, dataset: str) -> str:
        return f"{self.data_dest}/{dataset}.json"

    def dataset_ready(self, dataset: str) -> str:
        """The stamp of a fetched (and, if configured, checked) dataset."""
        if self.config["data"]["check"]:
            return f"{self.data_dest}/{dataset}.checked"
        return self.dataset_stamp(dataset)

    def dataset_options(self, dataset: str, keys=None) -> dict:
        """A dataset's config (without `activate`), or only ``keys`` of it."""
        spec = {k: v for k, v in self.config["datasets"][dataset].items() if k != "activate"}
        if keys is not None:
            spec = {k: v for k, v in spec.items() if k in keys}
        return spec

    # ---------------------------------------------------------------------- device

    @property
    def gpu_jobs(self) -> bool:
        """Whether SSN jobs take a GPU (resources gpu=1, the CUDA conda environment).

        Only with ``device: cuda``: ``auto`` is resolved inside each job, which then uses
        a GPU it sees without having reserved one.
        """
        return self.device == "cuda"

    def is_gpu_job(self, method: str) -> bool:
        spec = self.config["methods"][method]
        network = spec["family"] == "ssn" or spec.get("baseline") in LEARNED_BASELINES
        return network and self.gpu_jobs

    # -------------------------------------------------------------------- training

    def train_profiles(self, run: str) -> dict[str, str]:
        """The settings files a run may read, by role (rule train's inputs).

        ``ssn.train.TrainConfig``'s defaults are the paper's; ``training.profiles.gpu``
        (usually none) and ``training.profiles.cpu`` (the CPU-sized schedule) change them.
        On ``cuda`` the job reads the GPU profile, on ``cpu`` the CPU one, on ``auto``
        either, picked by the device the job finds -- so both are inputs there.
        """
        profiles = self.config["training"]["profiles"]
        roles = {"cuda": ("gpu",), "cpu": ("cpu",), "auto": ("gpu", "cpu")}[self.device]
        return {f"{role}_profile": profiles[role] for role in roles if profiles.get(role)}

    def train_overrides(self, run: str) -> list[str]:
        """The run's network and task, the config's overrides for every run, then the
        run's own (which win)."""
        spec = self.train_runs[run]
        return [
            f"task={spec['dataset']}",
            f"feature_net={spec['feature_net']}",
            f"n_features={spec['n_features']}",
            *self.config["training"]["overrides"],
            *spec.get("overrides", []),
        ]

    def train_gpus(self, run: str) -> int:
        gpu = self.train_runs[run].get("gpu")
        return (1 if self.gpu_jobs else 0) if gpu is None else gpu

    def train_threads(self, run: str) -> int:
        return self.train_runs[run].get("threads", 8)

    def train_mem_mb(self, run: str) -> int:
        return self.train_runs[run].get("mem_mb", 16000)

    def train_dataset(self, run: str) -> str:
        return self.train_runs[run]["dataset"]

    def train_data_root(self, run: str) -> str:
        return f"{self.data_dest}/{self.train_dataset(run)}"

    def train_out_dir(self, run: str) -> str:
        return f"{self.train_dir}/{run}"

    def train_model(self, run: str) -> str:
        return f"{self.train_out_dir(run)}/model.pt"

    def _note_training_profiles(self):
        cpu = self.config["training"]["profiles"].get("cpu")
        if not self.train_runs or not cpu or self.device == "cuda":
            return
        where = "" if self.device == "cpu" else " where the job finds no GPU"
        self.notes.append(
            f"device {self.device}: training runs {list(self.train_runs)} use their CPU-sized "
            f"profile ({cpu}){where}, not the paper's schedule"
        )

    # ---------------------------------------------------------------------- models

    def official_model_path(self, task: str) -> str:
        """The checkpoint rule fetch_model writes for the paper's model of ``task``."""
        return self.released_model_path(f"official-{task}")

    def released_model_path(self, name: str) -> str:
        """The file rule fetch_model writes for the released model ``name`` of
        :data:`ssn.official.OFFICIAL_MODELS`: an ssn checkpoint for the SSN paper's, the
        verified state dict for SEAL's and LNSNet's."""
        return f"{self.models_dest}/{name}.pt"

    def _check_released(self, method: str, spec: dict) -> None:
        """A learned baseline's models are its own authors' (``released:seal-...`` for
        SEAL); an SSN method or another baseline takes none."""
        models = [spec.get("model", "pix"), *spec.get("model_per_dataset", {}).values()]
        released = [m for m in models if m.startswith("released:")]
        if spec["family"] == "ssn":
            if released:
                raise ValueError(
                    f"config methods.{method}: {released[0]} is a baseline's model; an SSN "
                    "method takes pix, bundled:, official:, run: or a .pt path"
                )
            return
        for model in models:
            name = model.partition(":")[2]
            if model == "pix" and spec["baseline"] not in LEARNED_BASELINES:
                continue
            if not model.startswith("released:") or name.partition("-")[0] != spec["baseline"]:
                needs = (f"model: released:{spec['baseline']}-DATASET (its authors' weights, "
                         f"e.g. released:{spec['baseline']}-bsds500)"
                         if spec["baseline"] in LEARNED_BASELINES else "no model")  # fmt: skip
                raise ValueError(
                    f"config methods.{method}: baseline {spec['baseline']!r} takes {needs}, "
                    f"got {model!r}"
                )

    def bundled_path(self, name: str) -> str:
        """The bundled weights of ``name`` (as ``ssn.checkpoint.pretrained_path`` names them)."""
        return str(self._bundled_dir / f"ssn_{name}_bsds500.pt")

    def bundled_available(self, name: str) -> bool:
        return self._exists(self.bundled_path(name))

    def method_model(self, method: str, dataset: str):
        """The `model=` value of an SSN method on a dataset, or None when unavailable."""
        spec = self.config["methods"][method]
        model = spec.get("model_per_dataset", {}).get(dataset, spec.get("model", "pix"))
        kind, _, name = model.partition(":")
        if model == "pix":
            return "pix"
        if kind == "released":
            return self.released_model_path(name)
        if kind == "bundled":
            return name if self.bundled_available(name) else None
        if kind == "official":
            return self.official_model_path(name)
        if kind == "run":
            return self.train_model(name) if name in self.train_runs else None
        return model

    def method_available(self, method: str, dataset: str) -> bool:
        spec = self.config["methods"][method]
        if spec.get("datasets") is not None and dataset not in spec["datasets"]:
            return False
        if spec["family"] == "baseline" and spec["baseline"] not in LEARNED_BASELINES:
            return True
        return self.method_model(method, dataset) is not None

    def _combos(self, dataset):
        """The methods that run on ``dataset``; a note names those left out."""
        present = [m for m in self.methods if self.method_available(m, dataset)]
        # a method restricted to other datasets is not missing anything: no note
        restricted = {m: self.config["methods"][m].get("datasets") for m in self.methods}
        wanted = [m for m in self.methods if dataset in (restricted[m] or [dataset])]
        skipped = [m for m in wanted if m not in present]
        if skipped:
            self.notes.append(
                f"{dataset}: methods {skipped} left out (model not available: training off, "
                "run not configured or bundled weights absent)"
            )
        return present

    # ---------------------------------------------------------------- segmentation

    def segment_model_input(self, method: str, dataset: str) -> list[str]:
        """The checkpoint a segmentation job needs (none for pix, bundled and the
        baselines that learn nothing)."""
        spec = self.config["methods"][method]
        if spec["family"] == "baseline" and spec["baseline"] not in LEARNED_BASELINES:
            return []
        model = self.method_model(method, dataset)
        if model is None or model in ("pix", "linear", "deep"):
            return []
        return [model]

    def segment_reused_input(self, method: str, dataset: str, k: int) -> list[str]:
        """What a segmentation job reuses: SEAL's job at the dataset's first K computes
        each image's affinities (kept in the work folder), its jobs at the other K wait
        for it and run only ERS, instead of racing it through the same images."""
        spec = self.config["methods"][method]
        first = self.k_values(dataset)[0]
        if spec["family"] != "baseline" or spec["baseline"] != "seal" or k == first:
            return []
        return [f"{self.work}/timing/{dataset}/{method}/k{first}.tsv"]

    def segment_params(self, method: str, dataset: str, *, reuse: bool = True) -> dict:
        """What a segmentation job runs (workflow/scripts/_jobs.py: load_segmenter's spec).

        ``reuse``: SEAL keeps each image's affinities in the work folder, so that its jobs
        at other K run only ERS; a timing, or a job whose images are segmented once
        (``reuse=False``), runs the network every time.
        """
        spec = self.config["methods"][method]
        if spec["family"] == "ssn":
            return {
                "method": "ssn",
                "model": self.method_model(method, dataset),
                "n_iter": spec.get("n_iter", 10),
                "connectivity": spec.get("connectivity", "largest"),
                "device": self.device,
                "precision": spec.get("precision", self.precision),
            }
        params = {"method": spec["baseline"], **spec.get("params", {})}
        if spec["baseline"] in LEARNED_BASELINES:
            params.update(model=self.method_model(method, dataset), device=self.device)
        if spec["baseline"] == "seal" and reuse:
            params["affinity_cache"] = f"{self.work}/cache/seal_affinities"
        return params

    def metrics_files(self, dataset=None) -> list[str]:
        datasets = [dataset] if dataset else list(self.datasets)
        return [
            f"{self.work}/metrics/{d}/{m}/k{k}.csv"
            for d in datasets
            for m in self.combos[d]
            for k in self.k_values(d)
        ]

    # --------------------------------------------------------------------- methods

    def method_label(self, method: str) -> str:
        return self.config["methods"][method]["label"]

    def method_labels(self) -> dict[str, str]:
        return {m: self.method_label(m) for m in self.all_methods}

    def method_colors(self) -> dict[str, str]:
        """One colour per configured method, stable across figures and configs."""
        return {
            m: self.config["methods"][m].get("color") or PALETTE[i % len(PALETTE)]
            for i, m in enumerate(self.all_methods)
        }

    def method_styles(self) -> dict[str, dict]:
        return {
            m: {"label": self.method_label(m), "color": c,
                "family": self.config["methods"][m]["family"]}
            for m, c in self.method_colors().items()
        }  # fmt: skip

    # --------------------------------------------------------------------- figures

    def _protocols(self, dataset):
        return self.config["datasets"][dataset].get("protocols", ["stutz", "ssn"])

    def primary_protocol(self, dataset: str) -> str:
        """The protocol of a dataset's BR figures (figures.primary_protocol if it has it)."""
        return self._first_protocol(dataset)

    def _first_protocol(self, dataset):
        primary = self.config["figures"]["primary_protocol"]
        protocols = self._protocols(dataset)
        return primary if primary in protocols else protocols[0]

    def _figure_specs(self) -> dict[str, dict]:
        """Figure name -> what it draws (from the active datasets and methods)."""
        specs = {}
        for d in self.datasets:
            if d == "sintel":
                specs["sintel_epe"] = {"kind": "curve", "dataset": d, "metric": "epe",
                                       "protocol": "flow", "caption": "epe"}  # fmt: skip
                continue
            first = self._first_protocol(d)
            specs[f"{d}_asa"] = {"kind": "curve", "dataset": d, "metric": "asa",
                                 "protocol": first, "caption": "asa"}  # fmt: skip
            for p in self._protocols(d) if d == "bsds500" else [first]:
                specs[f"{d}_br_{p}"] = {"kind": "curve", "dataset": d, "metric": "br",
                                        "protocol": p, "caption": "br"}  # fmt: skip
                if d == "bsds500":
                    specs[f"{d}_br_bp_{p}"] = {"kind": "br_bp", "dataset": d, "metric": "br",
                                               "protocol": p, "caption": "br_bp"}  # fmt: skip
        # the ablation figure: on the first dataset (not Sintel) with 2+ of its methods
        ablation = [m for m in self.ablation if m in self.methods]
        for d in self.datasets:
            present = [m for m in ablation if m in self.combos[d]]
            if d != "sintel" and len(present) >= 2:
                specs[f"{d}_ablation"] = {"kind": "ablation", "dataset": d, "metric": "asa",
                                          "protocol": self._first_protocol(d),
                                          "methods": present, "caption": "ablation"}  # fmt: skip
                break
        return specs

    def _qualitative(self):
        """The dataset of the qualitative figure (None: not active) and its K."""
        qual = self.config["figures"]["qualitative"]
        if qual["dataset"] not in self.datasets:
            return None, None
        ks = self.k_values(qual["dataset"])
        return qual["dataset"], min(ks, key=lambda k: abs(k - qual["n_segments"]))

    def figure_path(self, name: str, ext: str) -> str:
        return f"{self.results}/figures/{name}.{ext}"

    def figure_outputs(self) -> list[str]:
        """Every figure (PDF + PNG) the config asks for, in results/figures."""
        names = list(self.figures)
        if self.qual_dataset:
            names.append(f"qualitative_{self.qual_dataset}")
        return [self.figure_path(n, e) for n in names for e in FIGURE_EXTENSIONS]

    def all_figure_outputs(self) -> list[str]:
        """Every figure: the curves' and qualitative (:meth:`figure_outputs`), then the
        robustness, stability and count-control figures."""
        return [*self.figure_outputs(), *self.robustness_figures(), *self.stability_figures(),
                *self.count_control_figures()]  # fmt: skip

    def qualitative_labels(self) -> list[str]:
        d, k = self.qual_dataset, self.qual_k
        return [f"{self.work}/labels/{d}/{m}/k{k}" for m in self.combos[d]]

    # --------------------------------------------------------------------- runtime

    def _runtime_sizes(self) -> dict[str, dict]:
        runtime = self.config["runtime"]
        if not runtime["activate"]:
            return {}
        sizes = {
            size: spec
            for size, spec in runtime["sizes"].items()
            if spec["dataset"] in self.config["datasets"]
        }
        for size, spec in sizes.items():
            d = spec["dataset"]
            self._check_split(f"runtime.sizes.{size}.split", d, spec["split"])
            # Cityscapes at the size's scale, as workflow/scripts/runtime.py reads it
            scale = spec.get("scale", 0.5) if d == "cityscapes" else 1.0
            self._check_k("runtime.n_segments", d, runtime["n_segments"], scale)
        return sizes

    def runtime_methods(self, size: str) -> list[str]:
        """The active methods timed at ``size`` (those available on its dataset)."""
        dataset = self.runtime_sizes[size]["dataset"]
        wanted = self.config["runtime"]["methods"] or self.methods
        return [m for m in wanted if m in self.methods and self.method_available(m, dataset)]

    def runtime_dataset(self, size: str) -> str:
        return self.runtime_sizes[size]["dataset"]

    def runtime_method_specs(self, size: str) -> dict[str, dict]:
        d = self.runtime_dataset(size)
        return {m: self.segment_params(m, d, reuse=False) for m in self.runtime_methods(size)}

    def runtime_model_inputs(self, size: str) -> list[str]:
        d = self.runtime_dataset(size)
        return [f for m in self.runtime_methods(size) for f in self.segment_model_input(m, d)]

    # --------------------------------------------------------------- reproduction

    def _reproduction(self):
        """The reproduction-gap table's settings, or None when the run lacks a method
        it needs (the baseline, the reference and at least one trained method)."""
        spec = self.config["reproduction"]  # the schema fills the defaults
        present = self.combos.get(spec["dataset"], [])
        trained = [m for m in spec["methods"] if m in present]
        if spec["baseline"] not in present or spec["reference"] not in present or not trained:
            return None
        return {**spec, "methods": trained}

    def claims_method(self) -> str:
        """The SSN method whose claims the claims table checks: the reproduction table's
        reference (the paper's released model)."""
        return self.config["reproduction"]["reference"]

    def training_records(self) -> dict[str, str | None]:
        """Per method of the reproduction table, the checkpoint that records its training
        (iterations, time, device); None for a model without one."""
        dataset = self.reproduction["dataset"]
        records = {}
        for method in self.reproduction["methods"]:
            model = self.method_model(method, dataset)
            if model in ("linear", "deep"):  # bundled weights
                model = self.bundled_path(model)
            records[method] = model if model and model.endswith(".pt") else None
        return records

    # ------------------------------------------------------------------ robustness

    def _robustness(self):
        """The robustness jobs' settings, or None when off (or its dataset inactive)."""
        spec = self.config["robustness"]  # the schema fills the defaults
        if not spec["activate"]:
            return None
        dataset = spec["dataset"]
        if dataset not in self.datasets:
            self.notes.append(f"robustness: dataset {dataset} is not active; left out")
            return None
        k = spec["n_segments"]
        if k not in self.k_values(dataset):
            # the clean reference is the benchmark's own evaluation at that K
            raise ValueError(
                f"config robustness.n_segments: K={k} is not one of the K values of "
                f"{dataset} ({', '.join(map(str, self.k_values(dataset)))}); the clean "
                "images' scores come from that evaluation: use one of them"
            )
        protocol = spec["protocol"] or self._first_protocol(dataset)
        if protocol not in self._protocols(dataset):
            raise ValueError(
                f"config robustness.protocol: {protocol} is not one of the protocols of "
                f"{dataset} ({', '.join(self._protocols(dataset))})"
            )
        # in PERTURBATIONS' order, whatever the config's (the figures and tables follow it)
        chosen = spec["perturbations"]
        kinds = {kind: list(chosen[kind]) for kind in PERTURBATIONS if chosen.get(kind)}
        for kind in ODD_STRENGTHS:
            even = [s for s in kinds.get(kind, []) if s % 2 == 0]
            if even:
                raise ValueError(
                    f"config robustness.perturbations.{kind}: kernel sizes must be odd "
                    f"(a kernel has a centre), got {even}"
                )
        if not kinds:
            self.notes.append("robustness: no perturbation has a strength; left out")
            return None
        n_images = spec["n_images"]
        limit = self.config["datasets"][dataset].get("max_images")
        if limit and (n_images is None or n_images > limit):
            n_images = limit  # the clean reference holds no more images than that
        tolerance = (self.config["datasets"][dataset].get("tolerance") or {}).get(protocol)
        return {"dataset": dataset, "k": k, "protocol": protocol, "tolerance": tolerance,
                "n_images": n_images, "seed": spec["seed"], "perturbations": kinds,
                "methods": list(self.combos[dataset])}  # fmt: skip

    def robustness_file(self, method: str, kind: str) -> str:
        return f"{self.work}/robustness/{self.robustness['dataset']}/{method}/{kind}.csv"

    def robustness_files(self) -> list[str]:
        spec = self.robustness
        if not spec:
            return []
        return [self.robustness_file(m, kind) for m in spec["methods"]
                for kind in spec["perturbations"]]  # fmt: skip

    def robustness_clean_files(self) -> list[str]:
        """The benchmark's per-image metrics of the clean images at the robustness K."""
        spec = self.robustness
        if not spec:
            return []
        return [f"{self.work}/metrics/{spec['dataset']}/{m}/k{spec['k']}.csv"
                for m in spec["methods"]]  # fmt: skip

    def robustness_params(self, method: str, kind: str) -> dict:
        """What a robustness job runs: the images, the strengths, the segmenter, the
        evaluation (protocol, tolerance, the dataset's void handling)."""
        spec = self.robustness
        dataset = spec["dataset"]
        images = self.dataset_options(dataset, IMAGE_OPTIONS)
        images["max_images"] = spec["n_images"]
        return {
            "images": images,
            "void_boundaries": self.config["datasets"][dataset].get("void_boundaries"),
            # a perturbed image is segmented once: nothing to reuse
            "segment": self.segment_params(method, dataset, reuse=False),
            "k": spec["k"],
            "strengths": spec["perturbations"][kind],
            "seed": spec["seed"],
            "protocol": spec["protocol"],
            "tolerance": spec["tolerance"],
        }

    def robustness_figures(self) -> list[str]:
        """One figure per perturbation kind (PDF + PNG)."""
        if not self.robustness:
            return []
        return [self.figure_path(f"robustness_{kind}", e)
                for kind in self.robustness["perturbations"] for e in FIGURE_EXTENSIONS]  # fmt: skip

    def robustness_outputs(self) -> list[str]:
        if not self.robustness:
            return []
        tables = [f"{self.results}/tables/robustness.{e}" for e in ("csv", "md")]
        provenance = f"{self.results}/provenance/perturbations.yaml"
        return [*tables, provenance, *self.robustness_figures()]

    # ------------------------------------------------- stability and count control

    def _stability_datasets(self) -> list[str]:
        """The active datasets with region annotations (all but Sintel), when on."""
        if not self.config["stability"]["activate"]:
            return []
        return [d for d in self.datasets if d != "sintel"]

    def stability_figures(self) -> list[str]:
        """Per region dataset and metric (ASA, BR, UE): the curves with their bands."""
        return [self.figure_path(f"stability_{d}_{m}", e) for d in self.stability_datasets
                for m in STABILITY_METRICS for e in FIGURE_EXTENSIONS]  # fmt: skip

    def stability_outputs(self) -> list[str]:
        if not self.stability_datasets:
            return []
        tables = [f"{self.results}/tables/stability.{e}" for e in ("csv", "md")]
        return [*tables, *self.stability_figures()]

    def count_control_figures(self) -> list[str]:
        if not self.count_control:
            return []
        return [self.figure_path("count_control", e) for e in FIGURE_EXTENSIONS]

    def count_control_outputs(self) -> list[str]:
        if not self.count_control:
            return []
        tables = [f"{self.results}/tables/count_control.{e}" for e in ("csv", "md")]
        return [*tables, *self.count_control_figures()]

    def claims_inputs(self) -> dict[str, str]:
        """The tables the claims table checks, by role (those the config makes)."""
        tables = f"{self.results}/tables"
        inputs = {"summary": f"{tables}/summary.csv"}
        if self.robustness:
            inputs["robustness"] = f"{tables}/robustness.csv"
        if self.stability_datasets:
            inputs["stability"] = f"{tables}/stability.csv"
        if self.count_control:
            inputs["count_control"] = f"{tables}/count_control.csv"
        return inputs

    # --------------------------------------------------------------------- targets

    def final_outputs(self) -> list[str]:
        """Everything `rule all` builds, from the config's activate flags."""
        tables, provenance = f"{self.results}/tables", f"{self.results}/provenance"
        out = [
            f"{tables}/all_results.csv.gz",
            f"{tables}/summary.csv",
            f"{tables}/summary.md",
            f"{provenance}/versions.txt",
            f"{provenance}/config.yaml",
            *self.figure_outputs(),
        ]
        if self.runtime_sizes:
            out += [f"{tables}/runtime.{e}" for e in ("csv", "md", "tex")]
        if self.reproduction:
            out += [f"{tables}/reproduction_gap.{e}" for e in ("csv", "md")]
        out += [*self.robustness_outputs(), *self.stability_outputs(),
                *self.count_control_outputs(), f"{tables}/paper_claims.md"]  # fmt: skip
        return out
