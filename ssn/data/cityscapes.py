"""Cityscapes loader (numpy): ``leftImg8bit`` images and ``gtFine`` label ids → 19 train ids.

The 34 label ids of ``*_gtFine_labelIds.png`` map to the 19 evaluation classes ("train
ids") with the official table of cityscapesScripts (``labels.py``); every other id is
void, :data:`VOID` = 255 (ignored). The SSN paper works at half resolution, 512×1024:
``scale=0.5`` (the default) resizes images with area averaging and labels with nearest
neighbour.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from ..io import read_labelled_image
from .evaluation import EvaluationItem, EvaluationSample
from .layout import find_root

__all__ = [
    "LABELS",
    "TRAIN_CLASSES",
    "VOID",
    "Cityscapes",
    "label_ids_to_train_ids",
    "resize_image",
    "resize_labels",
]

VOID = 255

#: (name, label id, train id) -- the official cityscapesScripts table; 255 = void
LABELS = (
    ("unlabeled", 0, 255), ("ego vehicle", 1, 255), ("rectification border", 2, 255),
    ("out of roi", 3, 255), ("static", 4, 255), ("dynamic", 5, 255), ("ground", 6, 255),
    ("road", 7, 0), ("sidewalk", 8, 1), ("parking", 9, 255), ("rail track", 10, 255),
    ("building", 11, 2), ("wall", 12, 3), ("fence", 13, 4), ("guard rail", 14, 255),
    ("bridge", 15, 255), ("tunnel", 16, 255), ("pole", 17, 5), ("polegroup", 18, 255),
    ("traffic light", 19, 6), ("traffic sign", 20, 7), ("vegetation", 21, 8),
    ("terrain", 22, 9), ("sky", 23, 10), ("person", 24, 11), ("rider", 25, 12),
    ("car", 26, 13), ("truck", 27, 14), ("bus", 28, 15), ("caravan", 29, 255),
    ("trailer", 30, 255), ("train", 31, 16), ("motorcycle", 32, 17), ("bicycle", 33, 18),
)  # fmt: skip

#: names of train ids 0..18
TRAIN_CLASSES = tuple(
    name for name, _, train_id in sorted(LABELS, key=lambda r: r[2]) if train_id != VOID
)

_ID_TO_TRAIN = np.full(256, VOID, dtype=np.int64)
for _name, _id, _train in LABELS:
    _ID_TO_TRAIN[_id] = _train


def label_ids_to_train_ids(label_ids: np.ndarray) -> np.ndarray:
    """Map Cityscapes label ids (0-33) to train ids (0-18, 255 = void).

    Ids outside 0-255 raise ValueError; ids 34-255 (never in the official files) are void.
    """
    label_ids = np.asarray(label_ids)
    if label_ids.size and (label_ids.min() < 0 or label_ids.max() > 255):
        raise ValueError(f"label ids must lie in 0-255, got {label_ids.min()}..{label_ids.max()}")
    return _ID_TO_TRAIN[label_ids.astype(np.intp, copy=False)]


def resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an (H, W[, C]) image to ``size`` = (height, width); area averaging when shrinking."""
    import cv2

    h, w = size
    shrink = h <= image.shape[0] and w <= image.shape[1]
    interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return cv2.resize(image, (w, h), interpolation=interpolation)


def resize_labels(labels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an (H, W) label image to ``size`` = (height, width) by nearest neighbour."""
    import cv2

    h, w = size
    dtype = labels.dtype
    work = (
        labels.astype(np.int32) if labels.dtype not in (np.uint8, np.uint16, np.int16) else labels
    )
    out = cv2.resize(work, (w, h), interpolation=cv2.INTER_NEAREST_EXACT)
    return out.astype(dtype, copy=False)


class Cityscapes:
    """Cityscapes fine-annotated frames of one split.

    Parameters
    ----------
    root : path-like
        Folder holding ``leftImg8bit/`` and ``gtFine/`` (or the folder above it).
    split : {"train", "val", "test"}
        The test split's labels are placeholders (all void).
    scale : float, keyword-only
        Resize factor; 0.5 (default) gives the paper's 512×1024, 1.0 the full 1024×2048.

    Raises
    ------
    LayoutError
        If ``root`` does not have the Cityscapes layout.
    FileNotFoundError
        If the split has no images or an image has no label file (the message names it).
    """

    def __init__(self, root, split="train", *, scale: float = 0.5):
        if not 0 < scale <= 1:
            raise ValueError(f"scale must lie in (0, 1], got {scale}")
        self.root = find_root("cityscapes", root)
        self.split = split
        self.scale = scale
        folder = self.root / "leftImg8bit" / split
        self.images = sorted(folder.glob("*/*_leftImg8bit.png"))
        if not self.images:
            raise FileNotFoundError(f"Cityscapes: no *_leftImg8bit.png images under {folder}")
        for image in self.images:
            label = self.label_path_for(image)
            if not label.is_file():
                raise FileNotFoundError(f"Cityscapes: no label file {label} for image {image}")

    def label_path_for(self, image: Path) -> Path:
        stem = image.name[: -len("_leftImg8bit.png")]
        return self.root / "gtFine" / self.split / image.parent.name / f"{stem}_gtFine_labelIds.png"

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        return f"Cityscapes(root={str(self.root)!r}, split={self.split!r}, images={len(self)}, scale={self.scale})"

    def load(self, index: int) -> dict:
        """Frame ``index``.

        Returns
        -------
        dict with
            image : (H, W, 3) uint8 ndarray (512×1024 at scale 0.5)
            label_ids : (H, W) int64, official ids 0-33
            train_ids : (H, W) int64, 0-18 or 255 (void)
            id : str, e.g. ``aachen_000000_000019``

        Raises
        ------
        ValueError
            If a file is corrupt, sizes differ or ids exceed 33 (the message names the file).
        """
        image_path = self.images[index]
        label_path = self.label_path_for(image_path)
        image, label_ids = read_labelled_image(image_path, label_path)
        if label_ids.size and (label_ids.min() < 0 or label_ids.max() > 33):
            raise ValueError(
                f"{label_path}: label ids outside 0-33 ({label_ids.min()}..{label_ids.max()})"
            )
        if self.scale != 1.0:
            size = (round(image.shape[0] * self.scale), round(image.shape[1] * self.scale))
            image = resize_image(image, size)
            label_ids = resize_labels(label_ids, size)
        return {
            "image": image,
            "label_ids": label_ids,
            "train_ids": label_ids_to_train_ids(label_ids),
            "id": image_path.name[: -len("_leftImg8bit.png")],
        }

    #: annotation values scored as nothing: the void train id (255)
    IGNORE_LABELS = (VOID,)

    def evaluation_items(self) -> list[EvaluationItem]:
        """Every frame with its train ids; 255 (void) is ignored."""

        def load(index: int) -> EvaluationSample:
            sample = self.load(index)
            return EvaluationSample(sample["image"], [sample["train_ids"]], self.IGNORE_LABELS)

        return [
            EvaluationItem(path.name[: -len("_leftImg8bit.png")], functools.partial(load, i))
            for i, path in enumerate(self.images)
        ]

    def segmentation_example(self, index: int, rng: np.random.Generator):
        """``(image, train_ids, void)`` for training patches; ``void`` = 255."""
        sample = self.load(index)
        return sample["image"], sample["train_ids"], VOID
