# ruff: noqa: F821  (`snakemake` is injected by the script directive)
"""Boundary overlays of every method on the same images (one row per image)."""

from pathlib import Path

from _jobs import dataset_items, start_job

log = start_job(snakemake)

import numpy as np  # noqa: E402
from _plots import RC, plt  # noqa: E402
from PIL import Image  # noqa: E402
from skimage.segmentation import find_boundaries  # noqa: E402

from ssn.io import read_label_image  # noqa: E402

methods = list(snakemake.params.methods)
styles = snakemake.params.styles
items = dataset_items(snakemake.wildcards.dataset, snakemake.input.stamp, snakemake.params.dataset)
items = items[: snakemake.params.n_images]
crop = getattr(snakemake.params, "crop", 200)  # centred square crop (px); None = whole image


def window(shape):
    """Slices of the centred crop (the whole image when crop is None or larger)."""
    if not crop:
        return slice(None), slice(None)
    h, w = shape[:2]
    top, left = max(0, (h - crop) // 2), max(0, (w - crop) // 2)
    return slice(top, top + crop), slice(left, left + crop)


plt.rcParams.update(RC)
side = 1.9 if crop else 2.2
fig, axes = plt.subplots(
    len(items), len(methods), figsize=(side * len(methods), side * len(items)), squeeze=False
)
for r, item in enumerate(items):
    image = item.load().image
    for c, (method, folder) in enumerate(zip(methods, snakemake.input.labels, strict=True)):
        labels = read_label_image(Path(folder) / f"{item.id}.png")
        drawn = image.copy()
        drawn[find_boundaries(labels, mode="inner")] = (255, 255, 0)
        ax = axes[r, c]
        ax.imshow(drawn[window(drawn.shape)], interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        for spine in ax.spines.values():
            spine.set_visible(False)
        title = f"{styles[method]['label']} ({int(np.unique(labels).size)})"
        ax.set_title(title, fontsize=7, color=styles[method]["color"])
what = f"centre {crop}x{crop} px crops; " if crop else ""
fig.suptitle(f"K = {snakemake.params.k} requested ({what}realised count in brackets)", fontsize=8)
fig.tight_layout()
fig.savefig(snakemake.output.pdf, bbox_inches="tight")
fig.savefig(snakemake.output.png, bbox_inches="tight", dpi=100)
plt.close(fig)
# photographs compress poorly in PNG: a 256-colour palette keeps the file small
Image.open(snakemake.output.png).convert("RGB").quantize(colors=256).save(
    snakemake.output.png, optimize=True
)
log.info("%d images x %d methods", len(items), len(methods))
