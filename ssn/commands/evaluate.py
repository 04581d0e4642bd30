"""Evaluate superpixels against a ground truth: ASA, BR, BP, UE, CO, EV, or flow EPE.

PRED is a 16-bit PNG or .npy label image. GT is a BSDS500 .mat file (every annotation
is evaluated), a label PNG/.npy (one annotation), or a Middlebury .flo flow field, in
which case the flow end-point error of the per-superpixel mean flow is reported.
Prints one row per annotation, then the mean over annotations and the best and worst
annotation; the boundary protocol and tolerance are printed with every result.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ssn.io import read_bsds_ground_truth, read_flo, read_image, read_label_image
from ssn.metrics import (
    ANNOTATION_METRICS,
    PROTOCOLS,
    compactness,
    evaluate_image,
    flow_endpoint_error,
    get_protocol,
    n_superpixels,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pred", required=True, type=Path, help="superpixel labels (.png, .npy)")
    parser.add_argument(
        "--gt",
        required=True,
        type=Path,
        help="ground truth: BSDS500 .mat, label .png/.npy, or .flo flow (EPE)",
    )
    parser.add_argument(
        "--protocol",
        choices=sorted(PROTOCOLS),
        default="stutz",
        help="boundary protocol: stutz (default; both sides of a label change, "
        "r = round(0.0025 * diagonal)) or ssn (SEAL: right/bottom neighbour, r = 1)",
    )
    parser.add_argument(
        "--tolerance", type=int, default=None, metavar="R", help="boundary tolerance in pixels"
    )
    parser.add_argument("--image", type=Path, default=None, help="the image, for EV")
    parser.add_argument(
        "--ignore-label",
        type=int,
        action="append",
        default=[],
        metavar="ID",
        help="ground-truth id left out of ASA (repeatable), e.g. 255 for Pascal VOC",
    )
    parser.add_argument(
        "--void-boundaries",
        choices=("keep", "fill"),
        default="keep",
        help="ground-truth boundaries next to ignored ids: as annotated (keep), or with the "
        "ignored pixels filled from their nearest label first (fill; Pascal VOC's void band)",
    )
    parser.add_argument(
        "--invalid",
        type=Path,
        default=None,
        metavar="MASK",
        help="for .flo ground truth: mask image, non-zero where the flow is invalid",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _check_shape(pred: np.ndarray, other: np.ndarray, pred_path: Path, other_path: Path) -> None:
    if pred.shape[:2] != other.shape[:2]:
        raise ValueError(
            f"{pred_path} is {pred.shape[1]}x{pred.shape[0]} but {other_path} is "
            f"{other.shape[1]}x{other.shape[0]} (width x height); they must match"
        )


def _check_not_empty(arr: np.ndarray, path: Path) -> None:
    if arr.size == 0:
        raise ValueError(f"{path} is an empty image (shape {arr.shape})")


def _flow_result(args, labels: np.ndarray) -> dict:
    flow = read_flo(args.gt)
    _check_shape(labels, flow, args.pred, args.gt)
    valid = None
    if args.invalid is not None:
        mask = read_image(args.invalid)
        _check_shape(labels, mask, args.pred, args.invalid)
        valid = ~np.any(mask.reshape(*mask.shape[:2], -1) != 0, axis=-1)
    proto = get_protocol(args.protocol)
    return {
        "pred": str(args.pred),
        "gt": str(args.gt),
        "protocol": proto.to_dict(),
        "n_superpixels": n_superpixels(labels),
        "co": compactness(labels),
        "epe": flow_endpoint_error(labels, flow, valid=valid),
    }


def _segmentation_result(args, labels: np.ndarray) -> dict:
    if args.gt.suffix.lower() == ".mat":
        annotations = read_bsds_ground_truth(args.gt)
    else:
        annotations = [read_label_image(args.gt)]
    if not annotations:
        raise ValueError(f"{args.gt} holds no annotation")
    for gt in annotations:
        _check_not_empty(gt, args.gt)
        _check_shape(labels, gt, args.pred, args.gt)
    image = None
    if args.image is not None:
        image = read_image(args.image)
        _check_not_empty(image, args.image)
        _check_shape(labels, image, args.pred, args.image)
    result = evaluate_image(
        labels,
        annotations,
        image=image,
        protocol=args.protocol,
        tolerance=args.tolerance,
        ignore_labels=args.ignore_label,
        void_boundaries=args.void_boundaries,
    )
    return {"pred": str(args.pred), "gt": str(args.gt), **result.to_dict()}


def _print_table(result: dict) -> None:
    protocol = result["protocol"]
    tolerance = protocol.get("tolerance")
    line = f"protocol: {protocol['name']} ({protocol['boundary']})"
    print(line if tolerance is None else f"{line}, tolerance r = {tolerance}")
    print(f"superpixels: {result['n_superpixels']}  CO: {result['co']:.4f}", end="")
    if "epe" in result:
        print(f"  EPE: {result['epe']:.4f}")
        return
    ev = result["ev"]
    print("  EV: " + ("n/a (no --image)" if ev is None else f"{ev:.4f}"))
    header = f"{'annotation':>10}" + "".join(f"{m.upper():>9}" for m in ANNOTATION_METRICS)
    print(header)
    rows = [(str(k + 1), row) for k, row in enumerate(result["per_annotation"])]
    rows += [(name, result[name]) for name in ("mean", "best", "worst")]
    for name, row in rows:
        print(f"{name:>10}" + "".join(f"{row[m]:9.4f}" for m in ANNOTATION_METRICS))


def run(args: argparse.Namespace) -> int:
    labels = read_label_image(args.pred)
    _check_not_empty(labels, args.pred)
    if args.gt.suffix.lower() == ".flo":
        result = _flow_result(args, labels)
    else:
        result = _segmentation_result(args, labels)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print_table(result)
    return 0
