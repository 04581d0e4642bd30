"""Fetch, list and convert the paper's released SSN models (CC BY-NC-SA 4.0).

Examples::

    ssn models fetch all                      # into the cache ($SSN_HOME, ~/.cache/ssn)
    ssn models fetch official-bsds500 --config config/models.local.yaml
    ssn models list
    ssn models convert ssn_bsds_model.caffemodel ssn_bsds.pt

A local copy is used in place of a download when ``$SSN_WEIGHTS`` (a folder holding the
``.caffemodel`` files) or the config's ``source`` names one. Every file is checked
against its pinned sha256. ``ssn segment --model official-bsds500`` then uses it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ssn.official import OFFICIAL_MODELS

    names = ", ".join(OFFICIAL_MODELS)
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        metavar="YAML",
        help="models config whose 'source' folder holds the .caffemodel files "
        "(e.g. config/models.local.yaml)",
    )
    fetch = sub.add_parser(
        "fetch", parents=[common], help="download (or find locally) and verify models"
    )
    fetch.add_argument("names", nargs="+", metavar="NAME", help=f"{names} or all")
    fetch.add_argument("--no-progress", action="store_true", help="no progress bar")
    fetch.add_argument(
        "--convert",
        type=Path,
        metavar="DIR",
        help="also write each model as an ssn checkpoint DIR/<name>.pt",
    )
    sub.add_parser("list", parents=[common], help="show the models and where they are")
    convert = sub.add_parser("convert", help="convert a .caffemodel into an ssn checkpoint")
    convert.add_argument("source", type=Path, help="the .caffemodel")
    convert.add_argument("destination", type=Path, help="the checkpoint to write (.pt)")


def _names(names: list[str]) -> list[str]:
    from ssn.official import OFFICIAL_MODELS

    if "all" in names:
        return list(OFFICIAL_MODELS)
    unknown = [n for n in names if n not in OFFICIAL_MODELS]
    if unknown:
        raise ValueError(
            f"unknown model {unknown[0]!r}; known: {', '.join(OFFICIAL_MODELS)} or all"
        )
    return names


def _write_checkpoint(name: str, caffemodel: Path, destination: Path) -> None:
    from ssn.caffe import convert
    from ssn.data.checksum import sha256_file

    convert(caffemodel, destination, released_as=name, source_sha256=sha256_file(caffemodel))


def run(args: argparse.Namespace) -> int:
    from ssn import official

    if args.action == "convert":
        _write_checkpoint(args.source.name, args.source, args.destination)
        print(f"{args.source} -> {args.destination}")
        return 0
    if args.action == "list":
        for model in official.OFFICIAL_MODELS.values():
            try:
                where = str(official.locate(model.name, config=args.config))
            except FileNotFoundError:
                where = "not fetched"
            print(f"{model.name:20s} {model.task:11s} {model.description}: {where}")
        print(f"cache: {official.cache_dir()}")
        return 0
    for name in _names(args.names):
        path = official.fetch(name, config=args.config, progress=not args.no_progress)
        line = f"{name}: {path}"
        if args.convert is not None:
            destination = args.convert / f"{name}.pt"
            _write_checkpoint(name, path, destination)
            line += f" -> {destination}"
        print(line)
    return 0
