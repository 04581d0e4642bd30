"""benchmarks/device_check.py: the GPU confirmation command, run here on the CPU (as CI
does) and with fake GPUs (tests/fake_cuda.py), so that it cannot rot before a GPU runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fake_cuda import subprocess_env

REPO_ROOT = Path(__file__).resolve().parents[1]
STEPS = {"tests", "train", "torchrun", "segment", "workflow", "runtime", "dslic"}


def _run(tmp_path, device, env=None) -> dict:
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks" / "device_check.py"),
         "--device", device, "--quick", "--out-dir", str(out)],
        capture_output=True, text=True, timeout=900, check=False, env=env,
    )  # fmt: skip
    report = json.loads((out / "device_check.json").read_text())
    failed = {k: v.get("error") for k, v in report["steps"].items() if v["status"] != "ok"}
    assert result.returncode == 0 and not failed, (failed, result.stdout[-2000:])
    assert set(report["steps"]) == STEPS and report["quick"] is True
    markdown = (out / "device_check.md").read_text()
    assert all(f"| {step} | ok |" in markdown for step in STEPS)
    return report


def _check_common(report: dict) -> None:
    steps = report["steps"]
    train = steps["train"]
    assert train["resume_bit_exact"] and train["resume_max_weight_difference"] == 0
    assert train["samples_per_second"] > 0
    for row in steps["segment"]["rows"]:  # the same metrics on both paths, to 3 decimals
        assert abs(row["asa_cpu"] - row["asa_device"]) < 5e-4
        assert abs(row["br_cpu"] - row["br_device"]) < 5e-4
        assert 0.5 < row["asa_cpu"] <= 1 and 0 < row["br_cpu"] <= 1
    runtime = steps["runtime"]["rows"]
    assert {(r["method"], r["size"]) for r in runtime} >= {
        (m, s) for m in ("SSN_pix", "SSN_linear", "SSN_deep (ours)")
        for s in ("bsds500", "cityscapes")
    }  # fmt: skip
    for row in runtime:
        assert row["ms_median"] > 0 and 0.5 * row["k"] < row["n_superpixels"] <= row["k"]
    assert steps["workflow"]["figures"] and steps["workflow"]["runtime_rows"] >= 2
    assert steps["dslic"]["ms_median"] > 0


@pytest.mark.slow
def test_device_check_quick_on_the_cpu(tmp_path):
    report = _run(tmp_path, "cpu")
    assert report["device"]["type"] == "cpu" and report["device"]["cpu"]
    _check_common(report)
    assert report["steps"]["train"]["autocast"] == "float32"
    assert report["steps"]["torchrun"]["backend"] == "gloo"
    for row in report["steps"]["segment"]["rows"]:  # one path: the same labels
        assert row["identical_labels"] == 1


@pytest.mark.slow
def test_device_check_on_fake_gpus(tmp_path):
    """--device cuda through every real entry point (the CLI, torchrun, Snakemake with
    --resources gpu=1 --config device=cuda), with CUDA's C level played by the CPU; and
    without datasets, as on a lent GPU machine: on the generated BSDS500-like set."""
    env = subprocess_env(1)
    env["SSN_DATA"] = str(tmp_path / "no-datasets")
    report = _run(tmp_path, "cuda", env=env)
    assert report["real_data"] is False
    assert report["device"]["type"] == "cuda" and "Fake GPU" in report["device"]["name"]
    _check_common(report)
    assert report["steps"]["train"]["autocast"] == "bfloat16"
    assert report["steps"]["torchrun"]["backend"] == "nccl"
    assert "passed" in report["steps"]["tests"]["summary"]  # the CUDA-marked tests ran
