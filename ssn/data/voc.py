"""Pascal VOC 2012 semantic segmentation loader (numpy): JPEG images + palette PNG classes.

Class indices 0 (background) to 20, 255 = void (object boundaries and difficult regions).
Splits are the official lists ``ImageSets/Segmentation/{train,val,trainval}.txt``
(1464 / 1449 / 2913 images).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from ..io import read_labelled_image
from .evaluation import EvaluationItem, EvaluationSample
from .layout import find_root

__all__ = ["CLASSES", "VOID", "VOC2012"]

CLASSES = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat",
    "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant",
    "sheep", "sofa", "train", "tvmonitor",
)  # fmt: skip
VOID = 255


class VOC2012:
    """Pascal VOC 2012 segmentation images of one official split.

    Parameters
    ----------
    root : path-like
        The ``VOC2012`` folder, or ``VOCdevkit`` / the folder above.
    split : {"train", "val", "trainval"}

    Raises
    ------
    LayoutError
        If ``root`` does not have the VOC layout.
    FileNotFoundError
        If the split list is missing (the message names it).
    ValueError
        If the list is empty or malformed.
    """

    def __init__(self, root, split="train"):
        self.root = find_root("voc2012", root)
        self.split = split
        listing = self.root / "ImageSets" / "Segmentation" / f"{split}.txt"
        if not listing.is_file():
            raise FileNotFoundError(f"VOC2012: no list for split {split!r}: {listing}")
        self.ids = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
        if not self.ids:
            raise ValueError(f"VOC2012: {listing} lists no images")
        bad = [i for i in self.ids if "/" in i or " " in i]
        if bad:
            raise ValueError(f"VOC2012: {listing}: malformed ids {bad[:3]}")

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return f"VOC2012(root={str(self.root)!r}, split={self.split!r}, images={len(self)})"

    def image_path(self, index: int) -> Path:
        return self.root / "JPEGImages" / f"{self.ids[index]}.jpg"

    def label_path(self, index: int) -> Path:
        return self.root / "SegmentationClass" / f"{self.ids[index]}.png"

    def load(self, index: int) -> dict:
        """Image ``index``: ``image`` (H, W, 3) uint8, ``labels`` (H, W) int64 in 0-20 or 255, ``id``.

        Raises
        ------
        FileNotFoundError
            If the image or label file is missing (the message names it).
        ValueError
            If a file is corrupt, sizes differ or labels are outside 0-20/255.
        """
        image_path, label_path = self.image_path(index), self.label_path(index)
        image, labels = read_labelled_image(image_path, label_path)
        values = np.unique(labels)
        bad = values[(values > len(CLASSES) - 1) & (values != VOID)]
        if bad.size or (values < 0).any():
            raise ValueError(f"{label_path}: labels outside 0-20 and 255: {bad.tolist()}")
        return {"image": image, "labels": labels, "id": self.ids[index]}

    #: annotation values scored as nothing: the void band around objects (255)
    IGNORE_LABELS = (VOID,)

    def evaluation_items(self) -> list[EvaluationItem]:
        """Every image with its class labels; 255 (void) is ignored."""

        def load(index: int) -> EvaluationSample:
            sample = self.load(index)
            return EvaluationSample(
                sample["image"], [sample["labels"]], self.IGNORE_LABELS, void_boundaries="fill"
            )

        return [EvaluationItem(id_, functools.partial(load, i)) for i, id_ in enumerate(self.ids)]

    def segmentation_example(self, index: int, rng: np.random.Generator):
        """``(image, labels, void)`` for training patches; ``void`` = 255."""
        sample = self.load(index)
        return sample["image"], sample["labels"], VOID
