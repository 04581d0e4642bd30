"""ssn-bench: Superpixel Sampling Networks as a fast, differentiable PyTorch library.

The numpy entry point is :func:`segment`; differentiable building blocks live in
:mod:`ssn.functional`, networks in :mod:`ssn.models`, losses in :mod:`ssn.losses`,
metrics in :mod:`ssn.metrics`, the methods of the benchmark (SSN and the baselines) in
:mod:`ssn.methods` and dataset tools in :mod:`ssn.data`.

The names below are imported on first use, so that ``import ssn.data`` or ``ssn --help``
do not load torch or numba.
"""

from __future__ import annotations

import importlib

# public name -> the module that defines it
_EXPORTS = {
    "SSN": "ssn.models",
    "SSNConfig": "ssn.models",
    "differentiable_slic": "ssn.functional",
    "enforce_connectivity": "ssn.connectivity",
    "grid_shape": "ssn.functional",
    "segment": "ssn.inference",
}

__all__ = sorted(_EXPORTS)
__version__ = "0.1.0"


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'ssn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
