# ruff: noqa: F821  (`snakemake` is injected by the script directive)
"""Copy the drawn figures into results/figures (the rule's one directory output)."""

import shutil
import sys
from pathlib import Path

sys.path.insert(0, snakemake.scriptdir)
from _common import setup_logging  # noqa: E402

log = setup_logging(snakemake.log[0])

destination = Path(snakemake.output[0])
destination.mkdir(parents=True, exist_ok=True)
for source in map(Path, snakemake.input):
    shutil.copy2(source, destination / source.name)
log.info("%d files -> %s", len(snakemake.input), destination)
