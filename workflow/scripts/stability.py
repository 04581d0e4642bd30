# ruff: noqa: F821  (`snakemake` is injected by the script directive)
"""The stability table: the spread over images of ASA, BR and UE per dataset, method, K
and protocol (CSV, Markdown)."""

from _jobs import start_job

log = start_job(snakemake)

import pandas as pd  # noqa: E402
from _tables import markdown, stability_table  # noqa: E402

table = pd.read_csv(snakemake.input.table, dtype={"image": str})
stability = stability_table(table, snakemake.params.labels, snakemake.params.datasets)
stability.to_csv(snakemake.output.csv, index=False, float_format="%.6g")
with open(snakemake.output.md, "w") as fh:
    fh.write("Spread over images (each image: the mean over its annotations); std divided by "
             "n, min and max: the worst and best image.\n\n")  # fmt: skip
    for (dataset, protocol), part in stability.groupby(["dataset", "protocol"], sort=True):
        fh.write(f"## {dataset}, protocol {protocol}\n\n")
        columns = ["label", "k", "n_images", "n_superpixels"]
        columns += [f"{m}_{s}" for m in ("asa", "br", "ue") for s in ("mean", "std", "min", "max")]
        fh.write(markdown(part[columns]) + "\n\n")
log.info("%d rows", len(stability))
