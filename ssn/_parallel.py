"""How the numba kernels share the CPU with torch and OpenCV.

- :func:`set_threads`: one thread count for torch, numba and OpenCV, for a process that
  runs on a share of the machine (a workflow job, a training run with ``threads``).
- :func:`passive_openmp_wait`: for the start of a process (the ``ssn`` command, the
  workflow's jobs, the benchmarks); the library itself leaves ``OMP_WAIT_POLICY`` alone.
- :func:`keeps_torch_threads`: numba's default threading layer is OpenMP, and in a
  process that has imported torch it is the same OpenMP runtime as torch's. Each
  parallel launch of numba sets that runtime's thread count to numba's own (all cores by
  default), which torch then reads as its intra-op thread count: after one call of
  :func:`ssn.segment`, a training process limited to ``torch.set_num_threads(1)`` ran
  every later convolution on 2 threads, and two such runs on 2 cores slowed down 4×
  (issue 16; with torch 2.13 and numba 0.68 the counts still go 1 → 2 without it,
  ``tests/test_kernels.py``). The wrapper does not choose a count: it puts back the one
  the caller had, and only when a launch changed it (never where :func:`set_threads`
  gave numba and torch the same count).
"""

from __future__ import annotations

import functools
import os
import sys

__all__ = ["keeps_torch_threads", "passive_openmp_wait", "set_threads"]


def set_threads(n: int) -> None:
    """Use exactly ``n`` threads (at least 1) in torch, numba and OpenCV."""
    n = max(1, int(n))
    import torch

    torch.set_num_threads(n)
    try:
        import numba

        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    except ImportError:
        pass
    try:
        import cv2

        cv2.setNumThreads(n)
    except ImportError:
        pass


def passive_openmp_wait() -> None:
    """Let OpenMP threads sleep, not spin, while they wait for a peer (unless the user set
    ``OMP_WAIT_POLICY``).

    Spinning threads take the CPU that a preempted peer needs when another process shares
    the cores: on 2 cores with one busy process, SSN_pix took 178 ms per BSDS500 image
    instead of 48 (numba's OpenMP layer, 2 threads), 85 ms waiting passively, and the
    same as before on a quiet machine (issue #13, ``benchmarks/bench_dslic.py``). The
    runtime reads the variable once, when ``import torch`` (or numba's first parallel
    launch) loads it: call this before either, at the start of a process.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def keeps_torch_threads(launch):
    """Wrap a function that launches numba parallel kernels so that torch's intra-op
    thread count is the same after it as before it."""

    @functools.wraps(launch)
    def run(*args, **kwargs):
        torch = sys.modules.get("torch")  # not imported: nothing to keep
        if torch is None:
            return launch(*args, **kwargs)
        threads = torch.get_num_threads()
        try:
            return launch(*args, **kwargs)
        finally:
            if torch.get_num_threads() != threads:
                torch.set_num_threads(threads)

    return run
