"""Segment an image into superpixels with SSN or a baseline method.

Writes the labels as a 16-bit PNG or a .npy array and, on request, an image with the
superpixel boundaries drawn over the input.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ssn.commands import same_file
from ssn.io import read_image, write_label_image
from ssn.methods import load_segmenter


class _ListMethods(argparse.Action):
    """``--list-methods``: print the method names and exit (no other argument needed)."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        from ssn.methods import available_methods, get_method

        print("\n".join(f"{name:12} {get_method(name).summary}" for name in available_methods()))
        parser.exit(0)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--list-methods", action=_ListMethods, help="list the segmentation methods and exit"
    )
    parser.add_argument("image", type=Path, help="input image (PNG, JPEG, ...)")
    parser.add_argument(
        "--n-segments", "-k", type=int, required=True, help="requested number of superpixels"
    )
    parser.add_argument(
        "--method",
        default="ssn",
        help="'ssn' (default) or a baseline name (see `ssn segment --list-methods`)",
    )
    parser.add_argument(
        "--model",
        default=None,
        help="SSN feature network: pix, linear, deep, a paper model (official-bsds500, "
        "official-cityscapes, official-voc2012, official-sintel; see `ssn models`) or a "
        "checkpoint path (default: pix); for --method seal: bsds500 (default), cityscapes "
        "or a state-dict path",
    )
    parser.add_argument("--n-iter", type=int, default=10, help="SLIC iterations (default 10)")
    parser.add_argument(
        "--connectivity",
        choices=("largest", "official", "none"),
        default="largest",
        help="connectivity post-processing of SSN labels (default: largest)",
    )
    parser.add_argument(
        "--next-frame",
        type=Path,
        default=None,
        help="the following frame, for a flow model trained on Sintel frame pairs",
    )
    parser.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    parser.add_argument(
        "--precision",
        choices=("auto", "float32", "bfloat16"),
        default="auto",
        help="what an SSN feature network computes in; SLIC stays float32 (default: auto, "
        "bfloat16 where the CPU or GPU computes it natively, else float32)",
    )
    parser.add_argument(
        "--out", "-o", type=Path, required=True, help="output labels: .png (16-bit) or .npy"
    )
    parser.add_argument(
        "--overlay", type=Path, default=None, help="also write the boundaries over the image"
    )


def write_overlay(path: Path, image: np.ndarray, labels: np.ndarray) -> None:
    """Save ``image`` with the superpixel boundaries of ``labels`` in yellow."""
    from PIL import Image
    from skimage.segmentation import mark_boundaries

    from ssn.validation import as_rgb_float

    drawn = mark_boundaries(as_rgb_float(image), labels, color=(1, 1, 0))
    Image.fromarray((np.clip(drawn, 0, 1) * 255).round().astype(np.uint8)).save(path)


def check_outputs(image: Path, out: Path, overlay: Path | None) -> None:
    """Refuse output paths that would fail after segmenting, or overwrite an input or
    each other (``--out`` equal to ``--overlay`` lost the labels).

    Raises
    ------
    ValueError
        For a wrong suffix, a missing folder or two equal paths (the message names the
        options and the fix).
    """
    from PIL import Image

    if out.suffix.lower() not in (".png", ".npy"):
        raise ValueError(f"--out must end in .png or .npy, got {out.name!r}")
    if overlay is not None and overlay.suffix.lower() not in Image.registered_extensions():
        raise ValueError(
            f"--overlay {overlay.name!r} has no image suffix Pillow can write (e.g. .png)"
        )
    for option, path in (("--out", out), ("--overlay", overlay)):
        if path is not None and not path.parent.is_dir():
            raise ValueError(
                f"{option} {path}: the folder {path.parent} does not exist; create it first"
            )
        if path is not None and same_file(path, image):
            raise ValueError(
                f"{option} {path} is the input image; it would be overwritten, give another path"
            )
    if overlay is not None and same_file(out, overlay):
        raise ValueError(
            f"--out and --overlay are the same file ({out}); the overlay would replace the "
            "labels, give two paths"
        )


def _method_settings(method: str, **given) -> dict:
    """The options given (not None) that ``method`` takes.

    Raises
    ------
    ValueError
        If an option is given that the method does not take (``--model`` for SLIC).
    """
    from ssn.methods import get_method

    params = get_method(method).params
    for name, value in given.items():
        if value is not None and name not in params:
            raise ValueError(
                f"--{name} is not an option of method {method!r} "
                f"(its parameters: {', '.join(params) or 'none'})"
            )
    return {name: value for name, value in given.items() if value is not None}


def run(args: argparse.Namespace) -> int:
    check_outputs(args.image, args.out, args.overlay)
    settings = {}
    if args.method == "ssn":  # the SSN options; a baseline runs with its defaults
        settings = {"model": args.model or "pix", "n_iter": args.n_iter,
                    "connectivity": args.connectivity, "device": args.device,
                    "precision": args.precision}  # fmt: skip
    else:  # a method with a model (seal) takes --model and --device too
        settings = _method_settings(args.method, model=args.model, device=args.device)
    segmenter = load_segmenter(args.method, **settings)
    image = read_image(args.image)
    next_frame = None if args.next_frame is None else read_image(args.next_frame)
    labels = segmenter(image, args.n_segments, next_frame)
    write_label_image(args.out, labels)
    if args.overlay is not None:
        write_overlay(args.overlay, image, labels)
    print(
        f"{args.image}: {int(labels.max()) + 1} superpixels "
        f"(requested {args.n_segments}, method {args.method}"
        + (f", {segmenter.precision}" if segmenter.precision else "")
        + f") -> {args.out}"
    )
    return 0
