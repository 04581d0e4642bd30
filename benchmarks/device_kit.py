"""Pack what a lent GPU machine lacks into ``.device/`` (gitignored), for one device check.

Usage (here, before the run)::

    python benchmarks/device_kit.py        # .device/: data, the paper's model, wheels

A lent machine (see the README's "On a GPU") has PyTorch with CUDA, numba, scikit-image,
OpenCV, pandas and matplotlib, but no datasets, no model weights and no Snakemake, and
reaches no network. This writes, for ``benchmarks/device_run.sh`` to use there:

- ``.device/data/BSDS500/data``: 8 / 2 / 20 train / val / test images of BSDS500 with
  their annotations, from ``$SSN_DATA``;
- ``.device/weights``: the paper's BSDS500 model (CC BY-NC-SA 4.0: it only travels to
  the machine, ``.device/`` is never committed), from ``$SSN_WEIGHTS``;
- ``.device/whl``: Python 3.12 wheels of Snakemake and jsonschema with the dependencies
  the machine's image does not have.

Together well under the 64 MiB a run may carry.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import DEFAULT_DATA, DEFAULT_WEIGHTS, REPO

KIT = REPO / ".device"
COUNTS = {"train": 8, "val": 2, "test": 20}
#: Python packages of the lent machines' image (the device tool's KINDS.md) that the
#: workflow needs: not carried
IN_IMAGE = {
    "attrs", "certifi", "charset-normalizer", "idna", "jinja2", "markupsafe", "packaging",
    "platformdirs", "psutil", "pyyaml", "requests", "tabulate", "typing-extensions",
    "urllib3", "wrapt", "docutils", "pygments",
}  # fmt: skip
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "any")


def copy_data(source: Path) -> None:
    bsds = source / "BSDS500" / "data"
    if not (bsds / "images" / "test").is_dir():
        sys.exit(f"no BSDS500 under {source} (set SSN_DATA)")
    for split, n in COUNTS.items():
        for kind, suffix in (("images", ".jpg"), ("groundTruth", ".mat")):
            out = KIT / "data" / "BSDS500" / "data" / kind / split
            out.mkdir(parents=True, exist_ok=True)
            for path in sorted((bsds / kind / split).glob(f"*{suffix}"))[:n]:
                shutil.copy2(path, out / path.name)


def copy_weights(source: Path) -> None:
    model = source / "ssn_bsds_model.caffemodel"
    if not model.is_file():
        print(f"no {model.name} under {source}: the check runs without the paper's model")
        return
    (KIT / "weights").mkdir(parents=True, exist_ok=True)
    shutil.copy2(model, KIT / "weights" / model.name)


def _snakemake_requirements() -> list[str]:
    import snakemake

    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--dry-run", "--ignore-installed",
             "--report", str(report), f"snakemake=={snakemake.__version__}", "jsonschema>=4,<5"],
            check=True,
        )  # fmt: skip
        install = json.loads(report.read_text())["install"]
    names = ((i["metadata"]["name"], i["metadata"]["version"]) for i in install)
    return [f"{n}=={v}" for n, v in names if n.lower().replace("_", "-") not in IN_IMAGE]


def fetch_wheels() -> None:
    """Binary wheels for CPython 3.12 where the package has them, else a wheel built
    here from its source (pure Python: the same on any version)."""
    out = KIT / "whl"
    out.mkdir(parents=True, exist_ok=True)
    platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
    for requirement in _snakemake_requirements():
        binary = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--only-binary=:all:", "--python-version", "3.12", "--implementation", "cp",
             *platforms, "-d", str(out), requirement],
            capture_output=True, text=True,
        )  # fmt: skip
        if binary.returncode:
            subprocess.run(
                [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out),
                 requirement],
                check=True,
            )  # fmt: skip


def main() -> int:
    copy_data(DEFAULT_DATA)
    copy_weights(DEFAULT_WEIGHTS)
    fetch_wheels()
    size = sum(p.stat().st_size for p in KIT.rglob("*") if p.is_file())
    print(f"{KIT}: {size / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
