"""torch ``Dataset`` wrappers producing the paper's training patches.

An item is addressed by ``(epoch, index)`` (a plain ``index`` means epoch 0) and computed
from its own generator, seeded by ``(seed, epoch, index)``: a patch depends only on these
three numbers, not on the worker that makes it, the number of workers or the order of
requests -- so training is reproducible with any ``DataLoader`` setup. The training run's
sampler (:class:`ssn.train.data.RunOrder`) hands out the keys. Files are read lazily, one
sample at a time.

Images are float32 RGB in [0, 1], channels first; the model converts to Lab.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from .transforms import OFFICIAL_SCALE, PatchSampler, ScaleDistribution, segment_indices

__all__ = ["FlowPatches", "SegmentationPatches", "sample_rng"]


def sample_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The generator of one sample: independent streams for every (seed, epoch, index)."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(epoch), int(index)]))


def _image_tensor(image: np.ndarray) -> torch.Tensor:
    if image.dtype != np.uint8:
        raise ValueError(f"expected uint8 images, got {image.dtype}")
    # numpy, not torch ops: tiny torch CPU ops cost ~1-10 ms each in DataLoader workers
    return torch.from_numpy(image.transpose(2, 0, 1).astype(np.float32) / np.float32(255))


class _Seeded(Dataset):
    def __init__(self, seed: int):
        self.seed = int(seed)

    def __len__(self) -> int:
        return len(self.source)

    def _rng(self, key) -> tuple[int, np.random.Generator]:
        """The index and the generator of item ``key``: ``index`` or ``(epoch, index)``."""
        epoch, index = key if isinstance(key, tuple) else (0, key)
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} samples")
        return int(index), sample_rng(self.seed, epoch, index)


class SegmentationPatches(_Seeded):
    """Random training patches with segment indices (BSDS500, VOC, Cityscapes).

    Parameters
    ----------
    source : BSDS500, VOC2012 or Cityscapes
        Any loader with ``__len__`` and ``segmentation_example(index, rng)`` returning
        ``(image, labels, void)``; BSDS500 draws one annotation per sample.
    patch_size : int, keyword-only
        201 in the paper.
    flip : bool, keyword-only
    scale : ScaleDistribution, "official" or None, keyword-only
        Random rescaling; the paper uses it for BSDS500 ("official").
    max_segments : int, keyword-only
        Segments kept (the official code's 50 one-hot channels); see
        :func:`~ssn.data.transforms.segment_indices`.
    policy : {"first", "largest"}, keyword-only
        Which segments are kept when there are more.
    seed : int, keyword-only

    Items (``ds[index]`` or ``ds[epoch, index]``) are dicts: ``image`` (3, P, P) float32,
    ``labels`` (P, P) int64 (segment index, -1 = void / dropped / padding; the loss
    computes the one-hot from it), ``valid`` (P, P) bool (False on padding), ``index`` int.
    """

    def __init__(
        self,
        source,
        *,
        patch_size: int = 201,
        flip: bool = True,
        scale: ScaleDistribution | str | None = None,
        max_segments: int = 50,
        policy: str = "first",
        seed: int = 0,
    ):
        super().__init__(seed)
        if scale == "official":
            scale = OFFICIAL_SCALE
        elif isinstance(scale, str):
            raise ValueError(
                f"scale must be a ScaleDistribution, 'official' or None, got {scale!r}"
            )
        self.source = source
        self.sampler = PatchSampler(patch_size=patch_size, flip=flip, scale=scale)
        self.max_segments = max_segments
        self.policy = policy

    def __getitem__(self, key) -> dict:
        index, rng = self._rng(key)
        image, labels, void = self.source.segmentation_example(index, rng)
        out = self.sampler(rng, images=[image], labels=[labels])
        segments = segment_indices(
            out["labels"][0], max_segments=self.max_segments, void=void, policy=self.policy
        )
        return {
            "image": _image_tensor(out["images"][0]),
            "labels": torch.from_numpy(segments),
            "valid": torch.from_numpy(out["valid"]),
            "index": index,
        }


class FlowPatches(_Seeded):
    """Random training patches of MPI-Sintel frame pairs with their flow.

    Parameters
    ----------
    source : Sintel
    patch_size, flip, scale, seed : keyword-only
        As for :class:`SegmentationPatches`; no scaling by default (a scale multiplies the
        flow).

    Items (``ds[index]`` or ``ds[epoch, index]``) are dicts: ``image1``, ``image2``
    (3, P, P) float32, ``flow`` (2, P, P) float32, ``valid`` (P, P) bool (flow valid and
    not padding), ``index`` int.
    """

    def __init__(
        self,
        source,
        *,
        patch_size: int = 201,
        flip: bool = True,
        scale: ScaleDistribution | None = None,
        seed: int = 0,
    ):
        super().__init__(seed)
        self.source = source
        self.sampler = PatchSampler(patch_size=patch_size, flip=flip, scale=scale)

    def __getitem__(self, key) -> dict:
        index, rng = self._rng(key)
        sample = self.source.load(index)
        out = self.sampler(
            rng,
            images=[sample["image1"], sample["image2"]],
            masks=[~sample["invalid"]],
            flow=sample["flow"],
        )
        return {
            "image1": _image_tensor(out["images"][0]),
            "image2": _image_tensor(out["images"][1]),
            "flow": torch.from_numpy(np.ascontiguousarray(out["flow"].transpose(2, 0, 1))),
            "valid": torch.from_numpy(out["masks"][0] & out["valid"]),
            "index": index,
        }
