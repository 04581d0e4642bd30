# ruff: noqa: F821  (`snakemake` is injected by the script directive)
"""The claims table: the paper's claims and those of the robustness, stability and
count-control results, each with its measured verdict (paper_claims.py)."""

from _jobs import start_job

log = start_job(snakemake)

import pandas as pd  # noqa: E402
from paper_claims import claims_table  # noqa: E402

inputs = snakemake.input
spec = snakemake.params.robustness
tables = {name: pd.read_csv(inputs[name]) if name in inputs.keys() else None
          for name in ("robustness", "stability", "count_control")}  # fmt: skip
markdown = claims_table(
    pd.read_csv(inputs["summary"]),
    snakemake.params.method,
    robustness_spec=spec,
    stability_k=spec["k"] if spec else None,
    stability_protocol=spec["protocol"] if spec else "ssn",
    **tables,
)
with open(snakemake.output.md, "w") as fh:
    fh.write(markdown)
log.info("%d claims", markdown.count("\n") - 2)
