"""The ``ssn`` command line: one sub-command per module in :mod:`ssn.commands`.

Each command module defines ``add_arguments(parser)`` and ``run(args) -> int``; its
module docstring's first line is the command's help text.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ssn._parallel import passive_openmp_wait

# Sub-command name -> module under ssn.commands. Imported lazily so that `ssn --help`
# does not pay for torch/numba imports of every command.
COMMANDS = {
    "segment": "segment",
    "data": "data",
    "evaluate": "evaluate",
    "train": "train",
    "models": "models",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ssn", description="Superpixel Sampling Networks: segment, evaluate, benchmark."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(f"ssn.commands.{module_name}")
        doc = (module.__doc__ or "").strip().splitlines()
        cmd = sub.add_parser(name, help=doc[0] if doc else None, description=module.__doc__)
        module.add_arguments(cmd)
        cmd.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    passive_openmp_wait()  # the process starts here, before torch or numba is loaded
    from ssn.data.download import DownloadInterrupted

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except DownloadInterrupted as err:
        # Ctrl-C in a download (ssn data fetch, ssn models fetch): the .part file is kept;
        # say how to resume instead of a traceback. 130 = 128 + SIGINT, as shells use.
        print(f"ssn {args.command}: {err}", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, OSError) as err:
        # User errors (bad paths, bad arguments, unreadable files) end with one clear
        # line instead of a traceback.
        print(f"ssn {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
