"""The Snakemake workflow: dry runs of the shipped configs, schema errors, a smoke run.

The plan itself (which jobs a config asks for) is unit-tested in tests/test_plan.py;
these tests run the snakemake CLI on the real Snakefile: dry runs (also without an
importable torch), re-runs that follow the training settings, local rules, the lint and
format checks.

The smoke run executes the real rules (fetch -> segment -> evaluate -> aggregate ->
figures, runtime table, provenance, HTML report) on the tiny `.test` config: three
BSDS500 test images, two K values, SSN_pix and SLIC, in a temporary working directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import merged_config

REPO_ROOT = Path(__file__).resolve().parents[1]

SNAKEFILE = REPO_ROOT / "Snakefile"

pytestmark = pytest.mark.skipif(
    shutil.which("snakemake") is None, reason="snakemake is not installed (extra `workflow`)"
)


def snakemake(*args, cwd=REPO_ROOT, timeout=600, env=None) -> subprocess.CompletedProcess:
    """Run the snakemake CLI of this interpreter's environment."""
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE), *args]
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )


def job_counts(output: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run as {rule: count}."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Job stats"))
    counts = {}
    for line in lines[start + 3 :]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        counts[parts[0]] = int(parts[1])
    return counts


def write_config(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def load_config(*names: str) -> dict:
    return merged_config(*names)


def methods_on(config: dict, dataset: str) -> set[str]:
    """The configured methods that run on ``dataset`` (``datasets:`` restricts a method)."""
    return {
        m for m, spec in config["methods"].items()
        if spec.get("datasets") is None or dataset in spec["datasets"]
    }  # fmt: skip


def workdir_with(tmp_path: Path, config: dict) -> Path:
    """A working directory whose config/config.yaml is ``config`` (dataset files absolute).

    Running there keeps the dry runs independent of the checkout (no lock, no
    .snakemake metadata, no outputs of a real run in progress).
    """
    config["data"]["configs"] = [str(REPO_ROOT / c) for c in config["data"]["configs"]]
    config["models"]["configs"] = [str(REPO_ROOT / c) for c in config["models"]["configs"]]
    profiles = config["training"].get("profiles", {})
    for role, path in profiles.items():  # the training settings are inputs
        if path:
            profiles[role] = str(REPO_ROOT / path)
    (tmp_path / "config").mkdir(exist_ok=True)
    write_config(tmp_path / "config" / "config.yaml", config)
    return tmp_path


# ------------------------------------------------------------------------ dry runs


def test_dry_run_full_config(tmp_path):
    """The paper configuration builds its DAG: training, every method, every dataset."""
    config = load_config()
    result = snakemake("-n", "--cores", "4", "--quiet", "rules",
                       cwd=workdir_with(tmp_path, load_config()))  # fmt: skip
    assert result.returncode == 0, result.stderr
    counts = job_counts(result.stdout + result.stderr)
    n_k = len(config["n_segments"])
    # bsds500 and voc2012 use the bsds500 runs; cityscapes and sintel their own
    assert counts["train"] == len(config["training"]["runs"]) == 7
    # every method on the 4 datasets, the ablation variants on BSDS500 only, the paper's
    # VOC weights on VOC only, SEAL on BSDS500 and Cityscapes, LNSNet on BSDS500
    per_dataset = {d: methods_on(config, d) for d in config["datasets"]}
    assert len(per_dataset["bsds500"]) == len(config["methods"]) - 1
    assert len(per_dataset["sintel"]) == len(config["methods"]) - 5
    assert "ssn_deep_paper" in per_dataset["sintel"]
    assert {"seal", "lnsnet"} <= per_dataset["bsds500"] and "seal" in per_dataset["cityscapes"]
    # the paper's model of each task; SEAL's BSDS500 and Cityscapes models, LNSNet's
    assert counts["fetch_model"] == 4 + 3
    assert counts["segment"] == sum(map(len, per_dataset.values())) * n_k
    assert counts["evaluate"] == counts["segment"]
    assert counts["figure"] >= 8
    for rule in ("fetch_dataset", "aggregate", "runtime_table", "qualitative", "all"):
        assert rule in counts


@pytest.mark.parametrize(("configfiles", "max_images"), [
    (("config/quick.yaml",), 30),
    (("config/quick.yaml", "config/reference.yaml"), None),  # the full test set
])  # fmt: skip
def test_dry_run_quick_config(tmp_path, configfiles, max_images):
    """The quick configuration (and the reference run, merged over it) runs without
    training (the bundled and released models and the baselines only)."""
    quick = load_config(*configfiles)
    result = snakemake("-n", "--cores", "2", "--quiet", "rules",
                       cwd=workdir_with(tmp_path, quick))  # fmt: skip
    assert result.returncode == 0, result.stderr
    counts = job_counts(result.stdout + result.stderr)
    assert "train" not in counts
    assert quick["training"]["activate"] is False
    assert quick["datasets"]["bsds500"]["split"] == "test"
    assert quick["datasets"]["bsds500"].get("max_images") == max_images
    assert counts["segment"] == counts["evaluate"] > 0
    # issue #28: one robustness job per BSDS500 method x perturbation of the config,
    # whatever methods it lists; one figure per perturbation; stability per region
    # dataset x metric; the count control, the tables and the claims once
    kinds = [k for k, strengths in quick["robustness"]["perturbations"].items() if strengths]
    active = {m for m, spec in quick["methods"].items() if spec.get("activate", True)}
    n_bsds = len(methods_on(quick, "bsds500") & active)
    assert counts["robustness"] == n_bsds * len(kinds)
    assert counts["robustness_figure"] == len(kinds)
    assert counts["stability_figure"] == 3 * 3  # BSDS500, VOC, Cityscapes x ASA, BR, UE
    for rule in ("robustness_table", "stability", "count_control", "claims"):
        assert counts[rule] == 1, rule


def job_outputs(output: str, rule: str) -> list[str]:
    """The output files of every ``rule`` job a (not quiet) dry run lists."""
    files, current = [], None
    for line in output.splitlines():
        if line and not line[0].isspace():
            current = (
                line.split()[-1].rstrip(":") if line.split()[0] in ("rule", "localrule") else None
            )
        elif current == rule and line.strip().startswith("output:"):
            files += [f.strip() for f in line.split(":", 1)[1].split(",")]
    return files


@pytest.mark.parametrize("target", ["<results>/figures", "figures"])
def test_figures_target(tmp_path, target):
    """`snakemake results/figures` builds the figures and what they need, no more.

    The figures are drawn straight into results/figures (no copying rule).
    """
    config = load_config("config/quick.yaml")
    target = target.replace("<results>", config["results"])
    result = snakemake(target, "-n", "--cores", "2", cwd=workdir_with(tmp_path, config))
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    counts = job_counts(output)
    assert counts[target] == 1 and counts["figure"] >= 8
    assert "collect_figures" not in counts
    assert counts["segment"] == counts["evaluate"] > 0
    for rule in ("runtime_measure", "runtime_table", "provenance"):
        assert rule not in counts
    drawn = job_outputs(output, "figure") + job_outputs(output, "qualitative")
    assert len(drawn) == 2 * (counts["figure"] + counts["qualitative"])
    figures = f"{config['results']}/figures/"
    assert all(f.startswith(figures) and f.endswith((".pdf", ".png")) for f in drawn), drawn
    assert f"{figures}bsds500_asa.png" in drawn and f"{figures}qualitative_bsds500.pdf" in drawn


def test_paper_config_writes_results_quick_config_its_reference():
    """`snakemake results/figures` is the paper run's; the committed runs live apart.

    A checkout holds results/quick/ and results/reference/ (the runs of config/quick.yaml
    and of config/reference.yaml over it). Were they in results/, the paper configuration
    would find its figures "present and up to date" and draw nothing.
    """
    paper = load_config()["results"]
    assert load_config("config/quick.yaml")["results"] == f"{paper}/quick"
    reference = load_config("config/quick.yaml", "config/reference.yaml")
    assert reference["results"] == f"{paper}/reference"
    if not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(
        ["git", "ls-files", f"{paper}/figures", f"{paper}/tables", f"{paper}/provenance"],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert tracked == "", f"committed files where the paper run writes:\n{tracked}"


def test_training_off_drops_trained_methods(tmp_path):
    """With training off, run:NAME methods are left out with a note; the DAG still builds."""
    config = load_config()
    config["training"]["activate"] = False
    result = snakemake("-n", "--cores", "2", "--quiet", "rules",
                       cwd=workdir_with(tmp_path, config))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "left out" in result.stderr and "ssn_deep" in result.stderr
    counts = job_counts(result.stdout + result.stderr)
    assert "train" not in counts
    n_k = len(config["n_segments"])
    untrained = {m for m, spec in config["methods"].items()
                 if not spec.get("model", "").startswith("run:")}  # fmt: skip
    assert (
        counts["segment"]
        == sum(len(untrained & methods_on(config, d)) for d in config["datasets"]) * n_k
    )


# A sitecustomize that makes `import torch` fail, as on a login node without it.
NO_TORCH = """
import sys


class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is not importable here (tests/test_workflow.py)")
        return None


sys.meta_path.insert(0, NoTorch())
"""


@pytest.mark.parametrize("configfile", ["config/config.yaml", "config/quick.yaml"])
def test_dry_run_without_torch(tmp_path, configfile):
    """Building the DAG needs no torch: the device is the config's, resolved in the jobs."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(NO_TORCH)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}  # fmt: skip
    blocked = subprocess.run([sys.executable, "-c", "import torch"], env=env,
                             capture_output=True, text=True, check=False)  # fmt: skip
    assert blocked.returncode != 0 and "not importable" in blocked.stderr

    config = load_config(*([configfile] if configfile != "config/config.yaml" else []))
    (tmp_path / "run").mkdir()
    workdir = workdir_with(tmp_path / "run", config)
    result = snakemake("-n", "--cores", "2", "--quiet", "rules", cwd=workdir, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stdout + result.stderr)
    assert counts["segment"] == counts["evaluate"] > 0
    assert counts.get("train", 0) == (
        len(config["training"]["runs"]) if config["training"]["activate"] else 0
    )
    # the paper's models (ssn_deep_paper, ssn_deep_paper_voc), SEAL's two and LNSNet's
    assert counts["fetch_model"] == 4 + 3


@pytest.mark.parametrize(
    ("device", "edited", "reruns"),
    [
        ("cpu", "cpu", True),  # the CPU profile is what a CPU run trains with
        ("cpu", "gpu", False),  # the GPU profile is not read on the CPU
        ("cuda", "gpu", True),
        ("cuda", "cpu", False),
        ("auto", "gpu", True),  # auto: the job picks one, so either reruns it
        ("auto", "cpu", True),
    ],
)
def test_training_settings_edit_reruns_training(tmp_path, device, edited, reruns):
    """Editing the training YAML a run reads schedules that training job again."""
    config = load_config()
    config["device"] = device
    profiles = config["training"]["profiles"]
    settings = tmp_path / "train"
    settings.mkdir()
    for role in ("gpu", "cpu"):
        copy = settings / f"{role}.yaml"
        shutil.copy(REPO_ROOT / "config" / "train" / "cpu.yaml", copy)
        profiles[role] = str(copy)
    workdir = workdir_with(tmp_path, config)
    target = f"{config['training']['outdir']}/bsds500_linear/model.pt"

    # a finished run: the dataset stamps and the model, newer than every input
    done = time.time()
    outputs = [workdir / config["data"]["dest"] / f"bsds500.{e}" for e in ("json", "checked")]
    outputs.append(workdir / target)
    for path in outputs:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
        os.utime(path, (done, done))
    for role in ("gpu", "cpu"):
        os.utime(profiles[role], (done - 60, done - 60))
    result = snakemake(target, "-n", "--cores", "1", cwd=workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Nothing to be done" in result.stdout + result.stderr

    path = Path(profiles[edited])
    path.write_text(path.read_text() + "max_iters: 10\n")  # later keys win
    os.utime(path, (done + 60, done + 60))
    result = snakemake(target, "-n", "--cores", "1", cwd=workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    if reruns:
        assert job_counts(output) == {"train": 1, "total": 1}
        assert str(path) in output  # the reason: updated input files
    else:
        assert "Nothing to be done" in output


LOCAL_RULES = """
import sys
from pathlib import Path

from snakemake.api import SnakemakeApi
from snakemake.settings.types import OutputSettings, ResourceSettings

with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
    workflow = api.workflow(
        resource_settings=ResourceSettings(cores=1), snakefile=Path(sys.argv[1]), workdir=Path(sys.argv[2])
    )._workflow
    for rule in workflow.rules:
        print(rule.name, rule.name in workflow._localrules or rule.norun)
"""


def test_cheap_rules_are_local(tmp_path):
    """On a cluster only the heavy steps are submitted; the cheap ones run in Snakemake."""
    workdir = workdir_with(tmp_path, load_config())
    result = subprocess.run(
        [sys.executable, "-c", LOCAL_RULES, str(SNAKEFILE), str(workdir)],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    local = dict(line.split() for line in result.stdout.splitlines() if line.count(" ") == 1)
    cheap = {"all", "figures", "results/figures", "aggregate", "figure", "qualitative",
             "runtime_table", "reproduction_gap", "provenance", "robustness_table",
             "robustness_figure", "stability", "stability_figure", "count_control",
             "claims"}  # fmt: skip
    heavy = {"fetch_dataset", "check_dataset", "fetch_model", "train", "segment", "evaluate",
             "runtime_measure", "robustness"}  # fmt: skip
    assert set(local) == cheap | heavy
    assert {rule for rule, is_local in local.items() if is_local == "True"} == cheap


# ------------------------------------------------------------------------ lint


@pytest.mark.parametrize("configfile", ["config/config.yaml", "config/quick.yaml"])
def test_snakemake_lint(tmp_path, configfile):
    """`snakemake --lint` finds nothing to report (log, conda, paths, env variables, ...)."""
    config = load_config(*([configfile] if configfile != "config/config.yaml" else []))
    result = snakemake("--lint", cwd=workdir_with(tmp_path, config))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    assert "Congratulations, your workflow is in a good condition!" in output


def test_snakefmt_check():
    """The Snakefile and workflow/rules/*.smk are formatted as `snakefmt` writes them."""
    if sys.version_info < (3, 11):
        pytest.skip("snakefmt 2 needs Python 3.11 (the test extra installs it there)")
    result = subprocess.run(
        [sys.executable, "-m", "snakefmt", "--check", "--diff", "Snakefile", "workflow"],
        cwd=REPO_ROOT, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]


def test_conda_envs_install_the_package(tmp_path):
    """The conda envs hold no dependency list of their own: they install the package.

    Only PyTorch comes from conda-forge (with pyproject.toml's bounds); pip installs the
    checkout that common.smk names in SSN_BENCH_REPO, with pyproject.toml's dependencies.
    """
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    (torch,) = [d for d in project["dependencies"] if d.startswith("torch")]
    bounds = torch.removeprefix("torch")
    for name, build in (("ssn.yaml", "pytorch"), ("ssn-cuda.yaml", "pytorch-gpu")):
        env = yaml.safe_load((REPO_ROOT / "workflow" / "envs" / name).read_text())
        conda = [d.split("#")[0].strip() for d in env["dependencies"] if isinstance(d, str)]
        pip = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
        assert conda == ["python=3.11", f"{build}{bounds}", "pip"], name
        assert pip == [["-e ${SSN_BENCH_REPO}"]], name
    assert (
        "os.environ.update(SSN_BENCH_REPO=workflow.basedir)"
        in (REPO_ROOT / "workflow" / "rules" / "common.smk").read_text()
    )

    # pip expands the variable to this checkout, an installable project (built offline
    # with this environment's setuptools: a Python >= 3.12 venv may have none)
    pytest.importorskip("setuptools")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("-e ${SSN_BENCH_REPO}\n")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--no-index",
         "--no-build-isolation", "-r", str(requirements)],
        env={**os.environ, "SSN_BENCH_REPO": str(REPO_ROOT)}, capture_output=True, text=True,
        check=False, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Would install {project['name']}-{project['version']}" in result.stdout


# ------------------------------------------------------------------------ schema


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda c: c.update(n_segments=[0, 400]), "n_segments"),
        (lambda c: c["datasets"]["bsds500"].update(protocols=["seal"]), "seal"),
        (lambda c: c["methods"]["slic"].update(family="classic"), "classic"),
        (lambda c: c["methods"]["ssn_pix"].update(model="resnet"), "resnet"),
        (lambda c: c.update(unknown_key=1), "unknown_key"),
        (lambda c: c.pop("methods"), "methods"),
    ],
)
def test_schema_rejects_bad_config(tmp_path, change, expected):
    """A bad config stops the workflow before any job, naming the offending value."""
    config = load_config()
    change(config)
    result = snakemake("-n", "--cores", "1", cwd=workdir_with(tmp_path, config))
    assert result.returncode != 0
    message = result.stdout + result.stderr
    assert "Error validating config file" in message
    assert expected in message


@pytest.mark.parametrize(
    "change,expected",
    [
        (lambda c: c["methods"]["slic"].update(baseline="slicc"), "unknown baseline 'slicc'"),
        (lambda c: c.update(n_segments=[1000000000]), "K=1000000000 exceeds the pixels"),
        (lambda c: c["datasets"]["bsds500"].update(split="tset"), "unknown bsds500 split 'tset'"),
    ],
)
def test_dry_run_refuses_values_that_would_fail_mid_run(tmp_path, change, expected):
    """Issue #25 (10): each passed the dry run and failed in the segmentation job, after
    the fetch jobs; the plan refuses them before any job, with a one-line message."""
    config = load_config()
    change(config)
    result = snakemake("-n", "--cores", "1", cwd=workdir_with(tmp_path, config))
    assert result.returncode != 0
    assert expected in result.stdout + result.stderr


def test_schema_fills_defaults():
    """validate() fills the documented defaults (e.g. protocols, tolerance, threads)."""
    from snakemake.utils import validate

    config = {
        "n_segments": [100],
        "datasets": {"bsds500": {"activate": True, "split": "test"}},
        "methods": {"ssn_pix": {"family": "ssn", "label": "SSN_pix"}},
    }
    validate(config, str(REPO_ROOT / "workflow" / "schemas" / "config.schema.yaml"))
    assert config["datasets"]["bsds500"]["protocols"] == ["stutz", "ssn"]
    assert config["methods"]["ssn_pix"]["model"] == "pix"
    assert config["methods"]["ssn_pix"]["n_iter"] == 10
    assert config["threads"] == {"segment": 1, "evaluate": 1}
    assert config["training"]["activate"] is False


# ------------------------------------------------------------------------ smoke run


@pytest.mark.realdata
def test_smoke_run(tmp_path, bsds_root):
    """The real rules on 3 images x 2 K x 2 methods: tables, figures, report."""
    pd = pytest.importorskip("pandas")
    local = write_config(
        tmp_path / "datasets.local.yaml",
        {"datasets": {"bsds500": {"source": str(bsds_root.parent)}}},
    )
    config = yaml.safe_load((REPO_ROOT / ".test" / "config" / "config.yaml").read_text())
    config["data"]["configs"] = [str(REPO_ROOT / "config" / "datasets.yaml"), str(local)]
    (tmp_path / "config").mkdir()
    write_config(tmp_path / "config" / "config.yaml", config)

    result = snakemake("--cores", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-5000:]

    results = tmp_path / "results"
    summary = pd.read_csv(results / "tables" / "summary.csv")
    assert set(summary["method"]) == {"ssn_pix", "slic"}
    assert set(summary["k"]) == {100, 400}
    assert set(summary["protocol"]) == {"stutz", "ssn"}
    assert len(summary) == 2 * 2 * 2
    assert (summary["n_images"] == 3).all()
    assert summary["asa"].between(0.85, 1.0).all()
    assert summary["br"].between(0.3, 1.0).all()
    assert summary["ue"].between(0.0, 0.3).all()
    assert ((summary["n_superpixels"] / summary["k"]).between(0.7, 1.3)).all()
    for _, part in summary.groupby(["method", "protocol"]):  # more superpixels, better ASA/BR
        part = part.sort_values("k")
        assert part["asa"].is_monotonic_increasing and part["br"].is_monotonic_increasing

    table = pd.read_csv(results / "tables" / "all_results.csv.gz")
    # every (image, annotation) pair of 3 BSDS500 images x 2 protocols x 2 methods x 2 K
    pairs = table[(table["method"] == "slic") & (table["k"] == 100)]
    n_pairs = len(pairs) // 2
    assert n_pairs >= 3 * 4 and set(pairs["image"].astype(str)).__len__() == 3
    assert len(table) == 8 * n_pairs
    assert table["time_ms"].gt(0).all()
    # what the SSN network computed in (pix has none: float32); a baseline: blank
    by_method = {m: part["precision"] for m, part in table.groupby("method")}
    assert (by_method["ssn_pix"] == "float32").all() and by_method["slic"].isna().all()

    runtime = pd.read_csv(results / "tables" / "runtime.csv")
    assert list(runtime["method"]) == ["slic"] and runtime["ms_per_image"].gt(0).all()
    assert runtime["device"].str.len().gt(0).all()
    assert (results / "tables" / "runtime.md").read_text().count("|") > 4
    assert r"\begin{tabular}" in (results / "tables" / "runtime.tex").read_text()

    figures = ["bsds500_asa", "bsds500_br_stutz", "bsds500_br_ssn", "bsds500_br_bp_ssn",
               "qualitative_bsds500"]  # fmt: skip
    for name in figures:
        png = results / "figures" / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert (results / "figures" / f"{name}.pdf").read_bytes()[:5] == b"%PDF-", name
    assert "torch" in (results / "provenance" / "versions.txt").read_text()

    # issue #28: robustness (2 images x noise 0.1, rotation 15 and 30), stability, count
    # control, claims
    robust = pd.read_csv(results / "tables" / "robustness.csv")
    assert set(robust["method"]) == {"ssn_pix", "slic"}
    assert sorted(set(zip(robust["perturbation"], robust["strength"], strict=True))) == [
        ("gaussian_noise", 0.0), ("gaussian_noise", 0.1), ("rotation", 0.0),
        ("rotation", 15.0), ("rotation", 30.0),
    ]  # fmt: skip
    assert (robust["n_images"] == 2).all()
    clean = robust[robust["clean"]].set_index("method")
    summary_400 = summary[(summary["k"] == 400) & (summary["protocol"] == "ssn")]
    assert clean["asa"].between(0.85, 1.0).all() and len(summary_400) == 2
    assert robust["asa"].between(0.3, 1.0).all() and robust["br_drop"].lt(1.0).all()
    parameters = yaml.safe_load((results / "provenance" / "perturbations.yaml").read_text())
    assert parameters["k"] == 400 and len(parameters["images"]) == 2
    assert [p["angle"] for p in parameters["perturbations"]["rotation"]] == [15.0, 30.0]
    stability = pd.read_csv(results / "tables" / "stability.csv")
    assert len(stability) == 2 * 2 * 2 and (stability["n_images"] == 3).all()
    assert (stability["asa_min"] <= stability["asa_mean"]).all()
    assert (stability["asa_mean"] <= stability["asa_max"]).all()
    counts = pd.read_csv(results / "tables" / "count_control.csv")
    assert len(counts) == 2 * 2 and (counts["n_disconnected"] == 0).all()
    assert counts["worst_relative_error"].abs().lt(0.3).all()
    claims = (results / "tables" / "paper_claims.md").read_text()
    assert "Connectivity: every superpixel of every method is one 4-connected region" in claims
    for name in ("robustness_gaussian_noise", "robustness_rotation", "stability_bsds500_br",
                 "count_control"):  # fmt: skip
        assert (results / "figures" / f"{name}.png").read_bytes()[:4] == b"\x89PNG", name

    report = snakemake("--report", "results/report.html", "--cores", "1", cwd=tmp_path)
    assert report.returncode == 0, report.stderr[-3000:]
    assert (results / "report.html").stat().st_size > 10_000


def test_slurm_profile_dry_run(tmp_path):
    """The SLURM profile loads (executor plugin installed) and builds the GPU DAG."""
    pytest.importorskip("snakemake_executor_plugin_slurm")
    profile = yaml.safe_load((REPO_ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    assert profile["executor"] == "slurm"
    config = load_config()
    config["device"] = "cuda"
    result = snakemake(
        "-n", "--profile", str(REPO_ROOT / "profiles" / "slurm"), "--quiet", "rules",
        cwd=workdir_with(tmp_path, config),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert job_counts(result.stdout + result.stderr)["train"] == len(config["training"]["runs"])


@pytest.mark.slow
@pytest.mark.realdata
def test_full_dag_run(tmp_path, bsds_root, samples_root):
    """config/config.yaml at smoke size runs every rule: training, 4 datasets, 15 methods.

    Only sizes and splits change (.test/config/full_dag.yaml). Then an interrupted
    training run is continued: without its model.pt and with more iterations, the train
    job resumes from the run folder's last.pt instead of starting again.
    """
    pd = pytest.importorskip("pandas")
    from ssn.checkpoint import load_checkpoint, load_model

    datasets_local = (REPO_ROOT / "config" / "datasets.local.yaml").read_text()
    local = tmp_path / "datasets.local.yaml"
    local.write_text(datasets_local.replace("../../shared/datasets", str(bsds_root.parents[1])))
    config = load_config(".test/config/full_dag.yaml")
    config["data"]["configs"] = [str(REPO_ROOT / "config" / "datasets.yaml"), str(local)]
    config["models"]["configs"] = [str(REPO_ROOT / c) for c in config["models"]["configs"]]
    config["training"]["profiles"]["cpu"] = str(REPO_ROOT / config["training"]["profiles"]["cpu"])
    (tmp_path / "config").mkdir()
    write_config(tmp_path / "config" / "config.yaml", config)

    result = snakemake("--cores", "2", cwd=tmp_path, timeout=1800)
    assert result.returncode == 0, result.stderr[-5000:]

    runs = config["training"]["runs"]
    for name in runs:
        model = load_model(tmp_path / "resources" / "train" / name / "model.pt", "cpu")
        assert model.config.in_channels == (8 if name.startswith("sintel") else 5)
        assert model.config.feature_net in name
        assert model.config.n_features == (10 if name.endswith("10features") else 20)

    results = tmp_path / "results"
    summary = pd.read_csv(results / "tables" / "summary.csv")
    assert set(summary["dataset"]) == {"bsds500", "voc2012", "cityscapes", "sintel"}
    for dataset, part in summary.groupby("dataset"):
        assert set(part["method"]) == methods_on(config, dataset), dataset
        assert set(part["k"]) == {100, 400}, dataset
    regions = summary[summary["dataset"] != "sintel"]
    assert regions["asa"].between(0.5, 1.0).all() and regions["br"].between(0.0, 1.0).all()
    flow = summary[summary["dataset"] == "sintel"]
    assert flow["epe"].gt(0).all() and flow["epe"].lt(50).all()

    runtime = pd.read_csv(results / "tables" / "runtime.csv")
    assert set(runtime["size"]) == {"bsds500", "cityscapes_half"}
    assert set(runtime.loc[runtime["size"] == "cityscapes_half", "height"]) == {512}
    for size, dataset in (("bsds500", "bsds500"), ("cityscapes_half", "cityscapes")):
        part = runtime[runtime["size"] == size]
        assert set(part["method"]) == methods_on(config, dataset), size
    figures = ["bsds500_asa", "bsds500_ablation", "voc2012_asa", "cityscapes_asa", "sintel_epe",
               "qualitative_bsds500"]  # fmt: skip
    for name in figures:
        assert (results / "figures" / f"{name}.png").read_bytes()[:4] == b"\x89PNG", name

    run_dir = tmp_path / "resources" / "train" / "bsds500_linear"

    def retrain(*settings: str) -> str:
        """Rebuild the run's model.pt with more training settings; the job's log."""
        (run_dir / "model.pt").unlink()
        extra = write_config(tmp_path / "extra.yaml", {"training": {"overrides": [
            *config["training"]["overrides"], *settings]}})  # fmt: skip
        result = snakemake("--cores", "2", "--configfile", str(extra), "--",
                           "resources/train/bsds500_linear/model.pt", cwd=tmp_path)  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        return (tmp_path / "logs" / "train" / "bsds500_linear.log").read_text()

    # resume: the run stopped at 2 iterations; ask for 4 and rebuild its model
    assert load_checkpoint(run_dir / "last.pt")["iter"] == 2
    assert "resuming from" in retrain("max_iters=4")
    assert load_checkpoint(run_dir / "last.pt")["iter"] == 4
    log = pd.read_csv(run_dir / "log.csv")
    assert log["iter"].is_unique and log["iter"].max() == 4

    # other settings (k = 10 features): not resumed; the old run is kept aside
    assert "starting again" in retrain("max_iters=4", "n_features=10")
    (aside,) = run_dir.parent.glob("bsds500_linear.replaced-*")
    assert load_checkpoint(aside / "last.pt")["model_args"]["n_features"] == 20
    state = load_checkpoint(run_dir / "last.pt")
    assert state["iter"] == 4 and state["model_args"]["n_features"] == 10
    assert pd.read_csv(run_dir / "log.csv")["iter"].tolist() == [1, 2, 3, 4]
