"""The workflow jobs' helpers (workflow/scripts/_jobs.py), imported as Snakemake's
``script:`` directive lets a job import them: from the scripts' folder."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))

from _jobs import OtherCPUShare  # noqa: E402


def test_other_cpu_share_is_a_share_or_nan():
    with OtherCPUShare() as load:
        pass
    assert 0 <= load.share <= 1 or load.share != load.share
