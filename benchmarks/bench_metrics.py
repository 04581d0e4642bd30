"""Time all metrics of one 481x321 BSDS500 image against all of its annotations.

Usage: ``python benchmarks/bench_metrics.py [--image-id 101084] [--repeats 30]``

The superpixels come from scikit-image SLIC (about 400 segments; not timed). The
timed call is :func:`ssn.metrics.evaluate_image` (ASA, BR, BP, UE for every
annotation, plus CO and EV), once per protocol, and EPE on a synthetic flow field of
the same size. Prints the median and the quartiles in milliseconds; the target is
under 100 ms for all metrics of one image. Timings on a shared machine are noisy, so
the median of many repeats is reported.
"""

from __future__ import annotations

import argparse
import statistics
import sys

import numpy as np
from _common import DEFAULT_DATA, times_ms

from ssn.io import read_bsds_ground_truth, read_image
from ssn.metrics import evaluate_image, flow_endpoint_error


def report(name: str, times: list[float]) -> float:
    q1, median, q3 = statistics.quantiles(times, n=4)
    print(
        f"{name:<44} median {median:7.2f} ms   "
        f"(quartiles {q1:.2f} - {q3:.2f}, min {min(times):.2f})"
    )
    return median


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-id", default="101084")  # 6 annotations
    parser.add_argument("--split", default="test")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--n-segments", type=int, default=400)
    args = parser.parse_args(argv)

    from skimage.segmentation import slic

    bsds = DEFAULT_DATA / "BSDS500" / "data"
    image = read_image(bsds / "images" / args.split / f"{args.image_id}.jpg")
    annotations = read_bsds_ground_truth(bsds / "groundTruth" / args.split / f"{args.image_id}.mat")
    labels = slic(image, n_segments=args.n_segments, start_label=0)
    flow = np.random.default_rng(0).normal(size=image.shape[:2] + (2,)).astype(np.float32)
    print(
        f"BSDS500 {args.image_id}: {image.shape[1]}x{image.shape[0]}, "
        f"{len(annotations)} annotations, {np.unique(labels).size} superpixels, "
        f"{args.repeats} repeats"
    )
    medians = {}
    for protocol in ("stutz", "ssn"):
        medians[protocol] = report(
            f"evaluate_image ({protocol}, all annotations, EV)",
            times_ms(
                lambda p=protocol: evaluate_image(labels, annotations, image=image, protocol=p),
                args.repeats,
                warm_up=True,
            ),
        )
    medians["epe"] = report(
        "flow_endpoint_error",
        times_ms(lambda: flow_endpoint_error(labels, flow), args.repeats, warm_up=True),
    )
    total = max(medians["stutz"], medians["ssn"]) + medians["epe"]
    print(f"all metrics of one image (one protocol + EPE): {total:.1f} ms (target < 100 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
