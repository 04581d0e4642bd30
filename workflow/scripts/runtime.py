# ruff: noqa: F821  (`snakemake` is injected by the script directive)
"""Time every method at several K on a few images of one size (exclusive job)."""

import os
import statistics
import time

from ssn.bench.jobs import (
    busy_cpu_seconds,
    dataset_items,
    device_name,
    load_segmenter,
    set_threads,
    setup_logging,
    timed_segmentation,
)

log = setup_logging(snakemake.log[0])

import pandas as pd  # noqa: E402

set_threads(snakemake.threads)
size = snakemake.params.size
options = dict(snakemake.params.dataset)
options["split"] = size["split"]
options["max_images"] = size.get("n_images", 3)
if size["dataset"] == "cityscapes":
    options["scale"] = size.get("scale", 0.5)
items = dataset_items(size["dataset"], snakemake.input.stamp, options)
samples = [item.load() for item in items]
images = [(s.image, s.next_frame) for s in samples]  # frame pairs: Sintel
repeats = int(snakemake.params.repeats)

rows = []
for method, spec in snakemake.params.methods.items():
    segmenter, device = load_segmenter(spec)  # device auto: resolved here
    for k in snakemake.params.n_segments:
        times, counts = [], []
        busy_start, own_start, wall_start = busy_cpu_seconds(), time.process_time(), time.time()
        for image, next_frame in images:
            timed_segmentation(segmenter, image, k, next_frame, device)  # warm-up
            per_image = []
            for _ in range(repeats):
                labels, ms = timed_segmentation(segmenter, image, k, next_frame, device)
                per_image.append(ms)
            times.append(statistics.median(per_image))
            counts.append(int(labels.max()) + 1)
        # CPU that other processes took meanwhile, as a share of the whole machine
        others = busy_cpu_seconds() - busy_start - (time.process_time() - own_start)
        other_share = max(0.0, others) / ((time.time() - wall_start) * os.cpu_count())
        rows.append(
            {
                "size": snakemake.wildcards.size,
                "height": images[0][0].shape[0],
                "width": images[0][0].shape[1],
                "method": method,
                "k": k,
                "ms_per_image": statistics.mean(times),
                "ms_min_image": min(times),
                "ms_max_image": max(times),
                "n_superpixels": statistics.mean(counts),
                "n_images": len(images),
                "repeats": repeats,
                "device": device_name(device),
                "threads": snakemake.threads,
                "other_cpu_share": other_share,
            }
        )
        log.info("%s K=%d: %.1f ms", method, k, rows[-1]["ms_per_image"])

pd.DataFrame(rows).to_csv(snakemake.output.times, index=False, float_format="%.6g")
