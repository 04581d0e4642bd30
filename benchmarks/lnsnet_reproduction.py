"""LNSNet with the authors' BSDS500 weights against their reported ASA (0.962 at K = 100).

Two parts, each stored in the JSON file (``--json``, merged with what is there), and the
Markdown table rebuilt from all of it (``--out``):

``reproduction``
    The ``lnsnet`` method (``ssn.methods``) at K on the BSDS500 test images, in the
    authors' configuration and with each of our choices changed once: ASA with every
    human annotation a separate sample (the SEAL evaluator's protocol, as
    ``workflow/scripts/evaluate.py``), ASA of each image's best annotation, BR (SEAL's
    boundary definition, tolerance 1), the realised count and the time per image. The
    other methods of the authors' table (SNIC, LSC, ERS, SSN) are scored the same way
    from the committed reference run (``results/reference/tables/all_results.csv.gz``), which
    calibrates the comparison with their evaluation.
``assignment``
    Dense (every pixel against every seed) against local (the seeds of the 3×3 or 5×5
    cells around the pixel's own) on the network's features: the share of pixels with
    the same arg-max and the time of each, at several K.

    python benchmarks/lnsnet_reproduction.py reproduction [--images 200] [--k 100]
    python benchmarks/lnsnet_reproduction.py assignment [--images 50] [--ks 100 400 1200]
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path

from _common import REPO, arguments, parse

#: the authors' table (their README's pics/results.png): ASA at 100 superpixels,
#: BSDS500 test, 481 × 321
AUTHORS_ASA = {"lnsnet": 0.962, "snic": 0.943, "lsc": 0.953, "ers": 0.953, "ssn": 0.970}
#: our runs of the authors' other rows, in the committed reference run
REFERENCE_METHODS = {"snic": "snic", "lsc": "lsc", "ers": "ers", "ssn": "ssn_deep_paper"}
#: the lnsnet variants: the authors' configuration, then one choice changed at a time
AUTHORS = {"assignment": "dense", "centres": "official", "connectivity": "official"}
VARIANTS = {
    "authors": AUTHORS,
    "local 3x3": {**AUTHORS, "assignment": "local"},
    "centred seeds": {**AUTHORS, "centres": "centred"},
    "largest piece": {**AUTHORS, "connectivity": "largest"},
    "no connectivity": {**AUTHORS, "connectivity": "none"},
}
WHAT = {
    "authors": "dense assignment, the authors' seed centres, scikit-image SLIC's "
    "connectivity post-processing (as their demo)",
    "local 3x3": "assignment to the seeds of the 3×3 cells around the pixel's",
    "centred seeds": "seeds shifted from the cells' true centres (not half a width off)",
    "largest piece": "connectivity: each label keeps its largest piece, the rest merged",
    "no connectivity": "the raw arg-max labels",
}


def _environment(threads: int) -> dict:
    import torch

    from ssn.devices import cpu_model

    return {"cpu": cpu_model(), "threads": threads, "torch": torch.__version__,
            "python": platform.python_version()}  # fmt: skip


def reproduction(args) -> dict:
    import numpy as np
    from tqdm import tqdm

    from ssn.data import BSDS500
    from ssn.methods import load_segmenter
    from ssn.metrics import evaluate_image

    items = BSDS500(args.data / "BSDS500" / "data", split="test").evaluation_items()
    items = items[: args.images]
    samples = [item.load() for item in items]
    results = {}
    for name, params in VARIANTS.items():
        segmenter = load_segmenter("lnsnet", model=args.model, device="cpu", **params)
        segmenter(samples[0].image, args.k)  # warm-up: numba compilation, allocations
        asa, best, br, counts, times = [], [], [], [], []
        for sample in tqdm(samples, desc=name, unit="image", leave=False):
            start = time.perf_counter()
            labels = segmenter(sample.image, args.k)
            times.append((time.perf_counter() - start) * 1e3)
            evaluation = evaluate_image(labels, sample.annotations, protocol="ssn")
            per = [row["asa"] for row in evaluation.per_annotation]
            asa += per
            best.append(max(per))
            br += [row["br"] for row in evaluation.per_annotation]
            counts.append(evaluation.n_superpixels)
        results[name] = {"params": params, "asa": float(np.mean(asa)),
                         "asa_best": float(np.mean(best)), "br": float(np.mean(br)),
                         "n_superpixels": float(np.mean(counts)),
                         "time_ms": statistics.median(times), "n_pairs": len(asa)}  # fmt: skip
        print(name, {k: v for k, v in results[name].items() if k != "params"}, flush=True)
    return {"k": args.k, "images": len(samples), "variants": results,
            "calibration": calibration(args.reference, args.k, len(samples))}  # fmt: skip


def calibration(path: Path, k: int, n_images: int) -> dict:
    """ASA (pairs, best annotation) of the authors' other rows in the reference run."""
    import pandas as pd

    if not path.is_file():
        return {}
    table = pd.read_csv(path, dtype={"image": str}, low_memory=False)
    table = table[(table.dataset == "bsds500") & (table.k == k) & (table.protocol == "ssn")]
    out = {}
    for name, method in REFERENCE_METHODS.items():
        rows = table[table.method == method]
        images = sorted(rows.image.unique())[:n_images]
        rows = rows[rows.image.isin(images)]
        out[name] = {"method": method, "asa": float(rows.asa.mean()),
                     "asa_best": float(rows.groupby("image").asa.max().mean()),
                     "n_superpixels": float(rows.groupby("image").n_superpixels.first().mean()),
                     "images": len(images)}  # fmt: skip
    return out


