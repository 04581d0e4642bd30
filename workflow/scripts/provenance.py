# ruff: noqa: F821  (`snakemake` is injected by the script directive)
"""The config and the software/hardware versions that made the results."""

from _jobs import start_job

log = start_job(snakemake)

import datetime  # noqa: E402
import importlib.metadata as md  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402

import yaml  # noqa: E402

from ssn.devices import device_name, resolve_device  # noqa: E402

with open(snakemake.output.config, "w") as fh:
    yaml.safe_dump(dict(snakemake.params.config), fh, sort_keys=False)

device = resolve_device(snakemake.params.device)  # the config's; auto: this job's
lines = [
    f"date: {datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}",
    f"python: {platform.python_version()} ({platform.platform()})",
    f"device: {device} (config: {snakemake.params.device}) -- {device_name(device)}",
]
try:
    commit = subprocess.run(
        ["git", "-C", snakemake.params.repo, "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", snakemake.params.repo, "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    lines.append(f"git: {commit}{' (uncommitted changes)' if dirty else ''}")
except (OSError, subprocess.CalledProcessError):
    lines.append("git: unavailable")
for package in ("ssn-bench", "torch", "numpy", "numba", "scikit-image", "scipy",
                "opencv-contrib-python-headless", "pandas", "matplotlib", "snakemake"):  # fmt: skip
    try:
        lines.append(f"{package}: {md.version(package)}")
    except md.PackageNotFoundError:
        lines.append(f"{package}: not installed")
with open(snakemake.output.versions, "w") as fh:
    fh.write("\n".join(lines) + "\n")
log.info("written")
