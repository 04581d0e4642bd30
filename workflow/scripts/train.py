# ruff: noqa: F821  (`snakemake` is injected by the script directive)
"""Train one SSN run (ssn.train); an interrupted job resumes from its last checkpoint.

The run folder keeps ``last.pt``, ``best.pt``, ``log.csv`` and ``config.json`` as
``ssn train`` writes them. Only ``model.pt`` (the best weights, exported at the end) is
the rule's output, so Snakemake never deletes the checkpoints of an interrupted job:
rerunning it continues from ``last.pt`` exactly. A checkpoint made with other settings
(another model, task, schedule or profile) is not continued: its folder is moved aside
and the run starts again.

The settings: ``ssn.train.TrainConfig``'s defaults (the paper's), then the profile of
the device the job trains on (``gpu_profile`` or ``cpu_profile``, when the config names
one; ``device: auto`` is resolved here, by the machine that trains), then the run's
overrides (its task, network and the config's key=value settings).
"""

import sys
import time
from pathlib import Path

from _jobs import start_job

log = start_job(snakemake)

from ssn.checkpoint import export_weights, load_checkpoint  # noqa: E402
from ssn.devices import resolve_device  # noqa: E402
from ssn.train import train  # noqa: E402
from ssn.train.config import changed_settings, load_config  # noqa: E402

device = resolve_device(snakemake.params.device)
settings = snakemake.input.get("cpu_profile" if device.type == "cpu" else "gpu_profile")
log.info("device %s (config: %s), profile %s", device, snakemake.params.device, settings)

out_dir = Path(snakemake.params.out_dir)
overrides = [
    f"device={device}",
    f"data_root={snakemake.params.data_root}",
    f"out_dir={out_dir}",
    f"threads={snakemake.threads}",
    "progress=false",  # one line per log interval in the log file instead
    *snakemake.params.overrides,  # the config's, then the run's own: these win
]
config = load_config(settings, overrides)

last = out_dir / "last.pt"
if last.is_file():
    changed = list(changed_settings(load_checkpoint(last).get("config", {}), config))
    if changed:
        aside = out_dir.with_name(f"{out_dir.name}.replaced-{time.strftime('%Y%m%dT%H%M%S')}")
        out_dir.rename(aside)
        log.info("settings changed (%s): previous run moved to %s; starting again",
                 ", ".join(changed), aside)  # fmt: skip
    else:
        log.info("resuming from %s", last)
        config = load_config(settings, [*overrides, "init_from=resume"])

sys.stdout = sys.stderr  # the trainer prints its progress to stdout: keep it in the log
# a run folder without last.pt holds at most a run stopped before its first checkpoint
summary = train(config, overwrite=config.init_from != "resume")
log.info("done: iteration %d, best validation score %.4f", summary["iter"], summary["best_score"])
best = out_dir / "best.pt"
export_weights(best if best.is_file() else last, snakemake.output.model)
