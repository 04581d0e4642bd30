"""The workflow's plan (workflow/plan.py): which jobs and files a config asks for.

Plain unit tests, no Snakemake run: configs are written here, validated against the
workflow's schema (which fills the defaults, as common.smk does) and the plan is
compared with values worked out by hand.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import merged_config

REPO_ROOT = Path(__file__).resolve().parents[1]
SCHEMA = REPO_ROOT / "workflow" / "schemas" / "config.schema.yaml"


def _load_plan_module():
    spec = importlib.util.spec_from_file_location(
        "ssn_bench_plan", REPO_ROOT / "workflow" / "plan.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


plan_module = _load_plan_module()
Plan = plan_module.Plan


def validated(config: dict) -> dict:
    """``config`` with the schema's defaults filled in, as the workflow validates it."""
    validate = pytest.importorskip("snakemake.utils").validate
    validate(config, str(SCHEMA))
    return config


@pytest.fixture
def data_config(tmp_path) -> str:
    path = tmp_path / "datasets.yaml"
    path.write_text("datasets: {}\n")
    return str(path)


@pytest.fixture
def bundled(tmp_path) -> Path:
    """A bundled-weights folder holding only the linear model."""
    folder = tmp_path / "weights"
    folder.mkdir()
    (folder / "ssn_linear_bsds500.pt").write_bytes(b"")
    return folder


def small_config(data_config: str, **changes) -> dict:
    """BSDS500 (K from the global list) and VOC (its own K), five methods, two runs."""
    config = {
        "data": {"configs": [data_config, data_config + ".absent"], "check": True},
        "n_segments": [400, 100],
        "datasets": {
            "bsds500": {"activate": True, "split": "test", "max_images": 3},
            "voc2012": {
                "activate": True,
                "split": "val",
                "n_segments": [200],
                "protocols": ["stutz"],
                "void_boundaries": "fill",
            },  # fmt: skip
            "cityscapes": {"activate": False, "split": "val"},
        },
        "methods": {
            "ssn_pix": {"family": "ssn", "label": "SSN_pix"},
            "ssn_linear": {
                "family": "ssn",
                "label": "SSN_linear",
                "model": "run:bsds500_linear",
                "model_per_dataset": {"voc2012": "bundled:linear"},
            },  # fmt: skip
            "ssn_deep": {"family": "ssn", "label": "SSN_deep", "model": "bundled:deep"},
            "ssn_pix_v5": {"family": "ssn", "label": "v=5", "n_iter": 5, "datasets": ["bsds500"]},
            "slic": {"family": "baseline", "label": "SLIC", "baseline": "slic", "color": "#000000"},
        },
        "training": {
            "activate": True,
            "profiles": {"gpu": "gpu.yaml", "cpu": "cpu.yaml"},
            "overrides": ["max_iters=10", "batch_size=2"],
            "runs": {
                "bsds500_linear": {
                    "dataset": "bsds500",
                    "feature_net": "linear",
                    "overrides": ["max_iters=20"],
                },  # fmt: skip
                "voc_deep": {
                    "dataset": "voc2012",
                    "feature_net": "deep",
                    "n_features": 12,
                    "gpu": 2,
                },  # fmt: skip
            },
        },
        "figures": {
            "ablation": ["ssn_pix", "ssn_linear", "ssn_deep"],
            "qualitative": {"dataset": "bsds500", "n_segments": 300},
        },  # fmt: skip
        "runtime": {
            "sizes": {
                "bsds500": {"dataset": "bsds500", "split": "test"},
                "sintel": {"dataset": "sintel", "split": "val"},
            }
        },  # fmt: skip
    }
    for key, value in changes.items():
        config[key] = value
    return validated(config)


def make_plan(data_config, bundled, **changes) -> Plan:
    return Plan(small_config(data_config, **changes), bundled_dir=bundled)


# ------------------------------------------------------------------ the matrix


def test_datasets_methods_and_k(data_config, bundled):
    """Active datasets; K sorted, per dataset; methods without a model left out."""
    plan = make_plan(data_config, bundled)
    assert list(plan.datasets) == ["bsds500", "voc2012"]
    assert plan.k_values("bsds500") == [100, 400]
    assert plan.k_values("voc2012") == [200]
    # bsds500: run:bsds500_linear is trained; bundled:deep is absent from `bundled`
    assert plan.combos == {
        "bsds500": ["ssn_pix", "ssn_linear", "ssn_pix_v5", "slic"],
        "voc2012": ["ssn_pix", "ssn_linear", "slic"],
    }
    assert plan.metrics_files() == [
        f"work/metrics/bsds500/{m}/k{k}.csv"
        for m in ("ssn_pix", "ssn_linear", "ssn_pix_v5", "slic")
        for k in (100, 400)
    ] + [f"work/metrics/voc2012/{m}/k200.csv" for m in ("ssn_pix", "ssn_linear", "slic")]
    assert plan.metrics_files("voc2012") == plan.metrics_files()[8:]


