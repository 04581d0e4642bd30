# ruff: noqa: F821  (`snakemake` is injected by the script directive)
"""One perturbation's figure: ASA, BR and UE against its strength, one line per method."""

from _jobs import start_job

log = start_job(snakemake)

import pandas as pd  # noqa: E402
from _plots import METRIC_NAMES, RC, line_style, plt, save  # noqa: E402

kind = snakemake.wildcards.perturbation
styles = snakemake.params.styles
table = pd.read_csv(snakemake.input.table)
data = table[table["perturbation"] == kind]
methods = [m for m in styles if m in set(data["method"])]
if not methods:
    raise ValueError(f"no robustness results for {kind} in {snakemake.input.table}")

STRENGTH_NAMES = {
    "gaussian_noise": "Noise sigma (fraction of the intensity range)",
    "salt_and_pepper": "Share of pixels set to black or white",
    "gaussian_blur": "Gaussian kernel size (px)",
    "average_blur": "Box filter size (px)",
    "rotation": "Rotation (degrees)",
    "shear": "Shear (px per row)",
}
plt.rcParams.update(RC)
fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.2))
for ax, metric in zip(axes, ("asa", "br", "ue"), strict=True):
    for m in methods:
        rows = data[data["method"] == m].sort_values("strength")
        ax.plot(rows["strength"], rows[metric], **line_style(styles[m]))
    ax.set_xlabel(STRENGTH_NAMES.get(kind, kind))
    ax.set_ylabel(METRIC_NAMES[metric])
    ax.set_xticks(sorted(set(data["strength"])))
axes[-1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))  # beside the panels
fig.suptitle(f"Robustness to {kind.replace('_', ' ')} ({int(data['n_images'].max())} images; "
             "strength 0: the clean images)", fontsize=9)  # fmt: skip
fig.tight_layout()
save(fig, snakemake.output.pdf, snakemake.output.png)
log.info("%s: %d methods", kind, len(methods))
