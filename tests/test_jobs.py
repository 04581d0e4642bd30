"""The workflow jobs' helpers (workflow/scripts/_jobs.py), imported as Snakemake's
``script:`` directive lets a job import them: from the scripts' folder."""

from __future__ import annotations

import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))

import _jobs  # noqa: E402
from _jobs import OtherCPUShare, busy_cpu_seconds  # noqa: E402

# A child process that burns 0.5 s of CPU (or stops after 10 s of wall time on a machine
# too busy to give it that much).
BURN = (
    "import time\n"
    "cpu, wall = time.process_time(), time.time()\n"
    "while time.process_time() - cpu < 0.5 and time.time() - wall < 10:\n"
    "    pass\n"
)


@pytest.mark.parametrize(
    ("busy", "own", "share"),
    [
        ((10.0, 13.0), (1.0, 2.0), 0.5),  # 2 s of others over 2 s on 2 CPUs
        ((10.0, 11.0), (1.0, 2.0), 0.0),  # only this process was busy
        ((10.0, 10.5), (1.0, 2.0), 0.0),  # tick rounding below its own time: not negative
        ((10.0, 19.0), (1.0, 1.0), 1.0),  # more than the machine: at most all of it
    ],
)
def test_other_cpu_share_is_the_busy_time_of_others_per_cpu_and_second(
    monkeypatch, busy, own, share
):
    """The arithmetic, on hand-set clocks: (machine busy - own CPU) / (wall · CPUs)."""
    readings = {"busy": iter(busy), "own": iter(own), "wall": iter((100.0, 102.0))}
    monkeypatch.setattr(_jobs, "busy_cpu_seconds", lambda: next(readings["busy"]))
    monkeypatch.setattr(_jobs, "time", SimpleNamespace(
        process_time=lambda: next(readings["own"]), time=lambda: next(readings["wall"])
    ))  # fmt: skip
    monkeypatch.setattr(_jobs.os, "cpu_count", lambda: 2)
    with OtherCPUShare() as load:
        pass
    assert load.share == pytest.approx(share)


def test_other_cpu_share_is_nan_without_proc_stat(monkeypatch):
    monkeypatch.setattr(_jobs, "busy_cpu_seconds", lambda: float("nan"))
    with OtherCPUShare() as load:
        pass
    assert math.isnan(load.share)


def test_other_cpu_share_counts_a_busy_child_process():
    """A child burning CPU is another process: the share is at least the child's CPU
    time per CPU and second of the block. A lower bound only, since the machine may be
    shared (what else runs adds to the share, so "nothing running gives 0" cannot be
    checked here; the arithmetic test above checks it on set clocks). /proc/stat counts
    in ticks of 1/USER_HZ per CPU, read at either end: the bound allows for two ticks a
    CPU."""
    if math.isnan(busy_cpu_seconds()):
        pytest.skip("no /proc/stat")

    def children_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    child_before, start = children_cpu(), time.time()
    with OtherCPUShare() as load:
        subprocess.run([sys.executable, "-c", BURN], check=True, timeout=60)
    elapsed, child = time.time() - start, children_cpu() - child_before
    cpus = os.cpu_count() or 1
    slack = 2 * cpus / os.sysconf("SC_CLK_TCK")
    assert child > 0.2, child  # it did burn CPU
    assert (child - slack) / (elapsed * cpus) <= load.share <= 1.0
    assert load.share > 0
