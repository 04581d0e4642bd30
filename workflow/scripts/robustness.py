# ruff: noqa: F821  (`snakemake` is injected by the script directive)
"""Robustness of one method to one perturbation: segment the perturbed copies of the
dataset's images at every strength, evaluate them against the moved ground truth (void
pixels left out), one row per image x strength x annotation."""

import json
import zlib

import _jobs as jobs

log = jobs.start_job(snakemake, threads=True)

import pandas as pd  # noqa: E402

from ssn.metrics import evaluate_image  # noqa: E402
from ssn.perturbations import perturb  # noqa: E402

dataset = snakemake.wildcards.dataset
method = snakemake.wildcards.method
kind = snakemake.wildcards.perturbation
job = snakemake.params.job
k = job["k"]
items = jobs.dataset_items(dataset, snakemake.input.stamp, job["images"])
segmenter, device = jobs.load_segmenter(job["segment"])  # device auto: resolved here
log.info("%s: %d images, %s at %s, method %s, K=%d on %s", dataset, len(items), kind,
         job["strengths"], job["segment"], k, device)  # fmt: skip


def image_seed(image: str, strength) -> int:
    """The noise seed of one image x strength: the same for every method (so all of them
    see the same noisy image), different between images and strengths."""
    return zlib.crc32(f"{job['seed']}/{image}/{kind}/{strength}".encode())


rows = []
for item in items:
    sample = item.load()
    for strength in job["strengths"]:
        seed = image_seed(item.id, strength)
        out = perturb(sample.image, sample.annotations, kind=kind, strength=strength, seed=seed)
        if not rows:  # warm-up: JIT compilation, model transfer, allocator
            jobs.timed_segmentation(segmenter, out.image, k, None, device)
        labels, ms = jobs.timed_segmentation(segmenter, out.image, k, None, device)
        result = evaluate_image(
            labels,
            out.ground_truths,
            protocol=job["protocol"],
            tolerance=job["tolerance"],
            ignore_labels=sample.ignore_labels,
            void_boundaries=job["void_boundaries"] or sample.void_boundaries,
            valid=out.valid,
        )
        base = {"dataset": dataset, "method": method, "k": k, "perturbation": kind,
                "strength": strength, "image": item.id, "protocol": job["protocol"],
                "tolerance": result.tolerance, "n_superpixels": result.n_superpixels,
                "n_void": int((~out.valid).sum()), "time_ms": ms, "seed": seed,
                "parameters": json.dumps(out.parameters, sort_keys=True)}  # fmt: skip
        for a, metrics in enumerate(result.per_annotation):
            rows.append({**base, "annotation": a, **metrics})
        log.info("%s %s=%s: %d superpixels, BR %.4f, %.1f ms", item.id, kind, strength,
                 result.n_superpixels, result.mean()["br"], ms)  # fmt: skip

table = pd.DataFrame(rows)
table.to_csv(snakemake.output.metrics, index=False, float_format="%.6g")
log.info("%d rows", len(table))
