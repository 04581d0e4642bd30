"""Expected folder layouts of the four datasets, finding a dataset's root, counting files.

A folder given by a user may be the dataset root itself or a folder above it (the
extracted archive, the ``VOCdevkit`` folder, ...): :func:`find_root` tries the known
sub-paths and, when none fits, raises a :class:`LayoutError` that shows the expected
layout and what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["LAYOUTS", "Layout", "LayoutError", "check_counts", "count_files", "find_root"]


class LayoutError(ValueError):
    """A dataset folder does not have the expected layout (message shows the layout)."""


@dataclass(frozen=True)
class Layout:
    """Where a dataset's root may sit below a given folder, and what must be inside it."""

    name: str
    #: sub-paths (tried in order) of a given folder at which the root may be
    candidates: tuple[str, ...]
    #: folders that must exist below the root
    required: tuple[str, ...]
    #: the expected layout, shown in error messages
    tree: str


LAYOUTS: dict[str, Layout] = {
    "bsds500": Layout(
        "bsds500",
        (".", "data", "BSDS500/data", "BSR/BSDS500/data"),
        tuple(
            f"{kind}/{split}"
            for kind in ("images", "groundTruth")
            for split in ("train", "val", "test")
        ),
        """\
<root>/                      (BSR/BSDS500/data in BSR_bsds500.tgz)
  images/{train,val,test}/<id>.jpg          200 / 100 / 200 images
  groundTruth/{train,val,test}/<id>.mat     one .mat (1xK cell 'groundTruth') per image""",
    ),
    "voc2012": Layout(
        "voc2012",
        (".", "VOC2012", "VOCdevkit/VOC2012"),
        ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"),
        """\
<root>/                      (VOCdevkit/VOC2012 in VOCtrainval_11-May-2012.tar)
  JPEGImages/<id>.jpg
  SegmentationClass/<id>.png                palette PNG, index = class 0-20, 255 = void
  ImageSets/Segmentation/{train,val,trainval}.txt   one <id> per line""",
    ),
    "cityscapes": Layout(
        "cityscapes",
        (".", "cityscapes", "Cityscapes"),
        ("leftImg8bit", "gtFine"),
        """\
<root>/                      (leftImg8bit_trainvaltest.zip + gtFine_trainvaltest.zip, extracted together)
  leftImg8bit/{train,val,test}/<city>/<city>_<seq>_<frame>_leftImg8bit.png
  gtFine/{train,val,test}/<city>/<city>_<seq>_<frame>_gtFine_labelIds.png""",
    ),
    "sintel": Layout(
        "sintel",
        (".", "MPI-Sintel", "MPI-Sintel-complete"),
        ("training/clean", "training/final", "training/flow", "training/invalid"),
        """\
<root>/                      (MPI-Sintel-complete.zip)
  training/{clean,final}/<scene>/frame_%04d.png   1024x436 RGB
  training/flow/<scene>/frame_%04d.flo            flow from frame i to i+1 (Middlebury .flo)
  training/invalid/<scene>/frame_%04d.png         255 = invalid flow
  training/occlusions/<scene>/frame_%04d.png      (optional) 255 = occluded""",
    ),
}


def _layout(name: str) -> Layout:
    try:
        return LAYOUTS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(sorted(LAYOUTS))}") from None


def find_root(name: str, folder) -> Path:
    """Return the dataset root at or below ``folder`` (see :data:`LAYOUTS`).

    Raises
    ------
    LayoutError
        If no candidate sub-path of ``folder`` holds the required folders; the message
        shows the expected layout and what is missing.
    """
    layout = _layout(name)
    folder = Path(folder)
    if not folder.is_dir():
        raise LayoutError(f"{name}: no such folder: {folder}\nexpected layout:\n{layout.tree}")
    for candidate in layout.candidates:
        root = (folder / candidate) if candidate != "." else folder
        if all((root / sub).is_dir() for sub in layout.required):
            return root
    missing = [sub for sub in layout.required if not (folder / sub).is_dir()]
    tried = ", ".join(c for c in layout.candidates if c != ".")
    raise LayoutError(
        f"{name}: {folder} does not have the expected layout (missing {', '.join(missing)}; "
        f"also looked in its sub-folders {tried}).\nexpected layout:\n{layout.tree}"
    )


def count_files(root, patterns) -> dict[str, int]:
    """Count files under ``root`` matching each glob pattern."""
    root = Path(root)
    return {pattern: sum(1 for p in root.glob(pattern) if p.is_file()) for pattern in patterns}


def check_counts(name: str, root, expect: dict[str, int]) -> dict[str, int]:
    """Check that ``root`` holds exactly ``expect[pattern]`` files for each glob pattern.

    Returns the counts. Raises LayoutError listing every mismatch and the expected layout.
    """
    counts = count_files(root, expect)
    wrong = [f"{p}: expected {n}, found {counts[p]}" for p, n in expect.items() if counts[p] != n]
    if wrong:
        raise LayoutError(
            f"{name}: wrong number of files under {root}:\n  "
            + "\n  ".join(wrong)
            + f"\nexpected layout:\n{_layout(name).tree}"
        )
    return counts
