# ruff: noqa: F821  (`snakemake` is injected by the script directive)
"""The reproduction gap: each trained SSN model between SSN_pix and the paper's model."""

from pathlib import Path

from _jobs import reproduction_gap, start_job

log = start_job(snakemake)

import pandas as pd  # noqa: E402

summary = pd.read_csv(snakemake.input.summary)
params = snakemake.params
table, markdown = reproduction_gap(summary, params.spec, params.labels, params.records)
table.to_csv(snakemake.output.csv, index=False, float_format="%.6g")
Path(snakemake.output.md).write_text(markdown)
log.info("%d rows", len(table))
