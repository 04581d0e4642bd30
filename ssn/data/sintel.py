"""MPI-Sintel loader (numpy): frame pairs of the clean/final pass, ``.flo`` flow, invalid masks.

A sample is the pair (frame i, frame i+1) of a scene with the ground-truth flow
``flow/<scene>/frame_i.flo`` from i to i+1 and its masks. The 23 training scenes are
split 18 / 5 (836 / 205 pairs) as in :data:`SPLITS`, stated in ``config/datasets.yaml``
(the SSN paper gives the counts, not the names; see the comment there).
"""

from __future__ import annotations

import functools
from pathlib import Path

from ..io import read_flo, read_image, read_label_image
from .evaluation import EvaluationItem, EvaluationSample
from .layout import find_root

__all__ = ["PASSES", "SPLITS", "TRAINING_SCENES", "Sintel"]

PASSES = ("clean", "final")

#: the 23 scenes of MPI-Sintel's training set
TRAINING_SCENES = (
    "alley_1", "alley_2", "ambush_2", "ambush_4", "ambush_5", "ambush_6", "ambush_7",
    "bamboo_1", "bamboo_2", "bandage_1", "bandage_2", "cave_2", "cave_4", "market_2",
    "market_5", "market_6", "mountain_1", "shaman_2", "shaman_3", "sleeping_1",
    "sleeping_2", "temple_2", "temple_3",
)  # fmt: skip

_VAL = ("ambush_6", "bamboo_2", "cave_4", "market_6", "temple_2")
#: 18 training / 5 validation scenes (836 / 205 pairs); mirrors config/datasets.yaml
SPLITS = {"train": tuple(s for s in TRAINING_SCENES if s not in _VAL), "val": _VAL}


class Sintel:
    """MPI-Sintel training frame pairs with flow.

    Parameters
    ----------
    root : path-like
        Folder holding ``training/`` (or the folder above it).
    split : {"train", "val", "all"} or sequence of scene names
        ``"train"``/``"val"`` are :data:`SPLITS`; ``"all"`` the scenes present.
    pass_ : {"clean", "final"} or sequence of them, keyword-only
        Render pass(es); with both, every pair appears once per pass.
    missing : {"error", "skip"}, keyword-only
        What to do with scenes of the split that are absent (the samples hold only two).

    Raises
    ------
    LayoutError
        If ``root`` does not have the Sintel layout.
    FileNotFoundError
        If a scene is missing (``missing="error"``) or a pair lacks a frame or its
        invalid mask (the message names the file).
    """

    def __init__(self, root, split="train", *, pass_="clean", missing: str = "error"):
        self.root = find_root("sintel", root)
        training = self.root / "training"
        passes = (pass_,) if isinstance(pass_, str) else tuple(pass_)
        if not passes or any(p not in PASSES for p in passes):
            raise ValueError(f"pass_ must be 'clean', 'final' or both, got {pass_!r}")
        if missing not in ("error", "skip"):
            raise ValueError(f"missing must be 'error' or 'skip', got {missing!r}")
        if isinstance(split, str):
            if split == "all":
                scenes = tuple(sorted(p.name for p in (training / "flow").iterdir() if p.is_dir()))
            elif split in SPLITS:
                scenes = SPLITS[split]
            else:
                raise ValueError(
                    f"split must be 'train', 'val', 'all' or a list of scenes, got {split!r}"
                )
        else:
            scenes = tuple(split)
        absent = [s for s in scenes if not (training / "flow" / s).is_dir()]
        if absent and missing == "error":
            raise FileNotFoundError(
                f"Sintel: scenes {absent} of split {split!r} missing under {training / 'flow'} "
                "(missing='skip' uses the scenes present)"
            )
        self.scenes = tuple(s for s in scenes if s not in absent)
        self.passes = passes
        self.pairs: list[tuple[str, str, int]] = []  # (pass, scene, frame number)
        for p in passes:
            for scene in self.scenes:
                for flo in sorted((training / "flow" / scene).glob("frame_*.flo")):
                    frame = int(flo.stem.split("_")[1])
                    for needed in (
                        self._frame(p, scene, frame),
                        self._frame(p, scene, frame + 1),
                        self._mask("invalid", scene, frame),
                    ):
                        if not needed.is_file():
                            raise FileNotFoundError(f"Sintel: missing {needed} (pair of {flo})")
                    self.pairs.append((p, scene, frame))

    def _frame(self, pass_: str, scene: str, frame: int) -> Path:
        return self.root / "training" / pass_ / scene / f"frame_{frame:04d}.png"

    def _mask(self, kind: str, scene: str, frame: int) -> Path:
        return self.root / "training" / kind / scene / f"frame_{frame:04d}.png"

    def flow_path(self, index: int) -> Path:
        _, scene, frame = self.pairs[index]
        return self.root / "training" / "flow" / scene / f"frame_{frame:04d}.flo"

    def __len__(self) -> int:
        return len(self.pairs)

    def __repr__(self) -> str:
        return f"Sintel(root={str(self.root)!r}, scenes={len(self.scenes)}, passes={self.passes}, pairs={len(self)})"

    def evaluation_items(self) -> list[EvaluationItem]:
        """Every frame pair: the first frame, the next one and the flow where it is valid."""

        def load(index: int) -> EvaluationSample:
            s = self.load(index)
            return EvaluationSample(
                s["image1"], next_frame=s["image2"], flow=s["flow"], valid=~s["invalid"]
            )

        return [
            EvaluationItem(f"{p}_{scene}_{frame:04d}", functools.partial(load, i))
            for i, (p, scene, frame) in enumerate(self.pairs)
        ]

    def load(self, index: int) -> dict:
        """Pair ``index``.

        Returns
        -------
        dict with
            image1, image2 : (H, W, 3) uint8 ndarray (436×1024)
            flow : (H, W, 2) float32, (u, v) from image1 to image2
            invalid : (H, W) bool, True where the flow is not valid
            occlusion : (H, W) bool or None when the dataset has no occlusion masks
            scene, pass, frame

        Raises
        ------
        ValueError
            If a file is corrupt or the sizes differ (the message names the file).
        """
        pass_, scene, frame = self.pairs[index]
        images = []
        for n in (frame, frame + 1):
            path = self._frame(pass_, scene, n)
            image = read_image(path)
            if image.ndim != 3 or image.shape[2] != 3:
                raise ValueError(f"{path}: expected an RGB image, got shape {image.shape}")
            images.append(image)
        shape = images[0].shape[:2]
        flow_path = self.flow_path(index)
        flow = read_flo(flow_path)
        if flow.shape[:2] != shape or images[1].shape[:2] != shape:
            raise ValueError(
                f"{flow_path}: flow {flow.shape[:2]} and frames {shape} differ in size"
            )
        masks = {}
        for kind in ("invalid", "occlusions"):
            path = self._mask(kind, scene, frame)
            if kind == "occlusions" and not path.is_file():
                masks[kind] = None
                continue
            mask = read_label_image(path)
            if mask.shape != shape:
                raise ValueError(f"{path}: mask {mask.shape} does not match the frames {shape}")
            masks[kind] = mask > 0
        return {
            "image1": images[0],
            "image2": images[1],
            "flow": flow,
            "invalid": masks["invalid"],
            "occlusion": masks["occlusions"],
            "scene": scene,
            "pass": pass_,
            "frame": frame,
        }
