"""Training SSN_linear / SSN_deep with the task-specific losses (``ssn train``).

Defaults are the paper's (Adam, lr 1e-4, batch 8, 201×201 patches, 100 superpixels,
v = 5 in training, k = 20, compactness weight 1e-5, 500K iterations on BSDS500). A YAML
file overrides them, then ``key=value`` arguments override the file.

- :mod:`ssn.train.config` -- :class:`TrainConfig` and :func:`load_config`;
- :mod:`ssn.train.data` -- the patches, their order (a pure function of the seed and the
  iteration, so resume is exact) and the validation split;
- :mod:`ssn.train.run` -- device and ranks, the run folder's checkpoints, ``log.csv``;
- :mod:`ssn.train.loop` -- the loss, validation, building the run, and :func:`train`.

Multi-GPU: launch with ``torchrun --nproc-per-node N -m ssn.cli train ...``; each rank
takes its share of the global batch under ``DistributedDataParallel``; rank 0 logs,
validates and saves.
"""

from .config import TASKS, TrainConfig, load_config
from .data import build_patches
from .loop import compute_loss, train, validate

__all__ = [
    "TASKS",
    "TrainConfig",
    "build_patches",
    "compute_loss",
    "load_config",
    "train",
    "validate",
]
