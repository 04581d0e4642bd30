# ruff: noqa: F821  (`snakemake` is injected by the script directive)
"""Segment every image of a dataset with one method at one K: label PNGs + timing TSV."""

from pathlib import Path

import _jobs as jobs

log = jobs.start_job(snakemake, threads=True)

import pandas as pd  # noqa: E402

from ssn.devices import device_name  # noqa: E402
from ssn.io import write_label_image  # noqa: E402

dataset = snakemake.wildcards.dataset
k = int(snakemake.wildcards.k)
spec = snakemake.params.segment
items = jobs.dataset_items(dataset, snakemake.input.stamp, snakemake.params.dataset)
segmenter, device = jobs.load_segmenter(spec)  # device auto: resolved here
out = Path(snakemake.output.labels)
out.mkdir(parents=True, exist_ok=True)
precision = segmenter.precision or ""  # the SSN network's, auto resolved; none for a baseline
log.info("%s: %d images, method %s, K=%d on %s %s", dataset, len(items), spec, k, device, precision)

rows = []
for n, item in enumerate(items):
    sample = item.load()
    image, next_frame = sample.image, sample.next_frame
    if n == 0:  # warm-up: JIT compilation, model transfer, allocator
        jobs.timed_segmentation(segmenter, image, k, next_frame, device)
    labels, ms = jobs.timed_segmentation(segmenter, image, k, next_frame, device)
    write_label_image(out / f"{item.id}.png", labels)
    rows.append(
        {
            "image": item.id,
            "height": image.shape[0],
            "width": image.shape[1],
            "n_superpixels": int(labels.max()) + 1,
            "time_ms": ms,
        }
    )
    log.info("%s: %d superpixels, %.1f ms", item.id, rows[-1]["n_superpixels"], ms)

table = pd.DataFrame(rows)
table["device"] = device_name(device)
table["threads"] = snakemake.threads
table["precision"] = precision
table.to_csv(snakemake.output.timing, sep="\t", index=False)
log.info("mean %.1f ms per image", table["time_ms"].mean())
