# ruff: noqa: F821  (`snakemake` is injected by the script directive)
"""All per-image metrics in one tidy table, and the summary per dataset/method/K/protocol."""

from ssn.bench.jobs import setup_logging

log = setup_logging(snakemake.log[0])

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

tables = [pd.read_csv(f, dtype={"image": str}) for f in snakemake.input.metrics]
table = pd.concat(tables, ignore_index=True, sort=False)
for column in ("asa", "br", "bp", "ue", "ev", "epe", "co"):
    if column not in table:
        table[column] = np.nan
table["label"] = table["method"].map(snakemake.params.labels)
# 5 significant digits per pair (the means in the summary keep 6): the committed
# reference table of the quick run stays under 2 MiB
table.to_csv(snakemake.output.table, index=False, float_format="%.5g")
log.info("%d rows from %d files", len(table), len(tables))

keys = ["dataset", "method", "label", "k", "protocol"]
pairs = table.groupby(keys, sort=True)
summary = pairs.agg(
    n_pairs=("image", "size"),
    asa=("asa", "mean"),
    br=("br", "mean"),
    bp=("bp", "mean"),
    ue=("ue", "mean"),
)
# per-image statistics: realised count, CO, EV, EPE, time and the worst annotation
images = table.groupby([*keys, "image"], sort=True).agg(
    n_superpixels=("n_superpixels", "first"),
    co=("co", "first"),
    ev=("ev", "first"),
    epe=("epe", "mean"),
    time_ms=("time_ms", "first"),
    asa_worst=("asa", "min"),
    br_worst=("br", "min"),
    bp_worst=("bp", "min"),
    ue_worst=("ue", "max"),
)
per_image = images.groupby(keys, sort=True).agg(
    n_images=("n_superpixels", "size"),
    n_superpixels=("n_superpixels", "mean"),
    co=("co", "mean"),
    ev=("ev", "mean"),
    epe=("epe", "mean"),
    time_ms=("time_ms", "mean"),
    asa_worst=("asa_worst", "mean"),
    br_worst=("br_worst", "mean"),
    bp_worst=("bp_worst", "mean"),
    ue_worst=("ue_worst", "mean"),
)
summary = summary.join(per_image).reset_index()
order = ["dataset", "method", "label", "k", "protocol", "n_images", "n_pairs", "n_superpixels",
         "asa", "br", "bp", "ue", "asa_worst", "br_worst", "bp_worst", "ue_worst", "co", "ev",
         "epe", "time_ms"]  # fmt: skip
summary = summary[order]
summary.to_csv(snakemake.output.summary, index=False, float_format="%.6g")


def markdown(frame: pd.DataFrame) -> str:
    def cell(v):
        if isinstance(v, float):
            return "" if np.isnan(v) else f"{v:.4g}"
        return str(v)

    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(False)]
    return "\n".join(lines)


with open(snakemake.output.markdown, "w") as fh:
    for (dataset, protocol), part in summary.groupby(["dataset", "protocol"], sort=True):
        fh.write(f"## {dataset}, protocol {protocol}\n\n")
        if protocol == "flow":
            cols = ["label", "k", "n_images", "n_superpixels", "epe", "co", "time_ms"]
        else:
            cols = ["label", "k", "n_images", "n_pairs", "n_superpixels", "asa", "br", "bp",
                    "ue", "co", "ev", "time_ms"]  # fmt: skip
        fh.write(markdown(part[cols]) + "\n\n")
log.info("summary: %d rows", len(summary))
