"""Fetch, list and convert the released models: the SSN paper's (CC BY-NC-SA 4.0), SEAL's
(CC BY-NC-SA 4.0) and LNSNet's (no licence: fetched from its authors, never redistributed).

Examples::

    ssn models fetch all                      # into the cache ($SSN_HOME, ~/.cache/ssn)
    ssn models fetch official-bsds500 seal-bsds500 --config config/models.local.yaml
    ssn models list
    ssn models convert ssn_bsds_model.caffemodel ssn_bsds.pt

A local copy is used in place of a download when ``$SSN_WEIGHTS`` (a folder holding the
model files, or several separated by ``:``) or the config's ``source`` names one. Every
file is checked against its pinned sha256. ``ssn segment --model official-bsds500`` and
``ssn segment --method seal --model bsds500`` then use it.
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
        help="models config whose 'source' folders hold the model files "
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
        help="also write each SSN model as an ssn checkpoint DIR/<name>.pt",
    )
    fetch.add_argument(
        "--force", action="store_true", help="replace checkpoints already in the --convert DIR"
    )
    sub.add_parser("list", parents=[common], help="show the models and where they are")
    convert = sub.add_parser("convert", help="convert a .caffemodel into an ssn checkpoint")
    convert.add_argument("source", type=Path, help="the .caffemodel")
    convert.add_argument("destination", type=Path, help="the checkpoint to write (.pt)")
    convert.add_argument(
        "--force", action="store_true", help="replace DESTINATION if it exists (never SOURCE)"
    )


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


def _check_destination(source: Path, destination: Path, force: bool) -> None:
    """Refuse to write the checkpoint over its source, or over any file without --force.

    Raises
    ------
    ValueError
        If ``destination`` is ``source`` (the licensed Caffe file would be lost).
    FileExistsError
        If ``destination`` exists and ``force`` is false (e.g. a training run's last.pt).
    """
    from ssn.commands import same_file

    if same_file(source, destination):
        raise ValueError(
            f"the destination {destination} is the source .caffemodel; it would be "
            "replaced, give another path (e.g. with the suffix .pt)"
        )
    if destination.exists() and not force:
        raise FileExistsError(
            f"{destination} already exists; write to another path, or replace it with --force"
        )


def _released_as(caffemodel: Path, digest: str) -> str | None:
    """The released model whose pinned digest ``caffemodel`` has (None: not a released one).

    Raises
    ------
    ssn.data.checksum.ChecksumError
        If the file has a released model's file name but not its digest (damaged or
        modified): converting it would record a model it is not.
    """
    from ssn.data.checksum import ChecksumError
    from ssn.official import OFFICIAL_MODELS

    caffe = [model for model in OFFICIAL_MODELS.values() if model.network == "ssn"]
    for model in caffe:
        if digest == model.sha256:
            return model.name
    for model in caffe:
        if caffemodel.name == model.file:
            raise ChecksumError(
                f"{caffemodel} is named as the released {model.name} model but its sha256 "
                f"is {digest}, not the pinned {model.sha256}: it is damaged or modified; "
                f"fetch it again with `ssn models fetch {model.name}`, or rename the file "
                "to convert a model of your own"
            )
    return None


def _write_checkpoint(caffemodel: Path, destination: Path, force: bool) -> None:
    from ssn.caffe import convert
    from ssn.data.checksum import sha256_file

    _check_destination(caffemodel, destination, force)
    digest = sha256_file(caffemodel)
    extra = {"source_sha256": digest}
    released = _released_as(caffemodel, digest)
    if released is not None:
        extra["released_as"] = released
    convert(caffemodel, destination, **extra)


def run(args: argparse.Namespace) -> int:
    """Run ``ssn models ACTION``; ``list`` exits 1 when a file found was refused."""
    from ssn import official
    from ssn.data.checksum import ChecksumError

    if args.action == "convert":
        _write_checkpoint(args.source, args.destination, args.force)
        print(f"{args.source} -> {args.destination}")
        return 0
    if args.action == "list":
        official.local_folders(args.config)  # a setting naming no folder: one line, exit 2
        refused = 0
        for model in official.OFFICIAL_MODELS.values():
            try:
                where = str(official.locate(model.name, config=args.config))
            except FileNotFoundError:
                where = "not fetched"
            except ChecksumError as err:  # reported, and the other models still listed
                where, refused = f"REFUSED: {err}", refused + 1
            print(f"{model.name:20s} {model.task:11s} {model.description}: {where}")
        print(f"cache: {official.cache_dir()}")
        return 1 if refused else 0
    names = _names(args.names)
    if args.convert is not None:
        other = [n for n in names if official.OFFICIAL_MODELS[n].network != "ssn"]
        if other and "all" not in args.names:
            raise ValueError(
                f"--convert writes SSN checkpoints; {other[0]} is a "
                f"{official.OFFICIAL_MODELS[other[0]].network} model (a PyTorch state dict "
                "already): fetch it without --convert"
            )
    for name in names:
        path = official.fetch(name, config=args.config, progress=not args.no_progress)
        line = f"{name}: {path}"
        if args.convert is not None and official.OFFICIAL_MODELS[name].network == "ssn":
            destination = args.convert / f"{name}.pt"
            _write_checkpoint(path, destination, args.force)
            line += f" -> {destination}"
        print(line)
    return 0
