"""benchmarks/device_check.py in its CI-size form on the CPU: the JSON it documents."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_device_check_reduced_on_cpu(tmp_path):
    out = tmp_path / "check.json"
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks" / "device_check.py"),
         "--device", "cpu", "--reduced", "--out", str(out)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["schema"] == 1 and report["reduced"] is True
    assert report["device"]["type"] == "cpu" and report["device"]["cpu"]
    tests = report["tests"]
    assert tests["returncode"] in (0, 5)  # 5: every test deselected or skipped
    assert tests["failed"] == 0 and tests["passed"] == 0  # no CUDA here: all skip
    rows = {(r["method"], r["size"], r["k"]) for r in report["runtime"]}
    assert rows == {(m, s, 400) for m in ("SSN_pix", "SSN_deep")
                    for s in ("bsds500", "cityscapes_half")}  # fmt: skip
    for row in report["runtime"]:
        assert row["ms_median"] > 0 and len(row["ms_all"]) == 2
        assert 0.5 * row["k"] < row["n_superpixels"] <= row["k"] * 1.1
        assert (row["height"], row["width"]) in ((321, 481), (512, 1024))
    training = report["training"]
    assert training["iterations"] >= 1 and training["iters_per_second"] > 0
    assert training["samples_per_second"] == pytest_approx(
        training["iters_per_second"] * training["batch_size"]
    )


def pytest_approx(value):
    import pytest

    return pytest.approx(value, rel=0.02)
