"""How much of the distance from SSN_pix to the paper's model a trained SSN closes.

On the first N BSDS500 test images (sorted by name) at one K, ASA and boundary recall
(Stutz protocol, mean over every image/annotation pair) of SSN_pix, of each model given
and of the paper's released BSDS500 model (``$SSN_WEIGHTS`` or ``ssn models fetch``),
and the gap closure G = (model - pix) / (paper - pix) of each: the workflow's
``reproduction_gap`` table (``workflow/scripts/_jobs.py``), which gives the same over the
whole test set at every K, on these images.

    python benchmarks/reproduction_gap.py checkpoints/run/last.pt [deep ...] \\
        [--images 20] [--k 400] [--json out.json]
"""

from __future__ import annotations

import json
from pathlib import Path

from _common import arguments, parse, reproduction_gap


def main(argv=None) -> int:
    parser = arguments(__doc__)
    parser.add_argument("models", nargs="+", help="checkpoints or model names (e.g. deep)")
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--k", type=int, default=400)
    args = parse(parser, argv)

    import numpy as np
    import pandas as pd
    from tqdm import tqdm

    from ssn.data import BSDS500
    from ssn.methods import load_segmenter
    from ssn.metrics import evaluate_image

    items = BSDS500(args.data / "BSDS500" / "data", split="test").evaluation_items()[: args.images]
    samples = [item.load() for item in items]
    models = {"pix": "pix", **{m: m for m in args.models}, "paper": "official-bsds500"}
    scores, rows = {}, []
    for name, model in models.items():
        segmenter = load_segmenter("ssn", model=model, device="cpu")
        pairs, counts = [], []
        for sample in tqdm(samples, desc=name, unit="image", leave=False):
            evaluation = evaluate_image(segmenter(sample.image, args.k), sample.annotations,
                                        protocol="stutz")  # fmt: skip
            pairs += [(row["asa"], row["br"]) for row in evaluation.per_annotation]
            counts.append(evaluation.n_superpixels)
        asa, br = np.mean(pairs, axis=0)
        scores[name] = {"asa": float(asa), "br": float(br), "n_pairs": len(pairs)}
        rows.append({"dataset": "bsds500", "protocol": "stutz", "method": name, "k": args.k,
                     "asa": asa, "br": br, "n_superpixels": np.mean(counts)})  # fmt: skip

    spec = {"dataset": "bsds500", "protocol": "stutz", "methods": args.models,
            "baseline": "pix", "reference": "paper"}  # fmt: skip
    labels = {"pix": "SSN_pix", "paper": "the paper's model", **{m: m for m in args.models}}
    records = {m: m if Path(m).is_file() else None for m in args.models}
    table, markdown = reproduction_gap(pd.DataFrame(rows), spec, labels, records)
    print(f"{len(samples)} BSDS500 test images ({scores['pix']['n_pairs']} pairs), "
          f"K = {args.k}, means over pairs\n\n{markdown}")  # fmt: skip
    for row in table.itertuples():
        scores[row.method].update(g_asa=float(row.g_asa), g_br=float(row.g_br))
    if args.json:
        args.json.write_text(json.dumps({"k": args.k, "images": len(samples), **scores}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