def assignment(args) -> dict:
    import numpy as np
    import torch
    from tqdm import tqdm

    from baselines.lnsnet import _network_input, load_lnsnet
    from baselines.lnsnet_model import assign_dense, assign_local, cell_size
    from ssn.data import BSDS500

    net = load_lnsnet(args.model, device="cpu")
    items = BSDS500(args.data / "BSDS500" / "data", split="test").evaluation_items()
    items = items[: args.images]
    ways = {"dense": None, "local 3x3": 1, "local 5x5": 2}
    per_k = {k: {w: {"same": [], "ms": []} for w in ways} for k in args.ks}
    with torch.inference_mode():
        for item in tqdm(items, unit="image", leave=False):
            rgb = item.load().image.astype(np.float32) / 255
            if rgb.shape[0] > rgb.shape[1]:
                rgb = rgb.transpose(1, 0, 2)
            features = net.embedder(_network_input(rgb, "cpu", torch.float32))
            for k in args.ks:
                rows, cols, _ = net.seeds(features, k)
                cell = cell_size(*features.shape[-2:], k)
                labels = {}
                for way, radius in ways.items():
                    start = time.perf_counter()
                    if radius is None:
                        labels[way] = assign_dense(features, rows, cols)
                    else:
                        labels[way] = assign_local(features, rows, cols, cell, radius=radius)
                    per_k[k][way]["ms"].append((time.perf_counter() - start) * 1e3)
                    same = (labels[way] == labels["dense"]).double().mean()
                    per_k[k][way]["same"].append(float(same))
    # the unscreened dense reference (every distance channel by channel), once per K
    with torch.inference_mode():
        rgb = items[0].load().image.astype(np.float32) / 255
        features = net.embedder(_network_input(rgb, "cpu", torch.float32))
        reference_ms = {}
        for k in args.ks:
            rows, cols, _ = net.seeds(features, k)
            start = time.perf_counter()
            assign_dense(features, rows, cols, screen=False)
            reference_ms[k] = (time.perf_counter() - start) * 1e3
    return {"images": len(items), "reference_ms_first_image": reference_ms,
            "by_k": {k: {w: {"same_mean": float(np.mean(v["same"])),
                             "same_min": float(np.min(v["same"])),
                             "time_ms": statistics.median(v["ms"])} for w, v in ways_.items()}
                     for k, ways_ in per_k.items()}}  # fmt: skip


