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


def _commands(lines) -> list[str]:
    """The commands of shell lines: comments and blank lines dropped, trailing comments cut."""
    commands = (line.split("#", 1)[0].strip() for line in lines)
    return [command for command in commands if command]


def test_ci_entry_point_runs_the_readme_test_commands():
    """`.ci/run` ends with exactly the test commands of the README's "Run the tests"
    block, in its order, so that the two cannot drift."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("Run the tests:", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    tests = _commands(block.splitlines())
    assert tests and all(command.startswith("python -m pytest") for command in tests)
    script = _commands((ROOT / ".ci" / "run").read_text().splitlines())
    assert script[-len(tests) :] == tests


def test_the_default_run_leaves_out_the_slow_tests_and_slow_runs_them():
    """The README's two commands split the suite: the default deselects `slow`, and
    `-m slow` selects only those (a test of each kind is collected where it should be)."""
    import sys

    def collected(*args) -> str:
        command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p",
                   "no:cacheprovider", "tests/test_device_check.py", "tests/test_ci_script.py",
                   *args]  # fmt: skip
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True).stdout

    default, slow = collected(), collected("-m", "slow")
    assert "test_device_check_quick_on_the_cpu" not in default
    assert "test_ci_entry_point_parses" in default
    assert "test_device_check_quick_on_the_cpu" in slow
    assert "test_ci_entry_point_parses" not in slow


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not available")
@pytest.mark.parametrize(
    ("present", "expected"),
    [
        (("ssn_official", "successors"), "{shared}/ssn_official:{shared}/successors"),
        (("successors",), "{shared}/successors"),
        ((), ""),
    ],
)
def test_ci_points_ssn_weights_at_the_shared_folders_that_exist(tmp_path, present, expected):
    """Issue 27: CI reads the SSN models and SEAL's and LNSNet's in place: SSN_WEIGHTS
    lists ../shared/weights/{ssn_official,successors}, those that exist, ':'-separated."""
    text = (ROOT / ".ci" / "run").read_text()
    start = text.index("# The released models, read in place")
    block = text[start : text.index('echo "SSN_WEIGHTS=', start)]
    shared = tmp_path / "shared" / "weights"
    for name in present:
        (shared / name).mkdir(parents=True)
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    env = {k: v for k, v in __import__("os").environ.items() if k != "SSN_WEIGHTS"}
    result = subprocess.run(
        ["bash", "-c", f"set -euo pipefail\n{block}\necho \"${{SSN_WEIGHTS:-}}\""],
        cwd=checkout, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected.format(shared=shared)
