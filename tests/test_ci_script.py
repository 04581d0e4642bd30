"""The CI entry point must at least parse: a quoting slip in `.ci/run` fails CI before
a single test runs, and nothing else in the suite executes that file."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not available")
def test_ci_entry_point_parses():
    script = ROOT / ".ci" / "run"
    result = subprocess.run(
        ["bash", "-n", str(script)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_ci_entry_point_runs_the_readme_test_command():
    """`.ci/run` must run the test command the README gives, so the two cannot drift."""
    readme = (ROOT / "README.md").read_text()
    script = (ROOT / ".ci" / "run").read_text()
    last_command = [
        line.strip()
        for line in script.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ][-1]
    assert last_command in readme
