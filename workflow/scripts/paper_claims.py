"""Check the paper's main claims against a run's summary table, and the claims the
robustness, stability and count-control tables make checkable (issue #28).

The workflow's rule ``claims`` writes ``tables/paper_claims.md`` (workflow/scripts/
claims.py); by hand: ``python workflow/scripts/paper_claims.py
results/quick/tables/summary.csv [--method ssn_deep_paper] [--robustness
results/quick/tables/robustness.csv] [--stability ...] [--count-control ...]``.

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
# the learned successors with their authors' weights (issue #27): compared with SSN in
# neither paper, so each gets a claim of its own rather than joining "every baseline"
SUCCESSORS = {"seal": "SEAL", "lnsnet": "LNSNet"}


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
    for rival, name in SUCCESSORS.items():
        for metric in ("asa", "br"):
            rows = margins(summary, "bsds500", method, [rival], metric, "ssn")
            add(f"BSDS500: SSN_deep above {name} in {metric.upper()} at every K"
                + (" (ssn protocol)" if metric == "br" else ""), rows, metric, "")  # fmt: skip
    add("Cityscapes: the Cityscapes model above SEAL's Cityscapes model in ASA",
        margins(summary, "cityscapes", method, ["seal"], "asa", "ssn"), "asa", "",
        "each method's own Cityscapes weights; local samples only (3 frames)")  # fmt: skip
    rows = margins(summary, "sintel", method, ["slic"], "epe", "flow", higher=False)
    add("Sintel: the Sintel model lowers flow EPE against SLIC", rows, "epe", "",
        "local samples only (2 frame pairs)")  # fmt: skip
    return out


# ------------------------------------------------------------------- issue #28
# Claims the robustness, stability and count-control tables make checkable: the SSN
# method under test against SLIC (the method SSN's paper builds on), and connectivity
# and count control for every method. Each verdict is measured, whichever way it falls.

RIVAL = "slic"


def _label(table: pd.DataFrame, method: str) -> str:
    rows = table.loc[table["method"] == method, "label"] if "label" in table else []
    return str(rows.iloc[0]) if len(rows) else method


def robustness_claims(robustness: pd.DataFrame, method: str, spec: dict, rival: str = RIVAL):
    """Per perturbation, at its strongest level: does ``method`` lose less BR (relative
    to its clean score) than ``rival``? And less ASA under every perturbation?"""
    out, asa_rows = [], []
    where = f"{spec['dataset']}, K = {spec['k']}"
    mine_label, rival_label = _label(robustness, method), _label(robustness, rival)
    for kind, part in robustness[~robustness["clean"].astype(bool)].groupby(
        "perturbation", sort=False
    ):
        strongest = part.loc[part["strength"].abs().idxmax(), "strength"]
        at = part[part["strength"] == strongest].set_index("method")
        parameter = part["parameter"].iloc[0]
        claim = (f"Robustness ({where}): {mine_label} loses less BR than {rival_label} under "
                 f"{kind.replace('_', ' ')}, {parameter} = {strongest:g}")  # fmt: skip
        if method not in at.index or rival not in at.index:
            out.append((claim, "not measured", "not measured"))
            continue
        mine, theirs = at.loc[method], at.loc[rival]
        text = (f"BR drop {mine['br_drop']:.1%} (to {mine['br']:.4f}) vs {theirs['br_drop']:.1%} "
                f"(to {theirs['br']:.4f})")  # fmt: skip
        holds = mine["br_drop"] < theirs["br_drop"]
        out.append((claim, text, "holds" if holds else "does not hold"))
        asa_rows.append((kind, strongest, mine["asa_drop"], theirs["asa_drop"]))
    claim = (f"Robustness ({where}): {mine_label} loses less ASA than {rival_label} under "
             "every perturbation (strongest level)")  # fmt: skip
    if asa_rows:
        text = "; ".join(f"{kind} {s:g}: {m:.2%} vs {r:.2%}" for kind, s, m, r in asa_rows)
        holds = all(m < r for _, _, m, r in asa_rows)
        out.append((claim, f"ASA drop {text}", "holds" if holds else "does not hold"))
    else:
        out.append((claim, "not measured", "not measured"))
    return out


def stability_claims(
    stability: pd.DataFrame, method: str, k: int, dataset: str = "bsds500",
    protocol: str = "ssn", rival: str = RIVAL,
):  # fmt: skip
    """At one K: is ``method``'s worst image above ``rival``'s (ASA, BR), and does its
    BR vary less over images (std)?"""
    rows = stability[(stability["dataset"] == dataset) & (stability["protocol"] == protocol)
                     & (stability["k"] == k)].set_index("method")  # fmt: skip
    mine_label, rival_label = _label(stability, method), _label(stability, rival)
    where = f"{dataset}, K = {k}"
    worst = f"Stability ({where}): {mine_label}'s worst image above {rival_label}'s, ASA and BR"
    spread_claim = (f"Stability ({where}): {mine_label}'s BR varies less over images than "
                    f"{rival_label}'s (std)")  # fmt: skip
    if method not in rows.index or rival not in rows.index:
        return [(worst, "not measured", "not measured"),
                (spread_claim, "not measured", "not measured")]  # fmt: skip
    mine, theirs = rows.loc[method], rows.loc[rival]
    text = (f"ASA min {mine['asa_min']:.4f} vs {theirs['asa_min']:.4f}; BR min "
            f"{mine['br_min']:.4f} vs {theirs['br_min']:.4f} ({protocol} protocol)")  # fmt: skip
    holds = mine["asa_min"] > theirs["asa_min"] and mine["br_min"] > theirs["br_min"]
    out = [(worst, text, "holds" if holds else "does not hold")]
    text = f"BR std {mine['br_std']:.4f} vs {theirs['br_std']:.4f}"
    out.append(
        (spread_claim, text, "holds" if mine["br_std"] <= theirs["br_std"] else "does not hold")
    )
    return out


def count_claims(counts: pd.DataFrame, method: str, dataset: str = "bsds500", tolerance=0.15):
    """Every method's superpixels connected (0 not one 4-connected region, every dataset
    and K); ``method``'s mean count within ``tolerance`` of K at every K of ``dataset``."""
    out = []
    claim = "Connectivity: every superpixel of every method is one 4-connected region (every dataset and K)"
    measured = counts.dropna(subset=["n_disconnected"])
    if measured.empty:
        out.append((claim, "not measured", "not measured"))
    else:
        bad = measured[measured["n_disconnected"] > 0]
        per_method = bad.groupby("label")["n_disconnected"].sum()
        text = ("0 in every row" if bad.empty else
                "; ".join(f"{label}: {int(n)}" for label, n in per_method.items()))  # fmt: skip
        text += f" ({len(measured)} method x dataset x K rows)"
        out.append((claim, text, "holds" if bad.empty else "does not hold"))
    rows = counts[(counts["method"] == method) & (counts["dataset"] == dataset)].sort_values("k")
    claim = (f"Count control ({dataset}): {_label(counts, method)}'s mean realised count within "
             f"±{tolerance:.0%} of K at every K")  # fmt: skip
    if rows.empty:
        out.append((claim, "not measured", "not measured"))
    else:
        text = "; ".join(f"K={int(r['k'])}: {r['mean_relative_error']:+.1%} (worst image "
                         f"{r['worst_relative_error']:+.1%})" for _, r in rows.iterrows())  # fmt: skip
        holds = bool((rows["mean_relative_error"].abs() <= tolerance).all())
        out.append((claim, text, "holds" if holds else "does not hold"))
    return out


