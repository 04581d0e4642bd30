# ruff: noqa: F821  (`snakemake` is injected by the script directive)
"""Fetch or check one dataset: `ssn data fetch|check` of this checkout, in-process."""

import sys

from _jobs import start_job

start_job(snakemake)
sys.stdout = sys.stderr  # the command's report goes to the job's log

from ssn.cli import main  # noqa: E402

arguments = ["data", snakemake.params.action, snakemake.wildcards.dataset]
for path in snakemake.input.configs:
    arguments += ["--config", path]
arguments += ["--dest", snakemake.params.dest, "--no-progress"]
status = main(arguments)
if status:
    raise SystemExit(f"ssn {' '.join(arguments)} failed (exit status {status}); see above")
