"""ssn-bench: Superpixel Sampling Networks as a fast, differentiable PyTorch library.

The numpy entry point is :func:`segment`; differentiable building blocks live in
:mod:`ssn.functional`, networks in :mod:`ssn.models`, losses in :mod:`ssn.losses`,
metrics in :mod:`ssn.metrics` and dataset tools in :mod:`ssn.data`.
"""

from ssn.connectivity import enforce_connectivity
from ssn.functional import differentiable_slic, grid_shape
from ssn.models import SSN, SSNConfig
from ssn.segment import segment

__all__ = [
    "SSN",
    "SSNConfig",
    "differentiable_slic",
    "enforce_connectivity",
    "grid_shape",
    "segment",
]
__version__ = "0.1.0"
