"""SSN_deep trained in float32 and under bf16 autocast from the same seed: validation ASA.

Issue #29 asks that training with ``amp: auto`` (bf16 autocast of the feature CNN on a
CPU or GPU that computes bf16 natively) reach, after 2000 iterations, a validation ASA
within 0.002 of the float32 run started from the same seed, and that both logs be kept.
This script runs both with ``ssn.train`` (``amp=false`` and ``amp=auto``), everything
else equal: the CPU recipe (``config/train/cpu_recipe.yaml``: 101×101 patches, K = 25,
its learning-rate schedule) with the warm-up and decay scaled to ``--iters`` and
``--batch`` patches a step, validated every ``--eval-interval`` iterations on
``--eval-images`` BSDS500 validation images at K = 100.

Each run resumes where it stopped (``last.pt`` in its folder), so an interrupted
benchmark continues. Writes ``<out>/float32/`` and ``<out>/bfloat16/`` (``log.csv``,
``config.json``, checkpoints) and ``<out>/README.md``: the ASA and BR of both at every
validation, their difference, and the samples per second of each (the median of the
logged rates between validations), with the CPU model, its bf16 capability, the threads
and the CPU share other processes took.

    python benchmarks/amp_convergence.py [--iters 2000] [--batch 2] [--threads 2]
        [--out results/training/amp_bf16]
"""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

from _common import REPO, OtherCPUShare, arguments, parse

#: the limit of issue #29 on the final validation ASA of the two runs
ASA_LIMIT = 0.002


def run_settings(args, amp) -> dict:
    """The ``ssn.train`` settings of one run: the CPU recipe at this benchmark's size."""
    return {
        "feature_net": "deep", "data_root": str(args.data / "BSDS500" / "data"),
        "batch_size": args.batch, "max_iters": args.iters, "amp": amp, "seed": args.seed,
        "lr_warmup_iters": max(1, args.iters // 60), "lr_decay": "cosine",
        "eval_interval": args.eval_interval, "eval_images": args.eval_images,
        "checkpoint_interval": 100, "log_interval": 25, "threads": args.threads,
        "deterministic": True, "progress": False,
    }  # fmt: skip


def train_one(args, name: str, amp) -> Path:
    from ssn.train import load_config, train

    folder = args.out / name
    settings = {**run_settings(args, amp), "out_dir": str(folder)}
    if (folder / "last.pt").is_file():
        settings["init_from"] = "resume"
    config = load_config(REPO / "config" / "train" / "cpu_recipe.yaml", settings)
    summary = train(config)
    print(f"{name}: iteration {summary['iter']} ({summary['trained']} trained this time)")
    return folder / "log.csv"


def read_log(path: Path) -> tuple[dict, list[float]]:
    """Validation rows (iteration → ASA, BR) and the logged samples/s between them."""
    scores, rates = {}, []
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            if row["val_asa"]:
                scores[int(row["iter"])] = (float(row["val_asa"]), float(row["val_br"]))
            elif row["samples_per_s"]:
                rates.append(float(row["samples_per_s"]))
    return scores, rates


def report(args, logs: dict, load: float) -> str:
    from ssn.devices import cpu_has_native_bf16, cpu_model

    (f32, f32_rates), (bf16, bf16_rates) = read_log(logs["float32"]), read_log(logs["bfloat16"])
    lines = [
        "# SSN_deep: float32 against bf16 autocast, same seed (issue #29)", "",
        f"`python benchmarks/amp_convergence.py --iters {args.iters} --batch {args.batch} "
        f"--threads {args.threads}`: the CPU recipe at {args.batch} patches of 101×101 a "
        f"step, validated on {args.eval_images} BSDS500 val images at K = 100.", "",
        f"CPU: {cpu_model()}, native bf16: {cpu_has_native_bf16()}, {args.threads} threads, "
        f"other processes took {load:.0%} of the CPU meanwhile.", "",
        "| iteration | ASA float32 | ASA bf16 | Δ ASA | BR float32 | BR bf16 | Δ BR |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]  # fmt: skip
    for it in sorted(set(f32) & set(bf16)):
        (a32, b32), (a16, b16) = f32[it], bf16[it]
        lines.append(f"| {it} | {a32:.4f} | {a16:.4f} | {a16 - a32:+.4f} | {b32:.4f} | "
                     f"{b16:.4f} | {b16 - b32:+.4f} |")  # fmt: skip
    last = max(set(f32) & set(bf16), default=None)
    if last is not None:
        gap = abs(bf16[last][0] - f32[last][0])
        verdict = "within" if gap <= ASA_LIMIT else "NOT within"
        lines += ["", f"At iteration {last}: |Δ ASA| = {gap:.4f}, {verdict} the limit "
                  f"{ASA_LIMIT}."]  # fmt: skip
    if f32_rates and bf16_rates:
        r32, r16 = statistics.median(f32_rates), statistics.median(bf16_rates)
        lines += ["", f"Samples per second (median of the logged rates): float32 {r32:.2f}, "
                  f"bf16 {r16:.2f}: **{r16 / r32:.2f}×**."]  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = arguments(__doc__)
    parser.add_argument("--iters", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--eval-interval", type=int, default=500)
    parser.add_argument("--eval-images", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "results" / "training" / "amp_bf16")
    args = parse(parser, argv)

    from ssn.devices import cpu_has_native_bf16

    if not cpu_has_native_bf16():
        print("note: this CPU emulates bf16: amp=auto trains in float32 here, the runs agree")
    with OtherCPUShare() as load:
        logs = {"float32": train_one(args, "float32", False),
                "bfloat16": train_one(args, "bfloat16", "auto")}  # fmt: skip
    text = report(args, logs, load.share)
    (args.out / "README.md").write_text(text)
    print(text)
    if args.json:
        args.json.write_text(json.dumps({"logs": {k: str(v) for k, v in logs.items()}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