def claims_table(summary, method, *, robustness=None, robustness_spec=None, stability=None,
                 stability_k=None, stability_protocol="ssn", count_control=None) -> str:  # fmt: skip
    """The Markdown table of every claim the given tables can check."""
    rows = claims(summary, method)
    if robustness is not None:
        rows += robustness_claims(robustness, method, robustness_spec)
    if stability is not None:
        k = stability_k if stability_k is not None else 400
        rows += stability_claims(stability, method, k, protocol=stability_protocol)
    if count_control is not None:
        rows += count_claims(count_control, method)
    lines = ["| claim | measured (at matched superpixel counts) | verdict |", "|---|---|---|"]
    lines += [f"| {claim} | {text.strip()} | {verdict} |" for claim, text, verdict in rows]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("summary", help="tables/summary.csv of a run")
    parser.add_argument("--method", default="ssn_deep_paper", help="the SSN method under test")
    parser.add_argument("--robustness", help="tables/robustness.csv of the run")
    parser.add_argument("--dataset", default="bsds500", help="the robustness dataset")
    parser.add_argument("--k", type=int, default=400, help="the robustness and stability K")
    parser.add_argument("--stability", help="tables/stability.csv of the run")
    parser.add_argument("--count-control", help="tables/count_control.csv of the run")
    args = parser.parse_args(argv)
    summary = pd.read_csv(args.summary)
    if args.method not in set(summary["method"]):
        print(f"{args.summary}: no method {args.method!r}", file=sys.stderr)
        return 2
    read = {name: pd.read_csv(path) if path else None for name, path in
            (("robustness", args.robustness), ("stability", args.stability),
             ("count_control", args.count_control))}  # fmt: skip
    spec = {"dataset": args.dataset, "k": args.k}
    print(claims_table(summary, args.method, robustness_spec=spec, stability_k=args.k, **read),
          end="")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
