# ruff: noqa: F821  (`snakemake` is injected by the script directive)
"""All per-image metrics in one tidy table; the summary per dataset/method/K/protocol and
the Stutz benchmark's averages over the counts, both from ssn.metrics.summary."""

from _jobs import start_job

log = start_job(snakemake)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _tables import markdown  # noqa: E402

from ssn.metrics.summary import (  # noqa: E402
    evaluations_from_records,
    summarize_images,
    summarize_over_counts,
)

tables = [pd.read_csv(f, dtype={"image": str}) for f in snakemake.input.metrics]
table = pd.concat(tables, ignore_index=True, sort=False)
for column in ("asa", "br", "bp", "ue", "ev", "epe", "co"):
    if column not in table:
        table[column] = np.nan
table["label"] = table["method"].map(snakemake.params.labels)
# 4 significant digits per pair (the means in the summary keep 6, computed before this
# rounding): the committed table of the reference run, 13 methods, stays under 2 MiB
table.to_csv(snakemake.output.table, index=False, float_format="%.4g")
log.info("%d rows from %d files", len(table), len(tables))

KEYS = ["dataset", "method", "label", "k", "protocol"]
METRICS = ("asa", "br", "bp", "ue")


def per_image_means(part: pd.DataFrame) -> dict:
    """Means over images of what each image has once: time, count, CO, EV, EPE."""
    images = part.groupby("image", sort=False).agg(
        n_superpixels=("n_superpixels", "first"), co=("co", "first"), ev=("ev", "first"),
        epe=("epe", "mean"), time_ms=("time_ms", "first"),
    )  # fmt: skip
    return {"n_images": len(images), **images.mean().to_dict()}


rows, evaluations = [], {}
for key, part in table.groupby(KEYS, sort=True):
    row = dict(zip(KEYS, key, strict=True))
    row.update(per_image_means(part))
    if row["protocol"] != "flow":  # regions: ssn.metrics' summary of the (image, annotation) pairs
        images = evaluations_from_records(part.to_dict("records"))
        evaluations[key] = images
        summary = summarize_images(images)
        row["n_pairs"] = summary["n_pairs"]
        row.update({m: summary["mean"][m] for m in METRICS})
        row.update({f"{m}_worst": summary["worst"][m] for m in METRICS})
    else:
        row["n_pairs"] = len(part)
    rows.append(row)
order = ["dataset", "method", "label", "k", "protocol", "n_images", "n_pairs", "n_superpixels",
         "asa", "br", "bp", "ue", "asa_worst", "br_worst", "bp_worst", "ue_worst", "co", "ev",
         "epe", "time_ms"]  # fmt: skip
summary = pd.DataFrame(rows).reindex(columns=order)
summary.to_csv(snakemake.output.summary, index=False, float_format="%.6g")

# The Stutz benchmark's one-number summaries (AMR, AUE, AUV in %, lower is better) of
# each curve, over [200, the largest requested K]: shorter than its [200, 5200], so
# comparable between the methods of one run, not with published values.
averages = []
curves: dict[tuple, dict] = {}
for (dataset, method, label, k, protocol), images in evaluations.items():
    curves.setdefault((dataset, method, label, protocol), {})[k] = images
for (dataset, method, label, protocol), by_count in sorted(curves.items()):
    upper = min(5200, max(by_count))
    if len(by_count) < 2 or upper <= 200:
        continue
    result = summarize_over_counts(by_count, lower=200, upper=upper)["averages"]
    averages.append({"dataset": dataset, "method": method, "label": label,
                     "protocol": protocol, "lower": 200, "upper": upper,
                     **{m: result[m] for m in ("amr", "aue", "auv")}})  # fmt: skip
average_columns = ["dataset", "method", "label", "protocol", "lower", "upper", "amr", "aue", "auv"]
averages = pd.DataFrame(averages, columns=average_columns)
averages.to_csv(snakemake.output.averages, index=False, float_format="%.6g")

with open(snakemake.output.markdown, "w") as fh:
    for (dataset, protocol), part in summary.groupby(["dataset", "protocol"], sort=True):
        fh.write(f"## {dataset}, protocol {protocol}\n\n")
        if protocol == "flow":
            cols = ["label", "k", "n_images", "n_superpixels", "epe", "co", "time_ms"]
        else:
            cols = ["label", "k", "n_images", "n_pairs", "n_superpixels", "asa", "br", "bp",
                    "ue", "co", "ev", "time_ms"]  # fmt: skip
        fh.write(markdown(part[cols]) + "\n\n")
        stutz = averages[(averages["dataset"] == dataset) & (averages["protocol"] == protocol)]
        if len(stutz):
            low, high = int(stutz["lower"].iloc[0]), int(stutz["upper"].iloc[0])
            fh.write(f"Stutz averages over K in [{low}, {high}] (%, lower is better):\n\n")
            fh.write(markdown(stutz[["label", "amr", "aue", "auv"]]) + "\n\n")
log.info("summary: %d rows, %d Stutz averages", len(summary), len(averages))