def test_notes_name_what_is_left_out(data_config, bundled):
    plan = make_plan(data_config, bundled, device="cpu")
    assert plan.data_configs == [data_config]
    assert f"dataset config {data_config}.absent not found: left out" in plan.notes
    # ssn_deep has no model on either dataset; ssn_pix_v5 is not missing on VOC
    skipped = [n for n in plan.notes if "left out (model not available" in n]
    assert skipped == [
        "bsds500: methods ['ssn_deep'] left out (model not available: training off, run not "
        "configured or bundled weights absent)",
        "voc2012: methods ['ssn_deep'] left out (model not available: training off, run not "
        "configured or bundled weights absent)",
    ]
    assert any(
        "training runs ['bsds500_linear', 'voc_deep'] use their CPU-sized profile (cpu.yaml)" in n
        for n in plan.notes
    )


def test_training_off_drops_run_models(data_config, bundled):
    training = {"activate": False, "runs": {"r": {"dataset": "bsds500", "feature_net": "deep"}}}
    plan = make_plan(data_config, bundled, training=training)
    assert plan.train_runs == {}
    assert plan.method_model("ssn_linear", "bsds500") is None
    assert plan.method_model("ssn_linear", "voc2012") == "linear"  # its bundled model
    assert "ssn_linear" not in plan.combos["bsds500"]
    assert "ssn_linear" in plan.combos["voc2012"]


def test_method_models(data_config, bundled, tmp_path):
    """Every kind of `model`, with model_per_dataset winning over `model`."""
    methods = {
        "pix": {"family": "ssn", "label": "a"},
        "lin": {"family": "ssn", "label": "b", "model": "bundled:linear"},
        "deep": {"family": "ssn", "label": "c", "model": "bundled:deep"},
        "paper": {
            "family": "ssn",
            "label": "d",
            "model": "official:bsds500",
            "model_per_dataset": {"voc2012": "official:voc2012"},
        },  # fmt: skip
        "run": {"family": "ssn", "label": "e", "model": "run:bsds500_linear"},
        "norun": {"family": "ssn", "label": "f", "model": "run:missing"},
        "file": {"family": "ssn", "label": "g", "model": "models/mine.pt"},
        "slic": {"family": "baseline", "label": "h", "baseline": "slic"},
    }
    plan = make_plan(data_config, bundled, methods=methods, models={"dest": "res/models"},
                     figures={})  # fmt: skip
    model = plan.method_model
    assert model("pix", "bsds500") == "pix"
    assert model("lin", "bsds500") == "linear"
    assert model("deep", "bsds500") is None
    assert model("paper", "bsds500") == "res/models/official-bsds500.pt"
    assert model("paper", "voc2012") == "res/models/official-voc2012.pt"
    assert model("run", "bsds500") == "resources/train/bsds500_linear/model.pt"
    assert model("norun", "bsds500") is None
    assert model("file", "bsds500") == "models/mine.pt"

    needs = plan.segment_model_input
    assert needs("pix", "bsds500") == needs("lin", "bsds500") == needs("slic", "bsds500") == []
    assert needs("deep", "bsds500") == []  # unavailable: the method is left out anyway
    assert needs("paper", "voc2012") == ["res/models/official-voc2012.pt"]
    assert needs("run", "bsds500") == ["resources/train/bsds500_linear/model.pt"]
    assert needs("file", "bsds500") == ["models/mine.pt"]


def test_baseline_needs_its_name(data_config, bundled):
    methods = {"slic": {"family": "baseline", "label": "SLIC"}}
    with pytest.raises(ValueError, match="methods.slic: a baseline needs `baseline:`"):
        make_plan(data_config, bundled, methods=methods)


# -- issue #25 (10): values that failed only in the segmentation job, after the fetches


def test_an_unknown_baseline_is_refused(data_config, bundled):
    methods = {"slic": {"family": "baseline", "label": "SLIC", "baseline": "slicc"}}
    with pytest.raises(ValueError, match=r"^config methods\.slic\.baseline: unknown baseline "
                       r"'slicc'; use one of ers, fh, lnsnet, lsc, seal, seeds, slic, slic-opencv, snic"):  # fmt: skip
        make_plan(data_config, bundled, methods=methods)


@pytest.mark.parametrize(
    "dataset,split,match",
    [("bsds500", "tset", r"datasets\.bsds500\.split: unknown bsds500 split 'tset'; use one of "
                         r"train, val, test, trainval, all \(or a list of them\)$"),
     ("bsds500", ["train", "tset"], r"unknown bsds500 split names \['tset'\]"),
     ("voc2012", "test", r"unknown voc2012 split 'test'; use one of train, val, trainval$"),
     ("voc2012", ["train"], r"unknown voc2012 split \['train'\]"),
     ("cityscapes", "all", r"unknown cityscapes split 'all'; use one of train, val, test$"),
     ("sintel", ["alley_1", "aley_2"], r"unknown sintel split names \['aley_2'\]; a list "
                                       r"holds alley_1, alley_2, ")],
)  # fmt: skip
def test_an_unknown_split_is_refused(data_config, bundled, dataset, split, match):
    datasets = {dataset: {"activate": True, "split": split}}
    with pytest.raises(ValueError, match=match):
        make_plan(data_config, bundled, datasets=datasets)


