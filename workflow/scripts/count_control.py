# ruff: noqa: F821  (`snakemake` is injected by the script directive)
"""Control over the number of superpixels: realised against requested K per dataset,
method and K, with connectivity (CSV, Markdown), and the figure of count against K."""

import math

from _jobs import start_job

log = start_job(snakemake)

import pandas as pd  # noqa: E402
from _plots import DATASET_NAMES, RC, line_style, plt, save  # noqa: E402
from _tables import count_control_table, markdown  # noqa: E402

table = pd.read_csv(snakemake.input.table, dtype={"image": str})
counts = count_control_table(table, snakemake.params.labels)
counts.to_csv(snakemake.output.csv, index=False, float_format="%.6g")
with open(snakemake.output.md, "w") as fh:
    fh.write("Realised superpixel count against the requested K (over images); relative "
             "errors (count - K) / K, the worst: the image farthest from K, negative: too "
             "few. n_disconnected: superpixels that are not one 4-connected region, summed "
             "over the images.\n\n")  # fmt: skip
    for dataset, part in counts.groupby("dataset", sort=True):
        fh.write(f"## {dataset}\n\n")
        columns = ["label", "k", "n_images", "mean", "std", "min", "max",
                   "mean_relative_error", "worst_relative_error", "n_disconnected"]  # fmt: skip
        fh.write(markdown(part[columns]) + "\n\n")

styles = snakemake.params.styles
datasets = list(dict.fromkeys(counts["dataset"]))
plt.rcParams.update(RC)
ncols = min(2, len(datasets))
nrows = math.ceil(len(datasets) / ncols)
fig, axes = plt.subplots(nrows, ncols, figsize=(4.8 * ncols, 3.6 * nrows), squeeze=False)
for ax, dataset in zip(axes.flat, datasets, strict=False):
    part = counts[counts["dataset"] == dataset]
    methods = [m for m in styles if m in set(part["method"])]
    ax.axhline(1.0, color="0.5", ls=":", lw=1, label="requested")
    for i, m in enumerate(methods):
        rows = part[part["method"] == m].sort_values("k")
        # the count as a share of K (so that 100 and 1200 read alike), methods side by
        # side around each K so that their bars do not hide each other
        dodge = 1.0 + 0.012 * (i - (len(methods) - 1) / 2)
        ratio = rows["mean"] / rows["k"]
        errors = [ratio - rows["min"] / rows["k"], rows["max"] / rows["k"] - ratio]
        ax.errorbar(rows["k"] * dodge, ratio, yerr=errors, capsize=1.5, **line_style(styles[m]))
    ax.set_xscale("log")
    ks = sorted(set(part["k"]))
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.minorticks_off()
    ax.set_xlabel("Requested K")
    ax.set_ylabel("Realised count / K (mean; bar: min to max image)")
    ax.set_title(DATASET_NAMES.get(dataset, dataset))
for ax in axes.flat[len(datasets) :]:
    ax.set_visible(False)
fig.tight_layout()
handles, names = axes.flat[0].get_legend_handles_labels()  # every method is on the first
fig.legend(handles, names, loc="center left", bbox_to_anchor=(1.0, 0.5))
save(fig, snakemake.output.pdf, snakemake.output.png)
log.info("%d rows", len(counts))
