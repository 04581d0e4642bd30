"""Train SSN_linear / SSN_deep (paper defaults; YAML config; key=value overrides).

Examples:
  ssn train feature_net=deep                  # the paper's settings, resources/datasets/bsds500
  ssn train --config config/train/cpu.yaml feature_net=deep --out checkpoints/deep --resume
  ssn train task=sintel data_root=/data/MPI-Sintel feature_net=deep
  torchrun --nproc-per-node 4 -m ssn.cli train feature_net=deep
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--config", type=Path, default=None, help="YAML file of settings")
    parser.add_argument(
        "--out", type=Path, default=None, help="output folder (same as out_dir=...)"
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue from OUT/last.pt (init_from=resume)"
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a run already in OUT (its last.pt, best.pt and log.csv are deleted)",
    )
    parser.add_argument(
        "overrides", nargs="*", metavar="KEY=VALUE", help="settings overriding the config file"
    )


def run(args: argparse.Namespace) -> int:
    from ssn.train import load_config, train

    overrides = list(args.overrides)
    if args.out is not None:
        overrides.append(f"out_dir={args.out}")
    if args.resume:
        overrides.append("init_from=resume")
    config = load_config(args.config, overrides)
    if config.init_from == "resume":
        _check_resumable(config)
    summary = train(config, overwrite=args.overwrite)
    if summary["rank"] != 0:  # one line per run, not per DistributedDataParallel rank
        return 0
    if summary["trained"] == 0:
        print(
            f"nothing to train: {config.run_folder / 'last.pt'} is already at iteration "
            f"{summary['iter']} (max_iters={config.max_iters}); raise max_iters to continue"
        )
    else:
        print(
            f"done: iteration {summary['iter']}, best validation score {summary['best_score']:.4f}"
        )
    return 0


def _check_resumable(config) -> None:
    """Refuse to resume a run with other settings than it started with: the checkpoint
    would continue under them and its config.json be rewritten, silently."""
    from ssn.checkpoint import load_checkpoint
    from ssn.train.config import changed_settings

    last = config.run_folder / "last.pt"
    if not last.is_file():  # train() says so
        return
    changed = changed_settings(load_checkpoint(last).get("config", {}), config)
    if changed:
        listed = ", ".join(f"{k} {before!r} -> {now!r}" for k, (before, now) in changed.items())
        raise ValueError(
            f"--resume: {last} was trained with other settings ({listed}); resume with the "
            f"run's own settings, or start a new run (another --out, or --overwrite without --resume)"
        )
