"""Helpers of the benchmark workflow's jobs (workflow/scripts/): logging, threads, the
device, datasets as item lists, segmenters and their timing."""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path


def setup_logging(log_path) -> logging.Logger:
    """Send stderr (tracebacks included) and a logger to the rule's log file."""
    handle = open(log_path, "w", buffering=1)  # noqa: SIM115 - lives as long as the job
    sys.stderr = handle
    logging.basicConfig(
        stream=handle, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    return logging.getLogger("ssn-bench")


def set_threads(n: int) -> None:
    """Use exactly the job's threads in torch, numba and OpenCV."""
    n = max(1, int(n))
    import torch

    torch.set_num_threads(n)
    try:
        import numba

        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    except ImportError:
        pass
    try:
        import cv2

        cv2.setNumThreads(n)
    except ImportError:
        pass


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
    with one of two cores busy (NaN where /proc/stat is missing).

    >>> with OtherCPUShare() as load:
    ...     pass
    >>> 0 <= load.share <= 1 or load.share != load.share
    True
    """

    share = float("nan")

    def __enter__(self) -> OtherCPUShare:
        self._start = busy_cpu_seconds(), time.process_time(), time.time()
        return self

    def __exit__(self, *exc) -> None:
        busy, own, wall = self._start
        others = busy_cpu_seconds() - busy - (time.process_time() - own)
        elapsed = max(time.time() - wall, 1e-9)
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


def median_ms(fn, repeats: int) -> float:
    """The median wall time of ``repeats`` calls of ``fn()``, in milliseconds."""
    import statistics
    import time

    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def timed_segmentation(segmenter, image, k: int, next_frame, device):
    """``(labels, ms)`` of one call of a :func:`load_segmenter` segmenter.

    ``next_frame`` (Sintel's) reaches only the methods that take frame pairs. CUDA work
    is waited for on both sides, so the time is the call's and not that of kernels still
    queued before it or after it.
    """
    import time

    from ssn.devices import synchronize

    frame = next_frame if segmenter.takes_frame_pair else None
    synchronize(device)
    start = time.perf_counter()
    labels = segmenter(image, k, frame)
    synchronize(device)
    return labels, 1000.0 * (time.perf_counter() - start)