def test_known_splits_and_scene_lists_are_accepted(data_config, bundled):
    datasets = {
        "bsds500": {"activate": True, "split": ["train", "val"]},
        "voc2012": {"activate": True, "split": "trainval"},
        "cityscapes": {"activate": True, "split": "test"},
        "sintel": {"activate": True, "split": ["alley_1", "temple_3"]},
    }
    assert list(make_plan(data_config, bundled, datasets=datasets).datasets) == list(datasets)


@pytest.mark.parametrize(
    "changes,match",
    [({"n_segments": [100, 1000000000]},
      r"^config n_segments: K=1000000000 exceeds the pixels of every bsds500 image "
      r"\(321x481 = 154401\); use K <= 154401$"),
     ({"n_segments": [154402]}, r"config n_segments: K=154402 exceeds .* bsds500"),
     ({"datasets": {"voc2012": {"activate": True, "split": "val", "n_segments": [250001]}}},
      r"config datasets\.voc2012\.n_segments: K=250001 .* \(at most 500x500 = 250000\)"),
     ({"datasets": {"cityscapes": {"activate": True, "split": "val", "scale": 0.5,
                                   "n_segments": [524289]}}},
      r"K=524289 exceeds the pixels of every cityscapes image \(512x1024 = 524288 at "
      r"scale 0\.5\); use K <= 524288"),
     ({"runtime": {"n_segments": [449000],
                   "sizes": {"s": {"dataset": "sintel", "split": "val"}}},
       "datasets": {"sintel": {"activate": True, "split": "val", "n_segments": [100]}}},
      r"config runtime\.n_segments: K=449000 .* sintel image \(436x1024 = 446464\)"),
     ({"runtime": {"sizes": {"s": {"dataset": "sintel", "split": "vall"}}},
       "datasets": {"sintel": {"activate": True, "split": "val", "n_segments": [100]}}},
      r"config runtime\.sizes\.s\.split: unknown sintel split 'vall'")],
)  # fmt: skip
def test_a_k_above_the_images_pixels_is_refused(data_config, bundled, changes, match):
    with pytest.raises(ValueError, match=match):
        make_plan(data_config, bundled, **changes)


def test_the_largest_k_the_images_hold_is_accepted(data_config, bundled):
    datasets = {
        "bsds500": {"activate": True, "split": "test"},
        "cityscapes": {"activate": True, "split": "val", "scale": 0.5, "n_segments": [524288]},
    }
    plan = make_plan(data_config, bundled, n_segments=[154401], datasets=datasets)
    assert plan.k_values("bsds500") == [154401] and plan.k_values("cityscapes") == [524288]


def test_an_unknown_ablation_method_is_refused(data_config, bundled):
    figures = {"ablation": ["ssn_pix", "ssn_lienar"]}
    with pytest.raises(ValueError, match=r"^config figures\.ablation: unknown methods "
                       r"\['ssn_lienar'\]; the configured methods are ssn_pix, ssn_linear, "):  # fmt: skip
        make_plan(data_config, bundled, figures=figures)
    # not given: those of ssn_pix, ssn_linear, ssn_deep configured (ssn_deep is not here)
    methods = {"ssn_pix": {"family": "ssn", "label": "SSN_pix"},
               "ssn_linear": {"family": "ssn", "label": "SSN_linear", "model": "bundled:linear"}}  # fmt: skip
    plan = make_plan(data_config, bundled, methods=methods, figures={})
    assert plan.figures["bsds500_ablation"]["methods"] == ["ssn_pix", "ssn_linear"]


def test_the_plans_names_are_those_of_the_registry_and_the_loaders():
    """The plan does not import ssn (torch, numba): its lists are checked here."""
    from ssn.data import LOADERS, bsds500, sintel
    from ssn.methods import available_methods

    assert set(plan_module.BASELINES) == set(available_methods()) - {"ssn"}
    assert plan_module.SPLIT_LISTS == {"bsds500": bsds500.SPLITS, "sintel": sintel.TRAINING_SCENES}
    assert set(plan_module.SPLITS["bsds500"]) == {*bsds500.SPLITS, *bsds500._ALIASES}
    assert set(plan_module.SPLITS["sintel"]) == {*sintel.SPLITS, "all"}
    assert set(plan_module.SPLITS) == set(plan_module.IMAGE_SIZES) == set(plan_module.DATASET_NAMES)
    assert plan_module.DATASET_NAMES == tuple(LOADERS)  # the plan's names: those of ssn.data
    from ssn.perturbations import PERTURBATIONS

    assert plan_module.PERTURBATIONS == tuple(PERTURBATIONS)


@pytest.mark.realdata
def test_the_plans_image_sizes_are_the_datasets(bsds_root, samples_root):
    from PIL import Image

    def sizes(folder, pattern):
        found = set()
        for path in sorted(folder.rglob(pattern)):
            with Image.open(path) as image:
                found.add(image.size[::-1])  # (height, width)
        return found

    known = plan_module.IMAGE_SIZES
    assert sizes(bsds_root / "images", "*.jpg") == {(321, 481), (481, 321)}
    assert sizes(samples_root / "Cityscapes", "*_leftImg8bit.png") == {known["cityscapes"]}
    assert sizes(samples_root / "MPI-Sintel" / "training" / "clean", "*.png") == {known["sintel"]}
    voc = sizes(samples_root / "VOCdevkit", "*.jpg")
    assert voc and all(h <= 500 and w <= 500 for h, w in voc)


