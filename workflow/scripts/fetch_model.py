# ruff: noqa: F821  (`snakemake` is injected by the script directive)
"""Fetch one released model (ssn.official) and write it where the segmentation jobs read
it: `ssn models fetch NAME` of this checkout, in-process. An SSN model becomes an ssn
checkpoint (`--convert`); SEAL's and LNSNet's are PyTorch state dicts already, written
as they were verified."""

import sys
from pathlib import Path

from _jobs import start_job

start_job(snakemake)
sys.stdout = sys.stderr  # the command's report goes to the job's log

from ssn import official  # noqa: E402
from ssn.cli import main  # noqa: E402

name = snakemake.wildcards.name
output = Path(snakemake.output.checkpoint)
ssn_model = official.OFFICIAL_MODELS[name].network == "ssn"
arguments = ["models", "fetch", name, "--no-progress"]
for path in snakemake.input.configs:
    arguments += ["--config", path]
if ssn_model:
    arguments += ["--convert", str(output.parent)]
status = main(arguments)
if status:
    raise SystemExit(f"ssn {' '.join(arguments)} failed (exit status {status}); see above")
if not ssn_model:
    import torch

    configs = list(snakemake.input.configs)
    state = official.get_state_dict(name, config=configs[-1] if configs else None)
    output.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, output.with_suffix(".pt.tmp"))
    output.with_suffix(".pt.tmp").replace(output)  # whole, or not at all
