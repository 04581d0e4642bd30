# ruff: noqa: F821  (`snakemake` is injected by the script directive)
"""Time every method at several K on a few images of one size (exclusive job)."""

import statistics

import _jobs as jobs

log = jobs.start_job(snakemake, threads=True)

import pandas as pd  # noqa: E402

from ssn.devices import device_name  # noqa: E402

size = snakemake.params.size
options = dict(snakemake.params.dataset)
options["split"] = size["split"]
options["max_images"] = size.get("n_images", 3)
if size["dataset"] == "cityscapes":
    options["scale"] = size.get("scale", 0.5)
items = jobs.dataset_items(size["dataset"], snakemake.input.stamp, options)
samples = [item.load() for item in items]
images = [(s.image, s.next_frame) for s in samples]  # frame pairs: Sintel
repeats = int(snakemake.params.repeats)

rows = []
for method, spec in snakemake.params.methods.items():
    segmenter, device = jobs.load_segmenter(spec)  # device auto: resolved here
    for k in snakemake.params.n_segments:
        times, counts = [], []
        with jobs.OtherCPUShare() as load:
            for image, next_frame in images:
                jobs.timed_segmentation(segmenter, image, k, next_frame, device)  # warm-up
                per_image = []
                for _ in range(repeats):
                    labels, ms = jobs.timed_segmentation(segmenter, image, k, next_frame, device)
                    per_image.append(ms)
                times.append(statistics.median(per_image))
                counts.append(int(labels.max()) + 1)
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
                "precision": segmenter.precision or "",  # SSN's network; blank: a baseline
                "threads": snakemake.threads,
                "other_cpu_share": load.share,
            }
        )
        log.info("%s K=%d: %.1f ms", method, k, rows[-1]["ms_per_image"])

pd.DataFrame(rows).to_csv(snakemake.output.times, index=False, float_format="%.6g")
