# ruff: noqa: F821  (`snakemake` is injected by the script directive)
"""One dataset x metric: each method's curve with its bands over images (one std, and
from the worst to the best image), one panel per method, the others' curves in grey."""

import math

from _jobs import start_job

log = start_job(snakemake)

import pandas as pd  # noqa: E402
from _plots import DATASET_NAMES, METRIC_NAMES, RC, plt, save  # noqa: E402

dataset = snakemake.wildcards.dataset
metric = snakemake.wildcards.metric
styles = snakemake.params.styles
table = pd.read_csv(snakemake.input.table)
data = table[(table["dataset"] == dataset) & (table["protocol"] == snakemake.params.protocol)]
methods = [m for m in styles if m in set(data["method"])]
if not methods:
    raise ValueError(f"no stability rows for {dataset} in {snakemake.input.table}")

plt.rcParams.update(RC)
ncols = min(4, len(methods))
nrows = math.ceil(len(methods) / ncols)
fig, axes = plt.subplots(nrows, ncols, figsize=(2.6 * ncols, 2.2 * nrows), sharex=True,
                         sharey=True, squeeze=False)  # fmt: skip
curves = {m: data[data["method"] == m].sort_values("k") for m in methods}
for ax, m in zip(axes.flat, methods, strict=False):
    for other in methods:  # the others, for reference
        if other != m:
            rows = curves[other]
            ax.plot(rows["n_superpixels"], rows[f"{metric}_mean"], color="0.8", lw=0.8)
    rows, colour = curves[m], styles[m]["color"]
    x, mean, std = rows["n_superpixels"], rows[f"{metric}_mean"], rows[f"{metric}_std"]
    ax.fill_between(x, rows[f"{metric}_min"], rows[f"{metric}_max"], color=colour, alpha=0.15,
                    lw=0, label="worst to best image")  # fmt: skip
    ax.fill_between(x, mean - std, mean + std, color=colour, alpha=0.35, lw=0, label="± 1 std")
    ax.plot(x, mean, color=colour, marker="o", label="mean")
    # the range as bars too: a band needs two K, a bar shows it at one
    ax.errorbar(x, mean, yerr=[mean - rows[f"{metric}_min"], rows[f"{metric}_max"] - mean],
                fmt="none", ecolor=colour, elinewidth=0.8, capsize=2)  # fmt: skip
    ax.set_title(styles[m]["label"])
for ax in axes.flat[len(methods) :]:
    ax.set_visible(False)
for ax in axes[-1]:
    ax.set_xlabel("Number of superpixels")
for ax in axes[:, 0]:
    ax.set_ylabel(METRIC_NAMES[metric])
axes.flat[0].legend(loc="best")
proto = f", {snakemake.params.protocol} protocol" if metric == "br" else ""
fig.suptitle(f"{DATASET_NAMES.get(dataset, dataset)}: {METRIC_NAMES[metric]} over images "
             f"({int(data['n_images'].max())} images{proto})", fontsize=9)  # fmt: skip
fig.tight_layout()
save(fig, snakemake.output.pdf, snakemake.output.png)
log.info("%s %s: %d methods", dataset, metric, len(methods))
