"""How much of the distance from SSN_pix to the paper's model a trained SSN closes.

On the first N BSDS500 test images (sorted by name) at one K, ASA and boundary recall
(Stutz protocol, mean over every image/annotation pair) of SSN_pix, of each model given
and of the paper's released BSDS500 model (``$SSN_WEIGHTS`` or ``ssn models fetch``),
and the gap closure G = (model - pix) / (paper - pix) of each
(:func:`ssn.metrics.gap_closure`). The workflow's ``reproduction_gap`` table gives the
same over the whole test set at every K.

    python benchmarks/reproduction_gap.py checkpoints/run/last.pt [deep ...] \\
        [--images 20] [--k 400] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("SSN_DATA", REPO.parent / "shared" / "datasets"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="checkpoints or model names (e.g. deep)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--k", type=int, default=400)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO))
    import numpy as np
    from tqdm import tqdm

    from ssn.bench.jobs import set_threads
    from ssn.data import BSDS500
    from ssn.methods import load_segmenter
    from ssn.metrics import evaluate_image, gap_closure

    set_threads(args.threads)
    items = BSDS500(args.data / "BSDS500" / "data", split="test").evaluation_items()[: args.images]
    samples = [item.load() for item in items]
    models = {"pix": "pix", **{m: m for m in args.models}, "paper": "official-bsds500"}
    scores = {}
    for name, model in models.items():
        segmenter = load_segmenter("ssn", model=model, device="cpu")
        pairs = []
        for sample in tqdm(samples, desc=name, unit="image", leave=False):
            labels = segmenter(sample.image, args.k)
            evaluation = evaluate_image(labels, sample.annotations, protocol="stutz")
            pairs += [(row["asa"], row["br"]) for row in evaluation.per_annotation]
        asa, br = np.mean(pairs, axis=0)
        scores[name] = {"asa": float(asa), "br": float(br), "n_pairs": len(pairs)}

    pix, paper = scores["pix"], scores["paper"]
    print(f"{len(samples)} BSDS500 test images ({pix['n_pairs']} pairs), K = {args.k}, "
          "stutz protocol, means over pairs")  # fmt: skip
    for name, score in scores.items():
        line = f"  {name:>24s}  ASA {score['asa']:.4f}  BR {score['br']:.4f}"
        if name not in ("pix", "paper"):
            score["g_asa"] = gap_closure(score["asa"], pix["asa"], paper["asa"])
            score["g_br"] = gap_closure(score["br"], pix["br"], paper["br"])
            line += f"  G(ASA) {score['g_asa']:.2f}  G(BR) {score['g_br']:.2f}"
        print(line)
    if args.json:
        args.json.write_text(json.dumps({"k": args.k, "images": len(samples), **scores}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
