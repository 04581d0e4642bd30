"""What the benchmark scripts share; each imports it first (``import _common``).

Importing it starts a benchmark's process: this checkout goes on ``sys.path`` (before an
installed ``ssn``), and OpenMP threads wait passively unless ``OMP_WAIT_POLICY`` is set
(``ssn._parallel.passive_openmp_wait``: it has to come before torch or numba is loaded).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for _path in (REPO / "workflow" / "scripts", REPO):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from _jobs import OtherCPUShare, busy_cpu_seconds, reproduction_gap  # noqa: E402

from ssn._parallel import passive_openmp_wait, set_threads  # noqa: E402

passive_openmp_wait()

__all__ = ["DEFAULT_DATA", "DEFAULT_WEIGHTS", "REPO", "OtherCPUShare", "busy_cpu_seconds",
           "median_ms", "reproduction_gap", "set_threads", "times_ms"]  # fmt: skip

#: the datasets (``$SSN_DATA``) and the paper's released models (``$SSN_WEIGHTS``)
DEFAULT_DATA = Path(os.environ.get("SSN_DATA", REPO.parent / "shared" / "datasets"))
DEFAULT_WEIGHTS = Path(
    os.environ.get("SSN_WEIGHTS", REPO.parent / "shared" / "weights" / "ssn_official")
)


def times_ms(fn, repeats: int, *, warm_up: bool = False, device=None) -> list[float]:
    """Wall times of ``repeats`` calls of ``fn()`` in milliseconds, after one untimed
    call with ``warm_up``; with a ``device`` the work queued on it on either side of a
    call is waited for (``ssn.devices.synchronize``), so that each time is the call's own."""
    sync = (lambda: None) if device is None else (lambda: _synchronize(device))
    if warm_up:
        fn()
    times = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def _synchronize(device) -> None:
    from ssn.devices import synchronize  # torch: only where a device is given

    synchronize(device)


def median_ms(fn, repeats: int, **options) -> float:
    """The median of :func:`times_ms`."""
    return statistics.median(times_ms(fn, repeats, **options))
