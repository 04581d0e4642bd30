"""The successor methods' released models against their authors' figures, with our evaluator.

SEAL's BSDS500 model (``seal-bsds500``: ``$SSN_WEIGHTS``, the cache after ``ssn models
fetch seal-bsds500``, or ``../shared/weights/successors``) on the BSDS500 test set,
evaluated as its authors' scripts do: every annotation its own sample, ASA and BR under
the ``ssn`` protocol (a pixel is a boundary pixel when its right or lower neighbour
differs; tolerance r = 1: the SEAL evaluator, which the SSN paper used too), means over
(image, annotation) pairs. The authors' figures are the published reproduction with this
checkpoint and their scripts (wctu/SEAL issue #14). Two label sets per K are scored:

* ``seal``: what ``load_segmenter("seal")`` returns: ERS on the 8-connected affinity
  graph, its clusters split into 4-connected pieces and the small pieces merged;
* ``seal (raw ERS)``: the ERS clusters as they come (8-connected trees), which is what
  the authors' test script writes.

Each image's scores are kept in ``--cache`` (one JSON file per method and image), so that
runs over subsets (``--every 4 --offset 1``) add up to the whole set; the table covers
the images of the selection. A method is a :data:`ROWS` entry (LNSNet's go beside
SEAL's) with its authors' figures in :data:`AUTHORS`.

    python benchmarks/successor_reproduction.py [--k 200 400] [--every 4] [--offset 0]
        [--cache work/successor_reproduction] [--json out.json]
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from _common import REPO, arguments, parse, weights_folder

#: the authors' figures: label set -> {K: (ASA, BR)}; BR None where not published
AUTHORS = {
    "seal": {200: (0.9596, 0.7333), 400: (0.9672, 0.8049)},
    "seal (raw ERS)": {200: (0.9596, 0.7333), 400: (0.9672, 0.8049)},
}


def seal_bsds500(device):
    """SEAL with the authors' BSDS500 weights: ``run(image, ks)`` gives, per K, both
    label sets and their seconds (the network's, run once per image, plus ERS's)."""
    import numpy as np

    # ERS's steps, so that one run gives both label sets (seal_labels = split of the raw)
    from baselines._common import relabel_consecutive
    from baselines.ers import _ers_weighted, _split_8_connected, _weighted_edges, affinity_diagonals
    from baselines.seal import LAMBDA, load_seal_net, seal_affinities
    from ssn.validation import as_rgb_float

    net = load_seal_net("bsds500", device)

    def run(image, ks):
        start = time.perf_counter()
        a_x, a_y = seal_affinities(as_rgb_float(image), net).astype(np.float64)
        net_seconds = time.perf_counter() - start
        height, width = a_x.shape
        horizontal, vertical = a_x[:, :-1].copy(), a_y[:-1, :].copy()
        diagonals = affinity_diagonals(horizontal, vertical)
        ea, eb, wt = _weighted_edges(horizontal, vertical, *diagonals, True)
        records = []
        for k in ks:
            start = time.perf_counter()
            roots = _ers_weighted(ea, eb, wt, height * width, k, LAMBDA * k).reshape(height, width)
            raw_seconds = time.perf_counter() - start
            labels = relabel_consecutive(_split_8_connected(roots, k))[0]
            seconds = time.perf_counter() - start
            records += [("seal", k, labels, net_seconds + seconds),
                        ("seal (raw ERS)", k, roots, net_seconds + raw_seconds)]  # fmt: skip
        return records, {"net_seconds": net_seconds}

    return run


#: the methods: name -> builder(device) of ``run(image, ks) -> (records, extra)``
ROWS = {"seal-bsds500": seal_bsds500}


def _evaluate(records, sample) -> list[dict]:
    from ssn.metrics import evaluate_image

    rows = []
    for variant, k, labels, seconds in records:
        evaluation = evaluate_image(labels, sample.annotations, protocol="ssn", tolerance=1)
        for a, metrics in enumerate(evaluation.per_annotation):
            rows.append({"variant": variant, "k": k, "annotation": a, "asa": metrics["asa"],
                         "br": metrics["br"], "n_superpixels": evaluation.n_superpixels,
                         "seconds": seconds})  # fmt: skip
    return rows


def _cached(path: Path, ks) -> dict | None:
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    return data if set(ks) <= {row["k"] for row in data["rows"]} else None


def main(argv=None) -> int:
    parser = arguments(__doc__)
    parser.add_argument("--k", type=int, nargs="+", default=[200, 400])
    parser.add_argument("--every", type=int, default=1, help="every Nth test image (sorted)")
    parser.add_argument("--offset", type=int, default=0, help="the first image of the subset")
    parser.add_argument("--methods", nargs="+", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--cache", type=Path, default=REPO / "work" / "successor_reproduction")
    parser.add_argument("--device", default="cpu")
    args = parse(parser, argv)

    import pandas as pd
    import torch

    from ssn.data import BSDS500
    from ssn.devices import cpu_model

    os.environ.setdefault("SSN_WEIGHTS", str(weights_folder("seal_bsds500.pkl", "successors")))
    items = BSDS500(args.data / "BSDS500" / "data", split="test").evaluation_items()
    items = items[args.offset :: args.every]
    tables, summary = [], {}
    for method in args.methods:
        run = None
        for i, item in enumerate(items):
            path = args.cache / method / f"{item.id}.json"
            data = _cached(path, args.k)
            if data is None:
                run = run or ROWS[method](args.device)  # the network loads once, if needed
                sample = item.load()
                records, extra = run(sample.image, args.k)
                data = {"image": item.id, **extra, "rows": _evaluate(records, sample)}
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(data))
                print(f"{method} {i + 1}/{len(items)} {item.id}: network "
                      f"{extra.get('net_seconds', 0):.1f} s", flush=True)  # fmt: skip
            tables.append(pd.DataFrame(data["rows"]).assign(method=method, image=item.id))
    frame = pd.concat(tables)
    frame = frame[frame["k"].isin(args.k)]
    lines = ["| method | K | images (pairs) | count | ASA | BR | authors' ASA / BR "
             "| ΔASA | ΔBR | s / image |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for (variant, k), group in frame.groupby(["variant", "k"], sort=False):
        asa, br = group["asa"].mean(), group["br"].mean()
        per_image = group.groupby("image").first()
        authors = AUTHORS.get(variant, {}).get(k)
        d_asa = f"{asa - authors[0]:+.4f}" if authors else ""
        d_br = f"{br - authors[1]:+.4f}" if authors and authors[1] is not None else ""
        shown = f"{authors[0]:.4f} / {authors[1]:.4f}" if authors else ""
        lines.append(f"| {variant} | {k} | {per_image.shape[0]} ({len(group)}) | "
                     f"{per_image['n_superpixels'].mean():.1f} | {asa:.4f} | {br:.4f} | {shown} "
                     f"| {d_asa} | {d_br} | {per_image['seconds'].mean():.1f} |")  # fmt: skip
        summary[f"{variant}@{k}"] = {"asa": asa, "br": br, "images": per_image.shape[0],
                                     "pairs": len(group), "authors": authors,
                                     "count": per_image["n_superpixels"].mean(),
                                     "seconds_per_image": per_image["seconds"].mean()}  # fmt: skip
    where = (f"{cpu_model()}, {torch.get_num_threads()} torch threads, "
             f"{args.threads} threads set")  # fmt: skip
    selection = f"every {args.every} test image(s) from #{args.offset}"
    print(f"\nBSDS500 test, {selection}; protocol ssn, r = 1, means over pairs; {where}\n")
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps({"selection": selection, "cpu": where, **summary},
                                        indent=2, default=float))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