def test_no_data_config_or_no_dataset_is_an_error(data_config, bundled):
    with pytest.raises(ValueError, match="none of .* exists"):
        make_plan(data_config, bundled, data={"configs": ["absent.yaml"]})
    datasets = {"bsds500": {"activate": False, "split": "test"}}
    with pytest.raises(ValueError, match="no dataset has activate: true"):
        make_plan(data_config, bundled, datasets=datasets)


def test_dataset_files_and_options(data_config, bundled):
    plan = make_plan(data_config, bundled)
    assert plan.dataset_stamp("voc2012") == "resources/datasets/voc2012.json"
    assert plan.dataset_ready("voc2012") == "resources/datasets/voc2012.checked"
    unchecked = make_plan(data_config, bundled, data={"configs": [data_config], "check": False})
    assert unchecked.dataset_ready("voc2012") == "resources/datasets/voc2012.json"
    # segmentation depends only on the image options; evaluation on everything else too
    images = plan.dataset_options("voc2012", plan_module.IMAGE_OPTIONS)
    assert images == {"split": "val", "max_images": None, "scale": 1.0, "pass": "clean"}
    full = plan.dataset_options("voc2012")
    assert "activate" not in full
    assert full["protocols"] == ["stutz"] and full["void_boundaries"] == "fill"


# ---------------------------------------------------------------------- device


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda"])
def test_segment_params_carry_the_configured_device(data_config, bundled, device):
    """The device is the config's word, never a probe: auto stays auto (the job resolves it);
    so is the precision (auto when the config leaves it out)."""
    plan = make_plan(data_config, bundled, device=device)
    assert plan.segment_params("ssn_pix_v5", "bsds500") == {
        "method": "ssn", "model": "pix", "n_iter": 5, "connectivity": "largest", "device": device,
        "precision": "auto",
    }  # fmt: skip
    assert plan.segment_params("slic", "bsds500") == {"method": "slic"}
    assert plan.gpu_jobs is (device == "cuda")
    assert plan.is_gpu_job("ssn_pix") is (device == "cuda")
    assert plan.is_gpu_job("slic") is False


@pytest.mark.parametrize(
    ("device", "profiles", "gpus"),
    [
        ("cuda", {"gpu_profile": "gpu.yaml"}, 1),
        ("cpu", {"cpu_profile": "cpu.yaml"}, 0),
        ("auto", {"gpu_profile": "gpu.yaml", "cpu_profile": "cpu.yaml"}, 0),
    ],
)
def test_training_profiles_by_device(data_config, bundled, device, profiles, gpus):
    """The settings files a run may read are its inputs; a null profile is no file."""
    plan = make_plan(data_config, bundled, device=device)
    assert plan.train_profiles("bsds500_linear") == profiles
    assert plan.train_gpus("bsds500_linear") == gpus
    assert plan.train_gpus("voc_deep") == 2  # explicit
    # the run entry (task, network), the config's overrides, the run's own last (they win)
    assert plan.train_overrides("bsds500_linear") == [
        "task=bsds500",
        "feature_net=linear",
        "n_features=20",
        "max_iters=10",
        "batch_size=2",
        "max_iters=20",
    ]
    assert plan.train_overrides("voc_deep") == [
        "task=voc2012", "feature_net=deep", "n_features=12", "max_iters=10", "batch_size=2",
    ]  # fmt: skip
    assert plan.train_data_root("voc_deep") == "resources/datasets/voc2012"
    assert plan.train_out_dir("voc_deep") == "resources/train/voc_deep"
    assert (plan.train_threads("voc_deep"), plan.train_mem_mb("voc_deep")) == (8, 16000)
    paper = {"gpu": None, "cpu": "cpu.yaml"}
    plan = make_plan(data_config, bundled, device=device, training={
        **small_config(data_config)["training"], "profiles": paper})  # fmt: skip
    expected = {"cuda": {}, "cpu": {"cpu_profile": "cpu.yaml"}, "auto": {"cpu_profile": "cpu.yaml"}}
    assert plan.train_profiles("bsds500_linear") == expected[device]


