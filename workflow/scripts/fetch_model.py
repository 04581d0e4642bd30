# ruff: noqa: F821  (`snakemake` is injected by the script directive)
"""Fetch one of the paper's released models and write it as an ssn checkpoint:
`ssn models fetch official-<task> --convert DIR` of this checkout, in-process."""

import sys
from pathlib import Path

from _jobs import start_job

start_job(snakemake)
sys.stdout = sys.stderr  # the command's report goes to the job's log

from ssn.cli import main  # noqa: E402

arguments = ["models", "fetch", f"official-{snakemake.wildcards.task}", "--no-progress"]
for path in snakemake.input.configs:
    arguments += ["--config", path]
arguments += ["--convert", str(Path(snakemake.output.checkpoint).parent)]
status = main(arguments)
if status:
    raise SystemExit(f"ssn {' '.join(arguments)} failed (exit status {status}); see above")
