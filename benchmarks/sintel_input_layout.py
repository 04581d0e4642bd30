"""Evidence for the input layout of the paper's released Sintel model (15 channels).

Usage: ``python benchmarks/sintel_input_layout.py [--k 300 1000]``

Three sources, printed in turn:

1. The network definition stored in the ``.caffemodel`` itself (Caffe saves the whole
   ``NetParameter``): the layers before ``Convolution1`` and their bottoms.
2. The weights of the first convolution: per-input-channel norms. Inputs that are
   always 0 receive no gradient and keep their Gaussian init (std 0.001); two inputs
   that always hold the same values receive equal gradients, so their weights differ
   only by the init's difference (norm ≈ √(2·576)·0.001 = 0.034).
3. The data: flow EPE on the Sintel samples (ground truth 0002 → 0003) of the
   superpixels of frame 0002 under candidate second frames, beside SSN_pix and SLIC.

Needs ``$SSN_WEIGHTS`` (or ``../shared/weights/ssn_official``) and ``$SSN_DATA``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from _common import DEFAULT_DATA, DEFAULT_WEIGHTS

import ssn
from ssn.caffe import _fields, convert, read_caffemodel
from ssn.io import read_flo, read_image
from ssn.methods import load_segmenter
from ssn.metrics import flow_endpoint_error

MODEL_FILE = "ssn_sintel_model.caffemodel"
INIT_STD = 0.001


def network_definition(path: Path) -> list[str]:
    """``name (type) <- bottoms`` of every layer up to ``Convolution1``."""
    lines = []
    for field, _, layer in _fields(memoryview(path.read_bytes())):
        if field != 100:
            continue
        entries: dict[int, list[str]] = {}
        for number, wire, value in _fields(layer):
            if wire == 2 and number in (1, 2, 3):
                entries.setdefault(number, []).append(bytes(value).decode())
        name, kind = entries[1][0], entries[2][0]
        if kind != "Split":
            lines.append(f"{name} ({kind}) <- {', '.join(entries.get(3, [])) or '-'}")
        if name == "Convolution1":
            return lines
    return lines


def conv1_evidence(path: Path) -> None:
    layers = {layer.name: layer for layer in read_caffemodel(path)}
    w = layers["Convolution1"].blobs[0]
    norms = np.sqrt((w**2).sum(axis=(0, 2, 3)))
    names = [f"{part}{frame}" for frame in ("1", "2", "Δ") for part in ("y", "x", "L", "a", "b")]
    print("conv1 weight norm per input channel (layout [XYLab1, XYLab2, XYLab1 - XYLab2]):")
    print("  " + "  ".join(f"{n}={v:.3f}" for n, v in zip(names, norms, strict=True)))
    print(f"  std of yΔ, xΔ weights: {w[:, 10].std():.5f}, {w[:, 11].std():.5f} (init {INIT_STD})")
    init_diff = np.sqrt(2 * w[:, 0].size) * INIT_STD
    for a, b in ((0, 5), (1, 6)):
        print(
            f"  |W[{names[a]}] - W[{names[b]}]| = {np.linalg.norm(w[:, a] - w[:, b]):.4f} "
            f"(init difference {init_diff:.4f}; |W[{names[a]}]| = {np.linalg.norm(w[:, a]):.3f})"
        )


def frame(scene: str, pass_: str, index: int) -> np.ndarray:
    name = f"{pass_}/{scene}/frame_{index:04d}.png"
    for root in (DEFAULT_DATA / "samples" / "MPI-Sintel" / "training",
                 DEFAULT_DATA / "sintel_extra_frames" / "training"):  # fmt: skip
        if (root / name).is_file():
            return read_image(root / name)
    raise FileNotFoundError(f"no Sintel frame {name} under {DEFAULT_DATA}")


def epe_table(ks: list[int]) -> None:
    net = convert(DEFAULT_WEIGHTS / MODEL_FILE)
    candidates = {"next (0003)": 3, "previous (0001)": 1, "two ahead (0004)": 4, "same (0002)": 2}
    print("\nflow EPE of frame 0002's superpixels (ground truth 0002 -> 0003):")
    header = ["K", "pass", "scene", "SLIC", "SSN_pix", *[f"paper, 2nd = {c}" for c in candidates]]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    flows = {}
    for k in ks:
        for pass_ in ("clean", "final"):
            for scene in ("alley_1", "cave_2"):
                flow = flows.setdefault(scene, read_flo(
                    DEFAULT_DATA / "samples" / "MPI-Sintel" / "training" / "flow" / scene
                    / "frame_0002.flo"))  # fmt: skip
                image = frame(scene, pass_, 2)
                row = [
                    flow_endpoint_error(load_segmenter("slic")(image, k), flow),
                    flow_endpoint_error(ssn.segment(image, k, device="cpu"), flow),
                ]
                for index in candidates.values():
                    labels = ssn.segment(image, k, model=net, next_frame=frame(scene, pass_, index),
                                         device="cpu")  # fmt: skip
                    row.append(flow_endpoint_error(labels, flow))
                print(f"| {k} | {pass_} | {scene} | " + " | ".join(f"{v:.3f}" for v in row) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, nargs="+", default=[300, 1000])
    args = parser.parse_args()
    path = DEFAULT_WEIGHTS / MODEL_FILE
    print(f"network definition stored in {path.name}, up to the first convolution:")
    for line in network_definition(path):
        print("  " + line)
    conv1_evidence(path)
    epe_table(args.k)


if __name__ == "__main__":
    main()
