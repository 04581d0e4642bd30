"""Fetch, verify and inspect the datasets (BSDS500, VOC 2012, Cityscapes, MPI-Sintel).

Examples::

    ssn data fetch bsds500 --dest resources/datasets
    ssn data fetch all --config config/datasets.yaml --config config/datasets.local.yaml
    ssn data check all --dest resources/datasets
    ssn data list

``fetch`` downloads (resumably) or takes the configured local copy, verifies sha256
digests, extracts safely and checks the file counts; re-running it is a no-op. ``check``
re-verifies layout, counts and checksums of fetched datasets (or of ``--root``) and reads
samples through the loaders.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

__all__ = ["add_arguments", "run"]

_NAMES = ("bsds500", "voc2012", "cityscapes", "sintel")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        action="append",
        type=Path,
        metavar="YAML",
        help="dataset config (repeat to add overrides; default: config/datasets.yaml)",
    )
    fetch = sub.add_parser("fetch", parents=[common], help="download/extract/verify datasets")
    check = sub.add_parser(
        "check", parents=[common], help="verify fetched datasets and read samples"
    )
    sub.add_parser("list", parents=[common], help="show the configured datasets and sources")
    for p in (fetch, check):
        p.add_argument("names", nargs="+", metavar="NAME", help=f"{', '.join(_NAMES)} or all")
        p.add_argument(
            "--dest",
            type=Path,
            default=Path("resources/datasets"),
            help="dataset folder (default: resources/datasets)",
        )
        p.add_argument("--no-progress", action="store_true", help="no progress bars")
    fetch.add_argument(
        "--verify", action="store_true", help="re-verify checksums even if already fetched"
    )
    check.add_argument("--root", type=Path, help="check this folder instead of DEST/NAME")
    check.add_argument(
        "--samples",
        type=int,
        default=2,
        metavar="N",
        help="samples per split read through the loader (-1: all; default 2)",
    )
    check.add_argument("--no-verify", action="store_true", help="skip the checksum manifest")


def _names(names: list[str], specs: dict) -> list[str]:
    if "all" in names:
        return list(specs)
    unknown = [n for n in names if n not in specs]
    if unknown:
        raise ValueError(f"unknown dataset(s) {unknown}; configured: {', '.join(specs)} or all")
    return names


def _loaders(name: str, root: Path, spec):
    """(description, loader) per split, for reading samples."""
    from ssn.data import LOADERS

    loader = LOADERS[name]
    if name == "sintel":
        scenes = spec.splits or {"all": "all"}
        return [(s, loader(root, list(v), missing="skip")) for s, v in scenes.items()]
    if name == "bsds500":
        splits = ("train", "val", "test")
    elif name == "voc2012":
        splits = spec.splits or ("train", "val")
    else:  # cityscapes: the splits present
        splits = [s for s in ("train", "val") if any((root / "leftImg8bit" / s).glob("*/*.png"))]
    return [(s, loader(root, s)) for s in splits]


def _read_samples(name, root, spec, n: int) -> list[str]:
    lines = []
    for split, loader in _loaders(name, root, spec):
        total = len(loader)
        indices = range(total) if n < 0 else sorted({0, total - 1} if n >= 2 else {0})
        indices = [i for i in indices if 0 <= i < total][: (total if n < 0 else n)]
        for i in indices:
            loader.load(i)
        extra = ""
        if name == "bsds500":
            extra = f", {len(loader.pairs())} (image, annotation) pairs"
        lines.append(f"  {split}: {total} samples{extra}; read {len(indices)} OK")
    return lines


def run(args: argparse.Namespace) -> int:
    from ssn.data import check, fetch, load_config, stamp_path

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    specs = load_config(args.config)
    if args.action == "list":
        for name, spec in specs.items():
            source = ", ".join(spec.source) if spec.source else "download"
            print(f"{name}: {spec.title}\n  source: {source}")
            for a in spec.archives:
                print(
                    f"  archive: {a.file}  url={a.url}  sha256={a.sha256 or 'trust-on-first-use'}"
                )
            if spec.manifest:
                print(f"  manifest: {spec.manifest} (prefix {spec.manifest_prefix!r})")
        return 0
    names = _names(args.names, specs)
    progress = not args.no_progress
    if args.action == "fetch":
        for name in names:
            result = fetch(specs[name], args.dest, progress=progress, verify=args.verify)
            state = "already present" if result.skipped else "fetched"
            print(
                f"{name}: {state} at {result.root}"
                f" ({sum(result.counts.values())} files counted"
                + (
                    f", {result.manifest_files} verified by manifest"
                    if result.manifest_files
                    else ""
                )
                + ")"
            )
        return 0
    failed = 0
    for name in names:
        folder = args.root if args.root is not None else args.dest / name
        try:
            if args.root is None and not stamp_path(args.dest, name).is_file():
                raise FileNotFoundError(
                    f"{name}: not fetched into {args.dest} (run `ssn data fetch {name}` or pass --root)"
                )
            result = check(specs[name], folder, verify=not args.no_verify, progress=progress)
            print(
                f"{name}: OK at {result.root}: "
                + ", ".join(f"{k}={v}" for k, v in result.counts.items())
                + (
                    f"; {result.manifest_files} files match the manifest"
                    if result.manifest_files
                    else ""
                )
            )
            for line in _read_samples(name, result.root, specs[name], args.samples):
                print(line)
        except (ValueError, OSError) as err:
            failed += 1
            print(f"{name}: FAILED: {err}", file=sys.stderr)
    return 1 if failed else 0
