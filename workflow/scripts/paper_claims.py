"""Check the paper's main claims against a run's summary table.

Usage: ``python workflow/scripts/paper_claims.py results/quick/tables/summary.csv
[--method ssn_deep_paper] > results/quick/tables/paper_claims.md``

Each claim is tested per requested K at *matched superpixel counts*: a competitor's
metric is interpolated (linearly in log count, between its K points) at the realised
count of the method under test, so a method is never credited for having more
superpixels. Below a competitor's smallest measured count its value there is used,
which favours the competitor (every metric here improves with the count); above its
largest count nothing is compared. Prints a Markdown table: claim, what was measured,
holds or not.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd

BASELINES = ("slic", "snic", "fh", "ers", "seeds", "lsc")


def at_count(part: pd.DataFrame, metric: str, count: float) -> float:
    """``metric`` of one method interpolated at a realised superpixel ``count``."""
    part = part.sort_values("n_superpixels")
    x, y = np.log(part["n_superpixels"].to_numpy()), part[metric].to_numpy()
    if np.log(count) > x[-1]:
        return float("nan")  # beyond the measured range: no extrapolation
    return float(np.interp(np.log(count), x, y))  # below: the smallest count's value


def margins(summary, dataset, method, rivals, metric, protocol, higher=True):
    """Per K: (method's value, best rival, its value at the matched count, margin)."""
    rows = summary[(summary["dataset"] == dataset) & (summary["protocol"] == protocol)]
    mine = rows[rows["method"] == method].sort_values("k")
    out = []
    for _, row in mine.iterrows():
        values = {
            r: at_count(rows[rows["method"] == r], metric, row["n_superpixels"])
            for r in rivals
            if (rows["method"] == r).any()
        }
        values = {r: v for r, v in values.items() if np.isfinite(v)}
        if not values:
            continue
        best = (max if higher else min)(values, key=values.get)
        sign = 1 if higher else -1
        out.append(
            (int(row["k"]), row[metric], best, values[best], sign * (row[metric] - values[best]))
        )
    return out


def _describe(rows, metric, label) -> tuple[str, bool]:
    holds = bool(rows) and all(m > 0 for *_, m in rows)
    text = "; ".join(
        f"K={k}: {v:.4f} vs {r} {rv:.4f} ({'better' if m > 0 else 'worse'} by {abs(m):.4f})"
        for k, v, r, rv, m in rows
    )
    return f"{label} {metric.upper()}: {text}" if rows else "not measured", holds


def claims(summary: pd.DataFrame, method: str) -> list[tuple[str, str, str]]:
    present = set(summary["method"])
    baselines = [b for b in BASELINES if b in present]
    out = []

    def add(claim, rows, metric, label, note=""):
        text, holds = _describe(rows, metric, label)
        verdict = "holds" if holds else ("not measured" if not rows else "does not hold")
        out.append((claim, text + (f" — {note}" if note else ""), verdict))

    for metric in ("asa", "br"):
        for protocol in ("ssn", "stutz") if metric == "br" else ("ssn",):
            rows = margins(summary, "bsds500", method, baselines, metric, protocol)
            name = "BR" if metric == "br" else "ASA"
            add(f"BSDS500: SSN_deep above every baseline in {name} at every K"
                + (f" ({protocol} protocol)" if metric == "br" else ""),
                rows, metric, "")  # fmt: skip
    rows = margins(summary, "bsds500", method, ["ssn_pix"], "asa", "ssn")
    add("BSDS500: SSN_deep above SSN_pix (the learned features matter)", rows, "asa", "")
    for metric in ("asa", "br"):
        rows = margins(summary, "bsds500", "ssn_pix", ["slic"], metric, "ssn")
        add(f"BSDS500: SSN_pix about SLIC or better ({metric.upper()})", rows, metric, "")
    for dataset, note in (
        ("voc2012", "BSDS500 weights on VOC; local samples only (2 images)"),
        ("cityscapes", "Cityscapes weights; local samples only (3 frames)"),
    ):
        claim = {
            "voc2012": "VOC: the BSDS500 model generalises (above every baseline in ASA)",
            "cityscapes": "Cityscapes: the Cityscapes model above every baseline in ASA",
        }[dataset]
        add(claim, margins(summary, dataset, method, baselines, "asa", "ssn"), "asa", "", note)
    rows = margins(summary, "sintel", method, ["slic"], "epe", "flow", higher=False)
    add("Sintel: the Sintel model lowers flow EPE against SLIC", rows, "epe", "",
        "local samples only (2 frame pairs)")  # fmt: skip
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("summary", help="tables/summary.csv of a run")
    parser.add_argument("--method", default="ssn_deep_paper", help="the SSN method under test")
    args = parser.parse_args(argv)
    summary = pd.read_csv(args.summary)
    if args.method not in set(summary["method"]):
        print(f"{args.summary}: no method {args.method!r}", file=sys.stderr)
        return 2
    print("| claim | measured (at matched superpixel counts) | verdict |")
    print("|---|---|---|")
    for claim, text, verdict in claims(summary, args.method):
        print(f"| {claim} | {text.strip()} | {verdict} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
