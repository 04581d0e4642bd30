# ruff: noqa: F821  (`snakemake` is injected by the script directive)
"""The reproduction gap: each trained SSN model between SSN_pix and the paper's model."""

from ssn.bench.jobs import setup_logging

log = setup_logging(snakemake.log[0])

import pandas as pd  # noqa: E402

from ssn.checkpoint import load_checkpoint  # noqa: E402
from ssn.metrics import gap_closure  # noqa: E402

spec = snakemake.params.spec
labels = snakemake.params.labels
summary = pd.read_csv(snakemake.input.summary)
rows = summary[(summary["dataset"] == spec["dataset"]) & (summary["protocol"] == spec["protocol"])]
by_method = {m: part.set_index("k") for m, part in rows.groupby("method")}
baseline, reference = by_method[spec["baseline"]], by_method[spec["reference"]]


def training(record):
    """Iterations, hours and device of a checkpoint's training (blank if unrecorded)."""
    if record is None:
        return {"iterations": None, "train_hours": None, "train_device": ""}
    state = load_checkpoint(record)
    seconds = state.get("train_seconds")
    return {
        "iterations": state.get("iter"),
        "train_hours": None if seconds is None else seconds / 3600,
        "train_device": state.get("train_device", ""),
    }


table = []
for method in spec["methods"]:
    ours = by_method[method]
    cost = training(snakemake.params.records[method])
    for k in sorted(set(ours.index) & set(baseline.index) & set(reference.index)):
        row = {"method": method, "label": labels[method], "k": k,
               "n_superpixels": ours.at[k, "n_superpixels"]}  # fmt: skip
        for metric in ("asa", "br"):
            pix, paper, mine = baseline.at[k, metric], reference.at[k, metric], ours.at[k, metric]
            row.update({f"{metric}_pix": pix, f"{metric}_paper": paper, metric: mine,
                        f"g_{metric}": gap_closure(mine, pix, paper)})  # fmt: skip
        table.append({**row, **cost})

table = pd.DataFrame(table)
table.to_csv(snakemake.output.csv, index=False, float_format="%.6g")
with open(snakemake.output.md, "w") as fh:
    fh.write(
        f"Reproduction gap on {spec['dataset']} ({spec['protocol']} protocol): "
        f"G = (ours - {labels[spec['baseline']]}) / "
        f"({labels[spec['reference']]} - {labels[spec['baseline']]})\n\n"
        "| model | K | ASA | G (ASA) | BR | G (BR) | training |\n|---|---:|---:|---:|---:|---:|---|\n"
    )
    for _, r in table.iterrows():
        hours = "" if pd.isna(r["train_hours"]) else f", {r['train_hours']:.1f} h"
        iters = "" if pd.isna(r["iterations"]) else f"{int(r['iterations'])} it."
        where = f" on {r['train_device']}" if r["train_device"] else ""
        fh.write(f"| {r['label']} | {r['k']} | {r['asa']:.4f} | {r['g_asa']:.2f} | "
                 f"{r['br']:.4f} | {r['g_br']:.2f} | {iters}{hours}{where} |\n")  # fmt: skip
log.info("%d rows", len(table))
