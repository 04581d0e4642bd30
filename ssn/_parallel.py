"""How the numba kernels share the CPU with torch.

numba's default threading layer is OpenMP, and in a process that has imported torch it
is the same OpenMP runtime as torch's. Each parallel launch of numba sets that runtime's
thread count to numba's own (all cores by default), which torch then reads as its
intra-op thread count: after one call of :func:`ssn.segment`, a training process limited
to ``torch.set_num_threads(1)`` ran every later convolution on 2 threads, and two such
runs on 2 cores slowed down 4× (issue 16). :func:`keeps_torch_threads` restores torch's
count after every launch.

Importing this module sets the OpenMP wait policy, which the runtime reads when it is
loaded (with torch, or at numba's first parallel launch).
"""

from __future__ import annotations

import functools
import os
import sys

# OpenMP threads that spin while they wait for a peer take the CPU that peer needs when
# another process shares the cores: on 2 cores with one busy process, SSN_pix took 178
# ms per BSDS500 image instead of 48 (numba's default OpenMP layer, 2 threads); waiting
# passively it takes 85 ms, and the same as before on a quiet machine (issue #13,
# benchmarks/bench_dslic.py). A value set by the user wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__all__ = ["keeps_torch_threads"]


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