def markdown(data: dict) -> str:
    env = data.get("environment", {})
    lines = ["# LNSNet with the authors' BSDS500 weights, against their reported ASA", ""]
    lines += [
        "Written by `benchmarks/lnsnet_reproduction.py` (the numbers; the notes below the "
        "tables are the script's too). The checkpoint is the authors' "
        "`lnsnet_BSDS_checkpoint.pth` (repository `zh460045050/LNSNet`, no licence: read "
        "in place, never redistributed). "
        f"CPU: {env.get('cpu', '?')}, {env.get('threads', '?')} threads, torch "
        f"{env.get('torch', '?')}.",
        "",
    ]
    rep = data.get("reproduction")
    if rep:
        k, ours = rep["k"], rep["variants"]["authors"]
        lines += [
            f"## ASA at K = {k}, BSDS500 test ({rep['images']} images, "
            f"{ours['n_pairs']} image/annotation pairs)",
            "",
            "ASA: each human annotation a separate sample (the protocol of SEAL's "
            "evaluator, of which the authors ship a compiled build, "
            "`libs/EvalSPModule.so`); "
            "ASA best: the mean over images of the best annotation's ASA; BR: SEAL's "
            "boundary pixels, tolerance 1. Time: median per image, the whole method "
            f"(Lab, network, assignment, post-processing) on the CPU. Run time "
            f"{rep.get('wall_s', 0) / 60:.1f} min.",
            "",
            "| method | K | mean count | ASA | ASA best | BR | authors' ASA | ASA − authors' "
            "| ASA best − authors' | ms / image |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, r in rep["variants"].items():
            lines.append(
                f"| lnsnet ({name}: {WHAT[name]}) | {k} | {r['n_superpixels']:.1f} | "
                f"{r['asa']:.4f} | {r['asa_best']:.4f} | {r['br']:.4f} | "
                f"{AUTHORS_ASA['lnsnet']:.3f} | {r['asa'] - AUTHORS_ASA['lnsnet']:+.4f} | "
                f"{r['asa_best'] - AUTHORS_ASA['lnsnet']:+.4f} | {r['time_ms']:.0f} |"
            )
        for name, r in rep.get("calibration", {}).items():
            lines.append(
                f"| {name} (`{r['method']}`, committed reference run) | {k} | "
                f"{r['n_superpixels']:.1f} | {r['asa']:.4f} | {r['asa_best']:.4f} | | "
                f"{AUTHORS_ASA[name]:.3f} | {r['asa'] - AUTHORS_ASA[name]:+.4f} | "
                f"{r['asa_best'] - AUTHORS_ASA[name]:+.4f} | |"
            )
        lines += ["", notes(rep), ""]
    asg = data.get("assignment")
    if asg:
        lines += [
            f"## Dense or local assignment ({asg['images']} BSDS500 test images)",
            "",
            "The share of pixels whose seed (the arg-max before post-processing) is the "
            "dense assignment's (mean over images, and the lowest), and the median time "
            "of the assignment alone per image (the embedder takes ~60 ms on an idle machine). "
            "Dense and local run one after the other on each image, so the load of other "
            "jobs on the shared machine weighs on both alike"
            + (
                f" (load average {asg['load_average'][0]:.1f} on 2 cores, observed "
                "during this run); the absolute times are inflated by it."
                if asg.get("load_average")
                else "."
            ),
            "",
            "| K | assignment | same arg-max | lowest image | ms / image |",
            "|---:|---|---:|---:|---:|",
        ]
        for k, ways in asg["by_k"].items():
            for way, r in ways.items():
                lines.append(
                    f"| {k} | {way} | {r['same_mean']:.4f} | {r['same_min']:.4f} | "
                    f"{r['time_ms']:.0f} |"
                )
        ref = ", ".join(
            f"{v:.0f} ms at K = {k}" for k, v in asg["reference_ms_first_image"].items()
        )
        lines += [
            "",
            "Dense runs as one matrix product per block with an exact re-check of the near "
            "ties (the same labels as computing every distance channel by channel, which "
            f"takes {ref} on the first image). Local is not the same arg-max: the learnt "
            "features let pixels join seeds several cells away, so `lnsnet` keeps the "
            "authors' dense assignment by default (`assignment='local'` is offered for "
            "large K, where it is faster).",
            "",
        ]
    return "\n".join(lines)


def notes(rep: dict) -> str:
    """What the table shows, with its numbers."""
    ours, variants = rep["variants"]["authors"], rep["variants"]
    cal = rep.get("calibration", {})
    off = sorted(r["asa"] - AUTHORS_ASA[n] for n, r in cal.items())
    best = sorted(r["asa_best"] - AUTHORS_ASA[n] for n, r in cal.items())
    lines = [
        f"**Result.** With the authors' pipeline our ASA is {ours['asa']:.4f}, "
        f"{ours['asa'] - AUTHORS_ASA['lnsnet']:+.4f} from their 0.962: outside the 0.005 "
        "target. The network is not the cause: their `demo.py` pipeline, run from a "
        "checkout of their repository on 26 test images (13 portrait) at K = 100 and "
        "400, gave the same seed pixels in all 52 cases and the same arg-max labels "
        "before post-processing in 51, the last differing in 1 pixel of 154 401 "
        "(float32 rounding; checked while writing this, not a test, as their code has no "
        "licence). The differences are in the evaluation and the counts:",
        "",
    ]
    if cal:
        lines += [
            f"- **Their ASA is not an average over annotations.** Every other method of "
            f"their table scores {-off[-1]:.3f} to {-off[0]:.3f} below their figure with "
            "our evaluator, each annotation a sample. Averaging each image's *best* "
            f'annotation instead ("ASA best") puts all of them within {best[0]:+.3f} to '
            f"{best[-1]:+.3f} of their figures (SNIC {cal['snic']['asa_best']:.4f} against "
            f"0.943), and LNSNet at {ours['asa_best']:.4f} "
            f"({ours['asa_best'] - AUTHORS_ASA['lnsnet']:+.4f}). Their evaluation script "
            "is not released (only a compiled module built from a file named "
            "`eval_superpixel.cpp`, as SEAL's evaluator, whose functions score one "
            "segmentation against one annotation), so this is the likeliest reading, "
            f"not a proof. The residual ({best[0]:+.3f} to {best[-1]:+.3f}) is shared "
            "by all their rows, which they ran themselves.",
        ]
    largest = variants.get("largest piece")
    lines += [
        f"- **Counts.** K = 100 gives the authors' grid of 13 × 9 = 117 cells on "
        f"481 × 321, and scikit-image SLIC's post-processing keeps every stray piece "
        f"above 6 % of a cell as a superpixel: their pipeline realises "
        f"{ours['n_superpixels']:.0f} superpixels on average, the other rows ~100. "
        "(Mode `official` of `ssn.connectivity` is that function called with "
        "`start_label=0`; scikit-image's current default `start_label=1` merges a few "
        "pieces differently: 181 superpixels instead of 184 on the second test image.)"
        + (
            f" Keeping each label's largest piece (the `lnsnet` default) gives "
            f"{largest['n_superpixels']:.0f} and ASA {largest['asa']:.4f} "
            f"(best {largest['asa_best']:.4f}), level with SNIC at ~100."
            if largest
            else ""
        ),
    ]
    centred = variants.get("centred seeds")
    lines += [
        "- **Preprocessing and seeds.** The authors' demo standardises each input "
        "channel over the image (mean 0, standard deviation 1) after the Lab/position "
        "scaling, which makes that scaling irrelevant; we do the same. Their seed centres "
        "lie half an image width off for cells of even height (their code reads the "
        "centre's flat index from a half-integer row), kept by default since the "
        "released figures were made with it"
        + (
            f"; correcting it changes ASA by {centred['asa'] - ours['asa']:+.4f}."
            if centred
            else "."
        ),
        "- **Time.** The times are medians on a shared 2-core machine with other jobs "
        "running: compare them within a row group only.",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = arguments(__doc__)
    parser.add_argument("part", choices=("reproduction", "assignment", "render"),
                        help="render: rewrite --out from --json only")  # fmt: skip
    parser.add_argument("--images", type=int, default=None, help="first N test images")
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--ks", type=int, nargs="+", default=[100, 400, 1200])
    parser.add_argument("--model", default="bsds500", help="'bsds500' or a checkpoint path")
    parser.add_argument("--reference", type=Path,
                        default=REPO / "results" / "reference" / "tables" / "all_results.csv.gz")  # fmt: skip
    parser.add_argument("--out", type=Path,
                        default=REPO / "results" / "training" / "lnsnet_reproduction.md")  # fmt: skip
    parser.set_defaults(json=REPO / "results" / "training" / "lnsnet_reproduction.json")
    args = parse(parser, argv)

    data = json.loads(args.json.read_text()) if args.json.is_file() else {}
    if args.part != "render":
        start = time.perf_counter()
        result = reproduction(args) if args.part == "reproduction" else assignment(args)
        result["wall_s"] = time.perf_counter() - start
        result["load_average"] = os.getloadavg()  # other jobs share the machine
        data[args.part] = result
        data["environment"] = _environment(args.threads)
        args.json.write_text(json.dumps(data, indent=2) + "\n")
    args.out.write_text(markdown(data))
    print(args.out.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
