"""What the benchmark scripts share; each imports it first (``import _common``).

Importing it starts a benchmark's process: this checkout goes on ``sys.path`` (before an
installed ``ssn``), and OpenMP threads wait passively unless ``OMP_WAIT_POLICY`` is set
(``ssn._parallel.passive_openmp_wait``: it has to come before torch or numba is loaded).
"""

from __future__ import annotations

import argparse
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

__all__ = ["DEFAULT_DATA", "DEFAULT_WEIGHTS", "REPO", "OtherCPUShare", "arguments",
           "busy_cpu_seconds", "median_ms", "parse", "reproduction_gap", "set_threads",
           "times_ms", "weights_folder"]  # fmt: skip


def weights_folder(file: str, shared: str) -> Path:
    """The folder of a released model's ``file``: the first entry of ``$SSN_WEIGHTS`` (a
    folder, or several separated by ``os.pathsep``) holding it, else its first entry;
    when unset, ``../shared/weights/<shared>`` next to the checkout."""
    entries = [e for e in os.environ.get("SSN_WEIGHTS", "").split(os.pathsep) if e]
    if not entries:
        return REPO.parent / "shared" / "weights" / shared
    return next((Path(e) for e in entries if (Path(e) / file).is_file()), Path(entries[0]))


#: the datasets (``$SSN_DATA``) and the paper's released models (``$SSN_WEIGHTS``)
DEFAULT_DATA = Path(os.environ.get("SSN_DATA", REPO.parent / "shared" / "datasets"))
DEFAULT_WEIGHTS = weights_folder("ssn_bsds_model.caffemodel", "ssn_official")


def arguments(doc: str, *, data: bool = True) -> argparse.ArgumentParser:
    """A benchmark's parser, described by the first line of its docstring ``doc``, with
    the options the benchmarks share: ``--threads`` (2; applied by :func:`parse`),
    ``--json`` (a file to write the results to) and, with ``data``, ``--data``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    if data:
        parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    return parser


def parse(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    """The arguments ``argv`` (default: the command line's), their ``--threads`` applied
    (:func:`set_threads`)."""
    args = parser.parse_args(argv)
    set_threads(args.threads)
    return args


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
