"""Shared fixtures: where the real datasets are, and skipping cleanly without them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def data_root() -> Path:
    """``$SSN_DATA`` if set, else ``../shared/datasets`` next to the repository."""
    return Path(os.environ.get("SSN_DATA", REPO_ROOT.parent / "shared" / "datasets"))


@pytest.fixture(scope="session")
def bsds_root() -> Path:
    """The BSDS500 ``data/`` folder (images/ and groundTruth/); skips when absent."""
    root = data_root() / "BSDS500" / "data"
    if not (root / "images" / "test").is_dir():
        pytest.skip(f"BSDS500 not found under {root} (set SSN_DATA)")
    return root


@pytest.fixture(scope="session")
def samples_root() -> Path:
    """The real samples of VOC, Cityscapes and Sintel; skips when absent."""
    root = data_root() / "samples"
    if not root.is_dir():
        pytest.skip(f"dataset samples not found under {root} (set SSN_DATA)")
    return root
