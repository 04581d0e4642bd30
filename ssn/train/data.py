"""The data of a training run: its patches, their order, and the validation split.

The order is one mechanism, :class:`RunOrder`: sample number ``g`` of the run is item
``perm_e[g mod n]`` of epoch ``e = g // n``, with ``perm_e`` drawn from ``(seed, e)``,
and the patch datasets make that item from ``(seed, e, index)`` alone. The batch of
iteration ``i`` is therefore a pure function of ``(seed, i)``, whatever the number of
DataLoader workers or ranks, which is what exact resume needs.
"""

from __future__ import annotations

import numpy as np
import torch

from ssn.data import LOADERS

from .config import TrainConfig

__all__ = ["RunOrder", "build_patches", "to_device", "training_batches", "validation_source"]


def build_patches(config: TrainConfig):
    """The training patches of ``config.task`` (items addressed by ``(epoch, index)``)."""
    from ssn.data.torch_datasets import FlowPatches, SegmentationPatches

    source = LOADERS[config.task](config.dataset_folder, split=config.train_split)
    if config.task == "sintel":
        return FlowPatches(source, patch_size=config.patch_size, flip=config.flip, seed=config.seed)
    return SegmentationPatches(
        source, patch_size=config.patch_size, flip=config.flip, scale=config.scale,
        max_segments=config.max_segments, seed=config.seed,
    )  # fmt: skip


def validation_source(config: TrainConfig):
    """The loader of the validation split (refused when empty)."""
    source = LOADERS[config.task](config.dataset_folder, split=config.val_split)
    if len(source) == 0:
        raise ValueError(f"the validation split {config.val_split!r} of {config.task} is empty")
    return source


class RunOrder(torch.utils.data.Sampler):
    """Batches of ``(epoch, index)`` keys for iterations ``start, start + 1, ...``.

    Each of ``world`` ranks takes its contiguous share of the global batch.
    """

    def __init__(self, n_items: int, *, seed: int, batch_size: int, start: int = 0,
                 rank: int = 0, world: int = 1):  # fmt: skip
        self.n_items, self.seed, self.batch_size = n_items, seed, batch_size
        self.start, self.rank, self.world = start, rank, world

    def key(self, sample: int) -> tuple[int, int]:
        """The ``(epoch, index)`` of sample number ``sample`` of the run."""
        epoch, position = divmod(sample, self.n_items)
        return epoch, int(self._permutation(epoch)[position])

    def _permutation(self, epoch: int) -> np.ndarray:
        if getattr(self, "_epoch", None) != epoch:  # one epoch at a time is all a run needs
            self._epoch = epoch
            self._perm = np.random.default_rng([self.seed, epoch]).permutation(self.n_items)
        return self._perm

    def __iter__(self):
        per_rank = self.batch_size // self.world
        iteration = self.start
        while True:
            first = iteration * self.batch_size + self.rank * per_rank
            yield [self.key(g) for g in range(first, first + per_rank)]
            iteration += 1


def training_batches(config: TrainConfig, patches, start: int, rank: int = 0, world: int = 1):
    """An endless iterator over this rank's batches, from iteration ``start`` on."""
    order = RunOrder(len(patches), seed=config.seed, batch_size=config.batch_size, start=start,
                     rank=rank, world=world)  # fmt: skip
    workers = config.num_workers
    loader = torch.utils.data.DataLoader(
        patches, batch_sampler=order, num_workers=workers,
        persistent_workers=workers > 0, prefetch_factor=4 if workers > 0 else None,
    )  # fmt: skip
    return iter(loader)


def to_device(batch: dict, device: torch.device) -> dict:
    """The tensors of ``batch`` on ``device`` (other entries as they are)."""
    return {
        k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()
    }