def test_plan_imports_neither_torch_nor_snakemake():
    code = (
        "import sys; sys.path.insert(0, 'workflow'); import plan; "
        "print(sorted(m for m in ('torch', 'snakemake', 'ssn') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                            text=True, check=True)  # fmt: skip
    assert result.stdout.strip() == "[]"


# --------------------------------------------------------------------- figures


def test_figures(data_config, bundled):
    """Curves per dataset and protocol, BR-BP on BSDS500, one ablation figure."""
    plan = make_plan(data_config, bundled)
    bsds = {"dataset": "bsds500"}
    assert plan.figures == {
        "bsds500_asa": {"kind": "curve", **bsds, "metric": "asa", "protocol": "ssn", "caption": "asa"},
        "bsds500_br_stutz": {"kind": "curve", **bsds, "metric": "br", "protocol": "stutz", "caption": "br"},
        "bsds500_br_bp_stutz": {"kind": "br_bp", **bsds, "metric": "br", "protocol": "stutz", "caption": "br_bp"},
        "bsds500_br_ssn": {"kind": "curve", **bsds, "metric": "br", "protocol": "ssn", "caption": "br"},
        "bsds500_br_bp_ssn": {"kind": "br_bp", **bsds, "metric": "br", "protocol": "ssn", "caption": "br_bp"},
        # VOC evaluates only stutz: the primary protocol (ssn) is not there
        "voc2012_asa": {"kind": "curve", "dataset": "voc2012", "metric": "asa", "protocol": "stutz", "caption": "asa"},
        "voc2012_br_stutz": {"kind": "curve", "dataset": "voc2012", "metric": "br", "protocol": "stutz", "caption": "br"},
        # ssn_deep is not available: two of the three ablation methods
        "bsds500_ablation": {"kind": "ablation", **bsds, "metric": "asa", "protocol": "ssn",
                             "methods": ["ssn_pix", "ssn_linear"], "caption": "ablation"},
    }  # fmt: skip
    # the qualitative figure: K nearest to 300 among 100, 400 is 400
    assert (plan.qual_dataset, plan.qual_k) == ("bsds500", 400)
    assert plan.qualitative_labels() == [
        f"work/labels/bsds500/{m}/k400" for m in ("ssn_pix", "ssn_linear", "ssn_pix_v5", "slic")
    ]
    names = [*plan.figures, "qualitative_bsds500"]
    assert plan.figure_outputs() == [
        f"results/figures/{n}.{e}" for n in names for e in ("pdf", "png")
    ]


def test_figures_sintel_and_no_ablation(data_config, bundled):
    """Sintel has one EPE figure; an ablation needs two methods; qualitative off."""
    datasets = {"sintel": {"activate": True, "split": "val"},
                "bsds500": {"activate": False, "split": "test"}}  # fmt: skip
    figures = {"ablation": ["ssn_pix", "slic"], "qualitative": {"dataset": "bsds500"}}
    plan = make_plan(data_config, bundled, datasets=datasets, figures=figures, results="out")
    assert plan.figures == {"sintel_epe": {"kind": "curve", "dataset": "sintel", "metric": "epe",
                                           "protocol": "flow", "caption": "epe"}}  # fmt: skip
    assert plan.qual_dataset is None and plan.qual_k is None
    assert plan.figure_outputs() == ["out/figures/sintel_epe.pdf", "out/figures/sintel_epe.png"]


def test_qualitative_k_ties_go_to_the_smaller(data_config, bundled):
    figures = {"qualitative": {"dataset": "bsds500", "n_segments": 250}}
    plan = make_plan(data_config, bundled, figures=figures, n_segments=[200, 300, 1000])
    assert plan.qual_k == 200


def test_method_colors_and_styles(data_config, bundled):
    """One colour per configured method by position (inactive ones keep their slot)."""
    plan = make_plan(data_config, bundled)
    palette = plan_module.PALETTE
    assert plan.method_colors() == {
        "ssn_pix": palette[0], "ssn_linear": palette[1], "ssn_deep": palette[2],
        "ssn_pix_v5": palette[3], "slic": "#000000",
    }  # fmt: skip
    assert plan.method_styles()["slic"] == {
        "label": "SLIC",
        "color": "#000000",
        "family": "baseline",
    }
    assert plan.method_labels()["ssn_pix_v5"] == "v=5"


# --------------------------------------------------------------------- runtime


def test_runtime_jobs(data_config, bundled):
    """Sizes of configured datasets only; the timed methods available on their dataset."""
    plan = make_plan(data_config, bundled, device="cuda")
    assert list(plan.runtime_sizes) == ["bsds500"]  # sintel is not configured
    assert plan.runtime_methods("bsds500") == ["ssn_pix", "ssn_linear", "ssn_pix_v5", "slic"]
    assert plan.runtime_model_inputs("bsds500") == ["resources/train/bsds500_linear/model.pt"]
    specs = plan.runtime_method_specs("bsds500")
    assert specs["ssn_linear"] == plan.segment_params("ssn_linear", "bsds500")
    assert specs["ssn_linear"]["device"] == "cuda"

    runtime = {"methods": ["slic", "ssn_deep", "unknown"], "sizes": {"b": {"dataset": "bsds500", "split": "test"}}}  # fmt: skip
    plan = make_plan(data_config, bundled, runtime=runtime)
    assert plan.runtime_methods("b") == ["slic"]  # ssn_deep: no model; unknown: not a method
    assert make_plan(data_config, bundled, runtime={"activate": False}).runtime_sizes == {}


# --------------------------------------------------------------------- targets


def test_final_outputs(data_config, bundled):
    plan = make_plan(data_config, bundled, results="res")
    assert plan.final_outputs() == [
        "res/tables/all_results.csv.gz",
        "res/tables/summary.csv",
        "res/tables/summary.md",
        "res/provenance/versions.txt",
        "res/provenance/config.yaml",
        *plan.figure_outputs(),
        "res/tables/runtime.csv",
        "res/tables/runtime.md",
        "res/tables/runtime.tex",
        # stability and count control are on by default, robustness off
        "res/tables/stability.csv",
        "res/tables/stability.md",
        *[f"res/figures/stability_{d}_{m}.{e}" for d in ("bsds500", "voc2012")
          for m in ("asa", "br", "ue") for e in ("pdf", "png")],
        "res/tables/count_control.csv",
        "res/tables/count_control.md",
        "res/figures/count_control.pdf",
        "res/figures/count_control.png",
        "res/tables/paper_claims.md",
    ]  # fmt: skip
    plan = make_plan(data_config, bundled, runtime={"activate": False})
    assert not any("runtime" in f for f in plan.final_outputs())
    plan = make_plan(data_config, bundled, stability={"activate": False},
                     count_control={"activate": False})  # fmt: skip
    assert not any("stability" in f or "count_control" in f for f in plan.final_outputs())
    assert plan.claims_inputs() == {"summary": "results/tables/summary.csv"}


# ------------------------------------------------------------------ robustness (#28)


def robust(data_config, bundled, **robustness) -> Plan:
    return make_plan(data_config, bundled, robustness={"activate": True, **robustness})


def test_robustness_jobs(data_config, bundled):
    """Every method of the dataset x every perturbation with strengths: one job each."""
    plan = robust(data_config, bundled, n_images=2,
                  perturbations={"shear": [], "rotation": [10, -10]})  # fmt: skip
    spec = plan.robustness
    # the schema's four strengths of every kind; shear's empty list leaves it out
    assert list(spec["perturbations"]) == [
        "gaussian_noise", "salt_and_pepper", "gaussian_blur", "average_blur", "rotation",
    ]  # fmt: skip
    assert spec["perturbations"]["salt_and_pepper"] == [0.04, 0.08, 0.12, 0.16]
    assert spec["perturbations"]["rotation"] == [10, -10]
    methods = plan.combos["bsds500"]
    assert spec["methods"] == methods and len(methods) == 4
    assert len(plan.robustness_files()) == 4 * 5
    assert "work/robustness/bsds500/slic/rotation.csv" in plan.robustness_files()
    # the clean reference: the benchmark's own metrics of each method at K = 400
    assert plan.robustness_clean_files() == [f"work/metrics/bsds500/{m}/k400.csv" for m in methods]
    params = plan.robustness_params("ssn_deep", "rotation")
    assert params["strengths"] == [10, -10] and params["k"] == 400 and params["seed"] == 0
    assert params["segment"] == plan.segment_params("ssn_deep", "bsds500")
    # 2 images, within the dataset's max_images (3); its split kept
    assert params["images"] == {"split": "test", "max_images": 2, "scale": 1.0, "pass": "clean"}
    assert params["protocol"] == "ssn"  # figures.primary_protocol, one of the dataset's
    figures = [f for f in plan.final_outputs() if "robustness_" in f]
    assert len(figures) == 2 * 5 and "results/figures/robustness_rotation.png" in figures
    assert "results/provenance/perturbations.yaml" in plan.final_outputs()
    assert plan.claims_inputs()["robustness"] == "results/tables/robustness.csv"


def test_robustness_images_at_most_the_datasets(data_config, bundled):
    """The clean scores exist for the dataset's max_images (3) images only."""
    assert robust(data_config, bundled).robustness["n_images"] == 3
    assert robust(data_config, bundled, n_images=50).robustness["n_images"] == 3


@pytest.mark.parametrize(
    "robustness, match",
    [
        ({"n_segments": 300}, "K=300 is not one of the K values of bsds500"),
        ({"perturbations": {"average_blur": [5, 8]}}, r"kernel sizes must be odd .*\[8\]"),
        (
            {"dataset": "voc2012", "n_segments": 200, "protocol": "ssn"},
            "ssn is not one of the protocols",
        ),
    ],
)
def test_robustness_refuses_what_would_fail_mid_run(data_config, bundled, robustness, match):
    with pytest.raises(ValueError, match=match):
        robust(data_config, bundled, **robustness)


def test_robustness_off_or_its_dataset_inactive(data_config, bundled):
    assert make_plan(data_config, bundled).robustness is None  # the default: off
    plan = robust(data_config, bundled, dataset="cityscapes")
    assert plan.robustness is None and any("robustness" in n for n in plan.notes)
    assert plan.robustness_files() == [] and plan.robustness_outputs() == []


def test_reproduction_gap_table(data_config, bundled, tmp_path):
    """The table needs SSN_pix, the paper's model and a trained method on its dataset."""
    plan = make_plan(data_config, bundled, results="res")
    assert plan.reproduction is None  # no ssn_deep_paper in the small config
    assert not any("reproduction" in f for f in plan.final_outputs())
    config = small_config(data_config, results="res")
    config["methods"]["ssn_deep_paper"] = {
        "family": "ssn", "label": "paper", "model": "official:bsds500",
    }  # fmt: skip
    plan = Plan(config, bundled_dir=bundled)
    # ssn_deep's bundled weights are absent from `bundled`: only ssn_linear is trained here
    assert plan.reproduction == {
        "dataset": "bsds500", "protocol": "stutz", "baseline": "ssn_pix",
        "reference": "ssn_deep_paper", "methods": ["ssn_linear"],
    }  # fmt: skip
    outputs = plan.final_outputs()
    first = outputs.index("res/tables/reproduction_gap.csv")
    assert outputs[first : first + 2] == [
        "res/tables/reproduction_gap.csv",
        "res/tables/reproduction_gap.md",
    ]
    assert plan.training_records() == {"ssn_linear": "resources/train/bsds500_linear/model.pt"}
    (bundled / "ssn_deep_bsds500.pt").write_bytes(b"")
    config["reproduction"] = {"methods": ["ssn_deep"], "protocol": "ssn"}
    plan = Plan(validated(config), bundled_dir=bundled)
    assert plan.reproduction["methods"] == ["ssn_deep"]
    assert plan.reproduction["protocol"] == "ssn"
    assert plan.training_records() == {"ssn_deep": str(bundled / "ssn_deep_bsds500.pt")}


# ----------------------------------------------------------- the shipped configs


def shipped(*names: str) -> dict:
    config = merged_config(*names)
    config["data"]["configs"] = [str(REPO_ROOT / c) for c in config["data"]["configs"]]
    return validated(config)


def test_the_precision_reaches_the_ssn_jobs_only():
    """The config's precision (the schema's default: auto, resolved by each job), or a
    method's own; a baseline has no network and gets none."""
    config = shipped()
    assert config["precision"] == "auto"
    assert Plan(config).segment_params("ssn_deep", "bsds500")["precision"] == "auto"
    config["precision"] = "bfloat16"
    config["methods"]["ssn_deep_v5"]["precision"] = "float32"
    plan = Plan(validated(config))
    assert plan.segment_params("ssn_deep", "bsds500")["precision"] == "bfloat16"
    assert plan.segment_params("ssn_deep_v5", "bsds500")["precision"] == "float32"
    assert "precision" not in plan.segment_params("slic", "bsds500")
    config["precision"] = "bf16"
    with pytest.raises(Exception, match="bf16"):
        validated(config)


def test_paper_config_plan():
    """config/config.yaml: seven training runs, auto device kept as is, 13 methods."""
    config = shipped()
    plan = Plan(config)
    assert plan.device == "auto" and not plan.gpu_jobs
    assert len(plan.train_runs) == 7
    assert plan.train_profiles("bsds500_deep_10features") == {
        "cpu_profile": "config/train/cpu.yaml"
    }
    assert plan.train_overrides("bsds500_deep_10features")[:3] == [
        "task=bsds500", "feature_net=deep", "n_features=10",
    ]  # fmt: skip
    assert plan.train_overrides("sintel_linear")[:2] == ["task=sintel", "feature_net=linear"]
    assert plan.method_model("ssn_deep", "sintel") == "resources/train/sintel_deep/model.pt"
    assert plan.method_model("ssn_deep_paper", "voc2012") == "resources/models/official-bsds500.pt"
    n_k = len(config["n_segments"])
    assert len(plan.metrics_files()) == sum(map(len, plan.combos.values())) * n_k
    assert plan.combos["bsds500"] == [m for m in config["methods"] if m != "ssn_deep_paper_voc"]
    # robustness on all 200 test images, four strengths of each perturbation
    assert plan.robustness["n_images"] is None and plan.robustness["k"] == 400
    assert all(len(s) == 4 for s in plan.robustness["perturbations"].values())


def test_quick_config_plan():
    """config/quick.yaml: no training, the CPU, every figure into results/quick/figures;
    the first 30 BSDS500 test images, robustness on 5, the runtime table at K = 400."""
    plan = Plan(shipped("config/quick.yaml"))
    assert plan.train_runs == {} and plan.device == "cpu"
    assert plan.dataset_options("bsds500", plan_module.IMAGE_OPTIONS)["max_images"] == 30
    assert plan.config["runtime"]["n_segments"] == [400]
    assert "ssn_linear" in plan.combos["sintel"]  # bundled:linear on every dataset
    assert all(f.startswith("results/quick/figures/") for f in plan.all_figure_outputs())
    assert plan.reproduction["methods"] == ["ssn_linear", "ssn_deep"]
    # robustness: every method of BSDS500 (whatever the config lists), 4 perturbations,
    # 20 images, 3 strengths, K = 400
    spec = plan.robustness
    assert spec["methods"] == plan.combos["bsds500"]
    assert list(spec["perturbations"]) == [
        "gaussian_noise", "salt_and_pepper", "average_blur", "rotation",
    ]  # fmt: skip
    assert spec["n_images"] == 5 and spec["k"] == 400
    assert all(len(s) == 3 for s in spec["perturbations"].values())
    assert plan.stability_datasets == ["bsds500", "voc2012", "cityscapes"]


def test_reference_config_plan():
    """config/reference.yaml over quick.yaml: the same methods and perturbations on the
    whole BSDS500 test set, robustness on 20 images, the runtime table at three K, into
    results/reference/."""
    quick = Plan(shipped("config/quick.yaml"))
    reference = Plan(shipped("config/quick.yaml", "config/reference.yaml"))
    assert reference.dataset_options("bsds500", plan_module.IMAGE_OPTIONS)["max_images"] is None
    assert reference.combos == quick.combos
    assert all(f.startswith("results/reference/figures/") for f in reference.all_figure_outputs())
    assert reference.robustness["n_images"] == 20
    assert reference.robustness["perturbations"] == quick.robustness["perturbations"]
    assert reference.config["runtime"]["n_segments"] == [200, 400, 1000]
    assert reference.runtime_sizes["cityscapes_half"]["n_images"] == 3


def test_more_baselines_config_plan():
    """config/more_baselines.yaml: OpenCV's SLIC and the compact watershed on BSDS500."""
    plan = Plan(shipped("config/more_baselines.yaml"))
    assert list(plan.datasets) == ["bsds500"] and plan.train_runs == {}
    assert {"slic_opencv", "watershed"} <= set(plan.combos["bsds500"])
    assert plan.segment_params("slic_opencv", "bsds500") == {"method": "slic-opencv"}


def test_the_successors_run_on_their_authors_weights():
    """Issue #27 (4): SEAL (its BSDS500 model on BSDS500, its Cityscapes model on
    Cityscapes) and LNSNet (BSDS500) in the quick and paper configs, their weights
    fetched by rule fetch_model; a timing runs SEAL's network every time."""
    for names in [(), ("config/quick.yaml",)]:
        config = shipped(*names)
        plan = Plan(config)
        assert {"seal", "lnsnet"} <= set(plan.combos["bsds500"])
        assert "seal" in plan.combos["cityscapes"] and "lnsnet" not in plan.combos["cityscapes"]
        models = config["models"]["dest"]
        assert plan.segment_params("seal", "cityscapes") == {
            "method": "seal", "model": f"{models}/seal-cityscapes.pt", "device": config["device"],
            "affinity_cache": f"{config['workdir']}/cache/seal_affinities"}  # fmt: skip
        assert plan.segment_model_input("lnsnet", "bsds500") == [f"{models}/lnsnet-bsds500.pt"]
        assert plan.segment_params("lnsnet", "bsds500") == {
            "method": "lnsnet",
            "model": f"{models}/lnsnet-bsds500.pt",
            "device": config["device"],
        }
        assert plan.segment_model_input("slic", "bsds500") == []
        for size in plan.runtime_sizes:
            for method, spec in plan.runtime_method_specs(size).items():
                assert "affinity_cache" not in spec, method
        first, *others = plan.k_values("bsds500")
        assert plan.segment_reused_input("seal", "bsds500", first) == []
        assert plan.segment_reused_input("seal", "bsds500", others[0]) == [
            f"{config['workdir']}/timing/bsds500/seal/k{first}.tsv"]  # fmt: skip
        assert plan.segment_reused_input("lnsnet", "bsds500", others[0]) == []
        assert "seal" in plan.robustness["methods"]
        assert "affinity_cache" not in plan.robustness_params("seal", "gaussian_noise")["segment"]


@pytest.mark.parametrize(
    "spec,match",
    [({"baseline": "seal"}, r"methods\.m: baseline 'seal' takes model: released:seal-DATASET "
                            r".*, got 'pix'$"),
     ({"baseline": "seal", "model": "released:lnsnet-bsds500"},
      r"baseline 'seal' takes model: released:seal-DATASET .*got 'released:lnsnet-bsds500'"),
     ({"baseline": "slic", "model": "released:seal-bsds500"},
      r"baseline 'slic' takes no model, got 'released:seal-bsds500'$"),
     ({"baseline": "lnsnet", "model": "released:lnsnet-bsds500",
       "model_per_dataset": {"voc2012": "official:voc2012"}},
      r"baseline 'lnsnet' takes model: released:lnsnet-DATASET .*got 'official:voc2012'")],
)  # fmt: skip
def test_a_baseline_takes_only_its_own_released_models(data_config, bundled, spec, match):
    methods = {"m": {"family": "baseline", "label": "M", **spec}}
    with pytest.raises(ValueError, match=match):
        make_plan(data_config, bundled, methods=methods)


def test_an_ssn_method_takes_no_baseline_model(data_config, bundled):
    methods = {"m": {"family": "ssn", "label": "M", "model": "pix",
                     "model_per_dataset": {"bsds500": "released:seal-bsds500"}}}  # fmt: skip
    with pytest.raises(ValueError, match=r"methods\.m: released:seal-bsds500 is a baseline's"):
        make_plan(data_config, bundled, methods=methods)


def test_a_baselines_params_reach_its_jobs(data_config, bundled):
    methods = {
        "m": {
            "family": "baseline",
            "label": "M",
            "baseline": "lnsnet",
            "model": "released:lnsnet-bsds500",
            "params": {"connectivity": "official"},
        }
    }
    plan = make_plan(data_config, bundled, methods=methods, figures={"ablation": []})
    assert plan.segment_params("m", "bsds500") == {
        "method": "lnsnet", "connectivity": "official",
        "model": "resources/models/lnsnet-bsds500.pt", "device": "auto"}  # fmt: skip


def test_every_registered_method_is_in_a_shipped_config():
    """Issue #14 (1): no registered method is left unused, and no config names a method
    that is not registered."""
    from ssn.methods import available_methods

    configs = [shipped(), *(shipped(f"config/{p.name}") for p in sorted(
        (REPO_ROOT / "config").glob("*.yaml")) if p.name not in (
        "config.yaml", "datasets.yaml", "datasets.local.yaml", "models.local.yaml"))]  # fmt: skip
    used = {"ssn"} | {
        spec["baseline"]
        for config in configs
        for spec in config["methods"].values()
        if spec["family"] == "baseline"
    }
    assert used == set(available_methods())
