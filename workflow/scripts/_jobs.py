"""What the workflow's job scripts share (each imports it first: Snakemake puts this
folder on their ``sys.path``): the start of a job's process, the CPU other processes
took, datasets as item lists, the segmenters and their timing, and the reproduction
gap's table. Kept out of the ``ssn`` library: it replaces ``sys.stderr`` and reads
``/proc/stat``.

The benchmarks (``benchmarks/_common.py``) take :class:`OtherCPUShare` and
:func:`reproduction_gap` from here.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from pathlib import Path

from ssn._parallel import passive_openmp_wait, set_threads


def start_job(snakemake, threads: bool = False) -> logging.Logger:
    """Start a job's process: OpenMP threads wait passively (set before torch or numba
    is loaded), stderr (tracebacks included) and a logger go to the rule's log file,
    and with ``threads`` torch, numba and OpenCV use exactly the job's threads."""
    passive_openmp_wait()
    handle = open(snakemake.log[0], "w", buffering=1)  # noqa: SIM115 - lives as long as the job
    sys.stderr = handle
    logging.basicConfig(
        stream=handle, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    if threads:
        set_threads(snakemake.threads)
    return logging.getLogger("ssn-bench")


def busy_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (Linux; NaN elsewhere).

    With :func:`time.process_time` of the timing process, the difference over a
    measurement is the CPU that other processes took meanwhile.
    """
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    except OSError:
        return float("nan")
    ticks = [int(v) for v in fields]  # user nice system idle iowait irq softirq steal
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


class OtherCPUShare:
    """Context manager measuring the share of the machine's CPU that processes other
    than this one took during the block: ``share`` is 0 on a quiet machine and 0.5
    with one of two cores busy (NaN where /proc/stat is missing)."""

    share = float("nan")

    def __enter__(self) -> OtherCPUShare:
        self._start = busy_cpu_seconds(), time.process_time(), time.time()
        return self

    def __exit__(self, *exc) -> None:
        busy, own, wall = self._start
        others = busy_cpu_seconds() - busy - (time.process_time() - own)
        elapsed = max(time.time() - wall, 1e-9)
        if math.isnan(others):  # max(0.0, nan) is 0.0: no /proc/stat must not read as quiet
            return
        self.share = min(1.0, max(0.0, others) / (elapsed * (os.cpu_count() or 1)))


def _stamp_root(stamp) -> Path:
    import json

    return Path(json.loads(Path(stamp).read_text())["root"])


def dataset_items(name: str, stamp, options: dict) -> list:
    """The evaluation items (:class:`ssn.data.EvaluationItem`) of a dataset, in a fixed
    order: the loader of ``name`` on the fetched folder, with the config's options."""
    from ssn import data

    root, split = _stamp_root(stamp), options["split"]
    extra = {"cityscapes": {"scale": options.get("scale", 1.0)},
             "sintel": {"pass_": options.get("pass", "clean"), "missing": "skip"}}  # fmt: skip
    items = data.LOADERS[name](root, split, **extra.get(name, {})).evaluation_items()
    if options.get("max_images"):
        items = items[: int(options["max_images"])]
    if not items:
        raise ValueError(f"{name}: split {split!r} has no images under {root}")
    return items


def load_segmenter(spec: dict):
    """``(segmenter, device)`` of a segmentation job's spec (``Plan.segment_params``):
    ``method`` and its settings for :func:`ssn.methods.load_segmenter`, whose ``device``
    may be ``auto`` (resolved here, by the machine that runs the job). Baselines run on
    the CPU."""
    import torch

    from ssn.devices import resolve_device
    from ssn.methods import load_segmenter as load

    settings = dict(spec)
    method = settings.pop("method")
    device = torch.device("cpu")
    if "device" in settings:
        settings["device"] = device = resolve_device(settings["device"])
    return load(method, **settings), device


def timed_segmentation(segmenter, image, k: int, next_frame, device):
    """``(labels, ms)`` of one call of a :func:`load_segmenter` segmenter.

    ``next_frame`` (Sintel's) reaches only the methods that take frame pairs. CUDA work
    is waited for on both sides, so the time is the call's and not that of kernels still
    queued before it or after it.
    """
    from ssn.devices import synchronize

    frame = next_frame if segmenter.takes_frame_pair else None
    synchronize(device)
    start = time.perf_counter()
    labels = segmenter(image, k, frame)
    synchronize(device)
    return labels, 1000.0 * (time.perf_counter() - start)


def _training_cost(record) -> dict:
    """Iterations, hours and device of a checkpoint's training (blank if unrecorded)."""
    if record is None:
        return {"iterations": None, "train_hours": None, "train_device": ""}
    from ssn.checkpoint import load_checkpoint

    state = load_checkpoint(record)
    seconds = state.get("train_seconds")
    return {
        "iterations": state.get("iter"),
        "train_hours": None if seconds is None else seconds / 3600,
        "train_device": state.get("train_device", ""),
    }


def reproduction_gap(summary, spec: dict, labels: dict, records: dict):
    """``(table, markdown)``: each trained model between SSN_pix and the paper's model.

    For each of ``spec["methods"]`` and each K that it, ``spec["baseline"]`` and
    ``spec["reference"]`` share in ``summary`` (the rows of ``spec["dataset"]`` and
    ``spec["protocol"]``), ASA and BR and the gap closure G = (ours - baseline) /
    (reference - baseline) of each (:func:`ssn.metrics.gap_closure`), with what the
    model's training cost (``records``: method -> its checkpoint, or None).
    """
    import pandas as pd

    from ssn.metrics import gap_closure

    rows = summary[
        (summary["dataset"] == spec["dataset"]) & (summary["protocol"] == spec["protocol"])
    ]
    by_method = {m: part.set_index("k") for m, part in rows.groupby("method")}
    baseline, reference = by_method[spec["baseline"]], by_method[spec["reference"]]
    table = []
    for method in spec["methods"]:
        ours = by_method[method]
        cost = _training_cost(records[method])
        for k in sorted(set(ours.index) & set(baseline.index) & set(reference.index)):
            row = {"method": method, "label": labels[method], "k": k,
                   "n_superpixels": ours.at[k, "n_superpixels"]}  # fmt: skip
            for metric in ("asa", "br"):
                pix, paper, mine = (
                    baseline.at[k, metric],
                    reference.at[k, metric],
                    ours.at[k, metric],
                )
                row.update({f"{metric}_pix": pix, f"{metric}_paper": paper, metric: mine,
                            f"g_{metric}": gap_closure(mine, pix, paper)})  # fmt: skip
            table.append({**row, **cost})
    table = pd.DataFrame(table)
    lines = [
        f"Reproduction gap on {spec['dataset']} ({spec['protocol']} protocol): "
        f"G = (ours - {labels[spec['baseline']]}) / "
        f"({labels[spec['reference']]} - {labels[spec['baseline']]})\n",
        "| model | K | ASA | G (ASA) | BR | G (BR) | training |\n|---|---:|---:|---:|---:|---:|---|",
    ]
    for _, r in table.iterrows():
        hours = "" if pd.isna(r["train_hours"]) else f", {r['train_hours']:.1f} h"
        iters = "" if pd.isna(r["iterations"]) else f"{int(r['iterations'])} it."
        where = f" on {r['train_device']}" if r["train_device"] else ""
        lines.append(f"| {r['label']} | {r['k']} | {r['asa']:.4f} | {r['g_asa']:.2f} | "
                     f"{r['br']:.4f} | {r['g_br']:.2f} | {iters}{hours}{where} |")  # fmt: skip
    return table, "\n".join(lines) + "\n"
