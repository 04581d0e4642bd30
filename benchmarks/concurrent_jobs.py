"""Two segmentation jobs at once against the same two one after the other.

Snakemake runs as many jobs as ``--cores`` allows, each with the ``threads`` its rule
gives (``threads.segment: 1`` by default), and its job scripts' ``start_job`` makes torch,
numba and OpenCV use exactly those. Each job here segments the same BSDS500 test images
at K = 400 (SSN_pix, then SSN_deep with the bundled weights) in a process of its own,
as a workflow job does. With 2 cores and 1 thread per job, running both at once must
not take longer than running them in turn (ratio ≤ 1; ideally ≈ 0.5).

Prints the CPU model and the share of the CPU other processes took.

    python benchmarks/concurrent_jobs.py [--images 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from _common import DEFAULT_DATA, busy_cpu_seconds

JOB = """
import sys
from pathlib import Path
sys.path.insert(0, {benchmarks!r})
from _common import set_threads  # as a workflow job starts: OpenMP wait policy, threads
set_threads({threads})
from ssn.io import read_image
from ssn.methods import load_segmenter
paths = sorted(Path({images!r}).glob("*.jpg"))[:{n}]
images = [read_image(p) for p in paths]
for model in ("pix", "deep"):
    segmenter = load_segmenter("ssn", model=model, device="cpu")
    for image in images:
        segmenter(image, 400)
"""


def run_jobs(count: int, code: str) -> float:
    """Wall seconds of ``count`` job processes started together."""
    start = time.perf_counter()
    jobs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(count)]
    if any(job.wait() for job in jobs):
        sys.exit("a job failed")
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--images", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="threads per job")
    args = parser.parse_args(argv)

    from ssn.devices import cpu_model

    folder = args.data / "BSDS500" / "data" / "images" / "test"
    code = JOB.format(benchmarks=str(Path(__file__).parent), threads=args.threads,
                      images=str(folder), n=args.images)  # fmt: skip
    run_jobs(1, code)  # warm-up: numba's cache, the bundled weights in the page cache
    busy = busy_cpu_seconds()
    start = time.time()
    one_after_other = run_jobs(1, code) + run_jobs(1, code)
    together = run_jobs(2, code)
    load = (busy_cpu_seconds() - busy) / ((time.time() - start) * os.cpu_count())
    print(f"{cpu_model()} ({os.cpu_count()} logical CPUs), {args.threads} thread(s) per job, "
          f"{args.images} images x (SSN_pix, SSN_deep) per job")  # fmt: skip
    print(f"one after the other {one_after_other:.1f} s, at once {together:.1f} s: "
          f"ratio {together / one_after_other:.2f}")  # fmt: skip
    print(f"the whole machine was {load:.0%} busy meanwhile (these jobs included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
