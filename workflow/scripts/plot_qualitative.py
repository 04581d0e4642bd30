# ruff: noqa: F821  (`snakemake` is injected by the script directive)
"""Boundary overlays of every method on the same images (one row per image)."""

import sys
from pathlib import Path

sys.path.insert(0, snakemake.scriptdir)
from _common import dataset_items, setup_logging  # noqa: E402

log = setup_logging(snakemake.log[0])

import numpy as np  # noqa: E402
from _style import RC, plt, save  # noqa: E402
from skimage.segmentation import find_boundaries  # noqa: E402

from ssn.io import read_label_image  # noqa: E402

methods = list(snakemake.params.methods)
styles = snakemake.params.styles
items = dataset_items(snakemake.wildcards.dataset, snakemake.input.stamp, snakemake.params.dataset)
items = items[: snakemake.params.n_images]
plt.rcParams.update(RC)
fig, axes = plt.subplots(
    len(items), len(methods), figsize=(1.9 * len(methods), 1.45 * len(items)), squeeze=False
)
for r, item in enumerate(items):
    image = item.load()["image"]
    for c, (method, folder) in enumerate(zip(methods, snakemake.input.labels, strict=True)):
        labels = read_label_image(Path(folder) / f"{item.id}.png")
        drawn = image.copy()
        drawn[find_boundaries(labels, mode="inner")] = (255, 255, 0)
        ax = axes[r, c]
        ax.imshow(drawn)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        for spine in ax.spines.values():
            spine.set_visible(False)
        title = f"{styles[method]['label']} ({int(np.unique(labels).size)})"
        ax.set_title(title, fontsize=7, color=styles[method]["color"])
fig.suptitle(f"K = {snakemake.params.k} requested (realised count in brackets)", fontsize=8)
fig.tight_layout()
save(fig, snakemake.output.pdf, snakemake.output.png)
log.info("%d images x %d methods", len(items), len(methods))
