# ruff: noqa: F821  (`snakemake` is injected by the script directive)
"""Train one SSN run (ssn.train); an interrupted job resumes from its last checkpoint.

The run folder keeps ``last.pt``, ``best.pt``, ``log.csv`` and ``config.json`` as
``ssn train`` writes them. Only ``model.pt`` (the best weights, exported at the end) is
the rule's output, so Snakemake never deletes the checkpoints of an interrupted job:
rerunning it continues from ``last.pt`` exactly.
"""

import sys
from pathlib import Path

sys.path.insert(0, snakemake.scriptdir)
from _common import setup_logging  # noqa: E402

log = setup_logging(snakemake.log[0])

from ssn.checkpoint import export_weights  # noqa: E402
from ssn.train import load_config, train  # noqa: E402

out_dir = Path(snakemake.params.out_dir)
overrides = [
    f"data_root={snakemake.params.data_root}",
    f"out_dir={out_dir}",
    f"threads={snakemake.threads}",
    "progress=false",  # one line per log interval in the log file instead
    *snakemake.params.overrides,  # the config's, then the run's own: these win
]
if (out_dir / "last.pt").is_file():
    overrides.append("init_from=resume")
    log.info("resuming from %s", out_dir / "last.pt")

# the trainer prints its progress to stdout: keep it in the job's log
sys.stdout = sys.stderr
config = load_config(snakemake.params.config, overrides)
summary = train(config)
log.info("done: iteration %d, best validation score %.4f", summary["iter"], summary["best_score"])
best = out_dir / "best.pt"
export_weights(best if best.is_file() else out_dir / "last.pt", snakemake.output.model)
