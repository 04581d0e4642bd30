"""BSDS500 loader: images with all their human annotations (numpy).

The SSN paper treats every (image, annotation) pair as a sample: 1633 train+val pairs and
1063 test pairs. Annotations are read with :func:`ssn.io.read_bsds_ground_truth`; their
number per image is read from the ``.mat`` header without decoding it.
"""

from __future__ import annotations

import functools
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..io import read_bsds_ground_truth, read_image
from .evaluation import EvaluationItem, EvaluationSample
from .layout import find_root

__all__ = ["BSDS500", "SPLITS"]

SPLITS = ("train", "val", "test")
_ALIASES = {"trainval": ("train", "val"), "all": SPLITS}


def _splits(split) -> tuple[str, ...]:
    if isinstance(split, str):
        split = _ALIASES.get(split, (split,))
    split = tuple(split)
    bad = [s for s in split if s not in SPLITS]
    if bad or not split:
        raise ValueError(
            f"split must be one of {SPLITS}, 'trainval' or 'all' (or a list), got {split!r}"
        )
    return split


@lru_cache(maxsize=4096)
def _annotation_count(path: str, mtime: float) -> int:
    from scipy.io import whosmat

    try:
        info = dict((name, shape) for name, shape, _ in whosmat(path))
        return int(np.prod(info["groundTruth"]))
    except (KeyError, ValueError, TypeError, OSError) as err:
        raise ValueError(f"{path} is not a BSDS500 ground-truth file: {err}") from err


class BSDS500:
    """BSDS500 images and annotations of one or more splits.

    Parameters
    ----------
    root : path-like
        The ``data/`` folder (``images/``, ``groundTruth/``) or a folder above it.
    split : {"train", "val", "test", "trainval", "all"} or sequence of them

    Raises
    ------
    LayoutError
        If ``root`` does not have the BSDS500 layout.
    FileNotFoundError
        If an image has no ground-truth file (the message names it).
    """

    def __init__(self, root, split="train"):
        self.root = find_root("bsds500", root)
        self.splits = _splits(split)
        self.items: list[tuple[str, str]] = []
        for s in self.splits:
            for image in sorted((self.root / "images" / s).glob("*.jpg")):
                gt = self.root / "groundTruth" / s / f"{image.stem}.mat"
                if not gt.is_file():
                    raise FileNotFoundError(f"BSDS500: no ground truth {gt} for image {image}")
                self.items.append((s, image.stem))
        self._pairs: list[tuple[int, int]] | None = None

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        return f"BSDS500(root={str(self.root)!r}, split={self.splits}, images={len(self)})"

    def image_path(self, index: int) -> Path:
        split, stem = self.items[index]
        return self.root / "images" / split / f"{stem}.jpg"

    def ground_truth_path(self, index: int) -> Path:
        split, stem = self.items[index]
        return self.root / "groundTruth" / split / f"{stem}.mat"

    def annotation_count(self, index: int) -> int:
        """Number of annotations of image ``index`` (from the ``.mat`` header)."""
        path = self.ground_truth_path(index)
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {path}")
        return _annotation_count(str(path), path.stat().st_mtime)

    def pairs(self) -> list[tuple[int, int]]:
        """All (image index, annotation index) pairs, the paper's evaluation samples."""
        if self._pairs is None:
            self._pairs = [
                (i, k) for i in range(len(self)) for k in range(self.annotation_count(i))
            ]
        return self._pairs

    def load(self, index: int) -> dict:
        """Image ``index`` with every annotation.

        Returns
        -------
        dict with
            image : (H, W, 3) uint8 ndarray, RGB
            segmentations : list of (H, W) int64 ndarray, labels from 1
            id, split : str

        Raises
        ------
        ValueError
            If the image or the ``.mat`` file is corrupt or their sizes differ (the
            message names the file).
        """
        image_path, gt_path = self.image_path(index), self.ground_truth_path(index)
        image = read_image(image_path)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(
                f"{image_path}: expected an 8-bit RGB image, got {image.dtype} {image.shape}"
            )
        segmentations = read_bsds_ground_truth(gt_path)
        if not segmentations:
            raise ValueError(f"{gt_path}: no annotations")
        for seg in segmentations:
            if seg.shape != image.shape[:2]:
                raise ValueError(
                    f"{gt_path}: annotation of shape {seg.shape} does not match image {image.shape[:2]}"
                )
        split, stem = self.items[index]
        return {"image": image, "segmentations": segmentations, "id": stem, "split": split}

    def load_pair(self, pair_index: int) -> dict:
        """The ``pair_index``-th (image, annotation) pair: ``image``, ``labels``, ``id``, ``annotation``."""
        index, k = self.pairs()[pair_index]
        sample = self.load(index)
        return {
            "image": sample["image"],
            "labels": sample["segmentations"][k],
            "id": sample["id"],
            "annotation": k,
        }

    def evaluation_items(self) -> list[EvaluationItem]:
        """Every image with all its annotations (no void label)."""

        def load(index: int) -> EvaluationSample:
            sample = self.load(index)
            return EvaluationSample(sample["image"], list(sample["segmentations"]))

        return [
            EvaluationItem(stem, functools.partial(load, i))
            for i, (_, stem) in enumerate(self.items)
        ]

    def segmentation_example(self, index: int, rng: np.random.Generator):
        """Image ``index`` with one annotation drawn at random (the official training input).

        Returns ``(image, labels, void)``; BSDS500 has no void label, so ``void`` is None.
        """
        sample = self.load(index)
        segs = sample["segmentations"]
        return sample["image"], segs[int(rng.integers(len(segs)))], None
