# ruff: noqa: F821  (`snakemake` is injected by the script directive)
"""Metrics of one (dataset, method, K): one row per image x annotation x protocol, with
the image's realised count and its superpixels that are not one 4-connected region."""

from pathlib import Path

from _jobs import dataset_items, start_job

log = start_job(snakemake, threads=True)

import pandas as pd  # noqa: E402

from ssn.io import read_label_image  # noqa: E402
from ssn.metrics import (  # noqa: E402
    compactness,
    evaluate_image,
    flow_endpoint_error,
    n_disconnected_superpixels,
    n_superpixels,
)

dataset = snakemake.wildcards.dataset
method = snakemake.wildcards.method
k = int(snakemake.wildcards.k)
options = snakemake.params.dataset
items = dataset_items(dataset, snakemake.input.stamp, options)
timing = pd.read_csv(snakemake.input.timing, sep="\t", dtype={"image": str}).set_index("image")
# what an SSN network computed in (float32, bfloat16); blank for a baseline
timing["precision"] = timing["precision"].fillna("") if "precision" in timing else ""
labels_dir = Path(snakemake.input.labels)
tolerances = options.get("tolerance", {}) or {}

rows = []
for item in items:
    sample = item.load()
    labels = read_label_image(labels_dir / f"{item.id}.png")
    base = {
        "dataset": dataset,
        "method": method,
        "k": k,
        "image": item.id,
        "time_ms": float(timing.loc[item.id, "time_ms"]),
        "precision": timing.loc[item.id, "precision"],
        "n_disconnected": n_disconnected_superpixels(labels),
    }
    if sample.is_flow:  # Sintel: flow EPE of the per-superpixel mean flow
        rows.append(
            {
                **base,
                "annotation": 0,
                "protocol": "flow",
                "tolerance": None,
                "n_superpixels": n_superpixels(labels),
                "epe": flow_endpoint_error(labels, sample.flow, valid=sample.valid),
                "co": compactness(labels),
            }
        )
        continue
    for protocol in options.get("protocols", ["stutz", "ssn"]):
        result = evaluate_image(
            labels,
            sample.annotations,
            image=sample.image,
            protocol=protocol,
            tolerance=tolerances.get(protocol),
            ignore_labels=sample.ignore_labels,
            void_boundaries=options.get("void_boundaries") or sample.void_boundaries,
        )
        for a, metrics in enumerate(result.per_annotation):
            rows.append(
                {
                    **base,
                    "annotation": a,
                    "protocol": protocol,
                    "tolerance": result.tolerance,
                    "n_superpixels": result.n_superpixels,
                    **metrics,
                    "co": result.compactness,
                    "ev": result.explained_variation,
                }
            )
    log.info("%s done", item.id)

table = pd.DataFrame(rows)
table.to_csv(snakemake.output.metrics, index=False, float_format="%.6g")
log.info("%d rows", len(table))
