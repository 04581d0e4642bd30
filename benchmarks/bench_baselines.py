"""Benchmark the baseline superpixel methods: speed, realised counts, ASA and BR.

For every baseline of :func:`ssn.methods.available_methods` (all but ``ssn``):

* median milliseconds per image at K in {200, 400, 800, 1200} on the first N (20)
  BSDS500 test images (481x321) and on one Cityscapes sample downscaled by 2
  (1024x512); each image is timed ``--repeats`` times and the per-image median kept,
  then the median over images is reported (the machine is shared: medians, not means);
* the realised superpixel counts (min/mean/max over the images) at every K;
* ASA and BR at K = 400 on the BSDS500 images, Stutz protocol (4-connected boundary
  pixels on both sides of a label change, r = round(0.0025 * diagonal) = 1), averaged
  over the annotations of each image, then over the images (``ssn.metrics``).

Also timed: scikit-image's ``slic`` as one plain call (``skimage-slic-1call``), since
``slic`` in the registry re-runs scikit-image when the count is off; the SNIC/SLIC
ratios are printed against both.

Usage::

    python benchmarks/bench_baselines.py [--n-images 20] [--repeats 3]
        [--methods snic,slic,...] [--counts 200 400 800 1200] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np
from _common import DEFAULT_DATA, median_ms

from ssn.io import read_bsds_ground_truth, read_image
from ssn.methods import available_methods, load_segmenter
from ssn.metrics import evaluate_image

RAW_SLIC = "skimage-slic-1call"


def asa_br(labels, ground_truths):
    """Mean ASA and BR over the annotations (Stutz protocol)."""
    m = evaluate_image(labels, ground_truths, protocol="stutz").mean()
    return m["asa"], m["br"]


def segment_fn(method):
    if method == RAW_SLIC:
        from skimage.segmentation import slic

        def run(img, k):
            return slic(img, n_segments=k, start_label=0, channel_axis=-1)

        return run
    return load_segmenter(method)


def time_call(fn, img, k, repeats):
    """``(median ms, labels)`` of ``repeats`` calls of ``fn(img, k)``."""
    out = []
    return median_ms(lambda: out.append(fn(img, k)), repeats), out[-1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-images", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--counts", type=int, nargs="+", default=[200, 400, 800, 1200])
    parser.add_argument("--methods", default=None, help="comma-separated; default: all")
    parser.add_argument("--quality-k", type=int, default=400)
    parser.add_argument("--no-cityscapes", action="store_true")
    parser.add_argument("--json", default=None, help="write the results to this file")
    args = parser.parse_args(argv)

    methods = (
        args.methods.split(",") if args.methods else [m for m in available_methods() if m != "ssn"]
    )
    if RAW_SLIC not in methods and "slic" in methods:
        methods.append(RAW_SLIC)
    bsds = DEFAULT_DATA / "BSDS500" / "data"
    files = sorted((bsds / "images" / "test").glob("*.jpg"))[: args.n_images]
    if not files:
        sys.exit(f"no BSDS500 test images under {bsds}")
    images = [read_image(f) for f in files]
    gts = [read_bsds_ground_truth(bsds / "groundTruth" / "test" / (f.stem + ".mat")) for f in files]
    city = None
    if not args.no_cityscapes:
        cs = sorted((DEFAULT_DATA / "samples" / "Cityscapes" / "leftImg8bit").rglob("*.png"))
        if cs:
            import cv2

            full = read_image(cs[0])[..., :3]
            city = cv2.resize(
                full, (full.shape[1] // 2, full.shape[0] // 2), interpolation=cv2.INTER_AREA
            )
            print(f"Cityscapes sample: {cs[0].name} -> {city.shape[1]}x{city.shape[0]}")
    print(f"BSDS500 test images: {len(images)}; repeats {args.repeats}; K {args.counts}")

    results = {"bsds": {}, "cityscapes": {}, "quality": {}, "setup": vars(args)}
    for method in methods:
        fn = segment_fn(method)
        fn(images[0], 100)  # warm-up (numba compilation, imports)
        results["bsds"][method] = {}
        for k in args.counts:
            ms, counts, quality = [], [], []
            for img, gt in zip(images, gts, strict=True):
                t, labels = time_call(fn, img, k, args.repeats)
                ms.append(t)
                counts.append(int(labels.max()) + 1)
                if k == args.quality_k:
                    quality.append(asa_br(labels, gt))
            row = {
                "ms_median": statistics.median(ms),
                "count_min": min(counts),
                "count_mean": float(np.mean(counts)),
                "count_max": max(counts),
            }
            results["bsds"][method][k] = row
            if quality:
                q = np.mean(quality, axis=0)
                results["quality"][method] = {"k": k, "asa": float(q[0]), "br": float(q[1])}
            print(
                f"  {method:20s} K={k:5d}  {row['ms_median']:8.1f} ms  counts "
                f"{row['count_min']}/{row['count_mean']:.0f}/{row['count_max']}",
                flush=True,
            )
        if city is not None:
            results["cityscapes"][method] = {}
            for k in args.counts:
                t, labels = time_call(fn, city, k, args.repeats)
                results["cityscapes"][method][k] = {"ms": t, "count": int(labels.max()) + 1}
                print(
                    f"  {method:20s} Cityscapes K={k:5d} {t:8.1f} ms  count "
                    f"{int(labels.max()) + 1}",
                    flush=True,
                )

    # ---------------------------------------------------------------- summary tables
    print("\nMedian ms per image (BSDS500 481x321)")
    print(f"{'method':20s}" + "".join(f"{'K=' + str(k):>10s}" for k in args.counts))
    for method in methods:
        print(
            f"{method:20s}"
            + "".join(f"{results['bsds'][method][k]['ms_median']:10.1f}" for k in args.counts)
        )
    if city is not None:
        print(f"\nms per image (Cityscapes {city.shape[1]}x{city.shape[0]})")
        for method in methods:
            print(
                f"{method:20s}"
                + "".join(f"{results['cityscapes'][method][k]['ms']:10.1f}" for k in args.counts)
            )
    print("\nRealised counts on BSDS500 (min/mean/max; ratio to K)")
    for method in methods:
        cells = []
        for k in args.counts:
            r = results["bsds"][method][k]
            cells.append(
                f"{r['count_min']}/{r['count_mean']:.0f}/{r['count_max']}"
                f" ({r['count_min'] / k:.2f}-{r['count_max'] / k:.2f})"
            )
        print(f"{method:20s} " + "  ".join(cells))
    print(f"\nASA / BR at K={args.quality_k} (BSDS500, Stutz protocol, r=1, mean over annotations)")
    for method in methods:
        q = results["quality"].get(method)
        if q:
            print(f"{method:20s} ASA {q['asa']:.4f}  BR {q['br']:.4f}")
    b = results["bsds"]
    if "snic" in b:
        for ref in ("slic", RAW_SLIC):
            if ref in b:
                ratios = [b["snic"][k]["ms_median"] / b[ref][k]["ms_median"] for k in args.counts]
                print(
                    f"SNIC/{ref} time ratio: "
                    + ", ".join(f"K={k}: {r:.2f}" for k, r in zip(args.counts, ratios, strict=True))
                )
    if "ers" in b:
        print(
            "ERS ms per BSDS500 image: "
            + ", ".join(f"K={k}: {b['ers'][k]['ms_median']:.0f}" for k in args.counts)
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    return results


if __name__ == "__main__":
    main()
