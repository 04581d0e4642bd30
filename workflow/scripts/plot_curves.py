# ruff: noqa: F821  (`snakemake` is injected by the script directive)
"""Metric curves against the realised number of superpixels, BR-BP curves, ablation."""

from _jobs import start_job

log = start_job(snakemake)

import pandas as pd  # noqa: E402
from _plots import DATASET_NAMES, METRIC_NAMES, RC, line_style, plt, save  # noqa: E402

spec = snakemake.params.spec
styles = snakemake.params.styles
summary = pd.read_csv(snakemake.input.summary)
data = summary[(summary["dataset"] == spec["dataset"]) & (summary["protocol"] == spec["protocol"])]
methods = [m for m in styles if m in set(data["method"])]
if spec["kind"] == "ablation":
    methods = [m for m in spec["methods"] if m in set(data["method"])]
if not methods:
    raise ValueError(f"no results for {spec} in {snakemake.input.summary}")
dataset = DATASET_NAMES.get(spec["dataset"], spec["dataset"])
plt.rcParams.update(RC)


def curve(ax, metric, x="n_superpixels"):
    for m in methods:
        rows = data[data["method"] == m].sort_values("k")
        ax.plot(rows[x], rows[metric], **line_style(styles[m]))
    ax.set_ylabel(METRIC_NAMES[metric])
    ax.set_xlabel("Number of superpixels" if x == "n_superpixels" else METRIC_NAMES[x])


if spec["kind"] == "curve":
    fig, ax = plt.subplots(figsize=(4.2, 3.2))
    curve(ax, spec["metric"])
    # ASA, UE and EPE do not depend on the boundary protocol
    proto = f" ({spec['protocol']} protocol)" if spec["metric"] in ("br", "bp") else ""
    ax.set_title(f"{dataset}: {METRIC_NAMES[spec['metric']]}{proto}")
    ax.legend(loc="best", ncol=2 if len(methods) > 5 else 1)
elif spec["kind"] == "br_bp":
    fig, ax = plt.subplots(figsize=(4.2, 3.2))
    for m in methods:
        rows = data[data["method"] == m].sort_values("k")
        ax.plot(rows["br"], rows["bp"], **line_style(styles[m]))
    ax.set_xlabel(METRIC_NAMES["br"])
    ax.set_ylabel(METRIC_NAMES["bp"])
    ax.set_title(f"{dataset}: BR-BP ({spec['protocol']} protocol)")
    ax.legend(loc="best", ncol=2 if len(methods) > 5 else 1)
elif spec["kind"] == "ablation":
    fig, axes = plt.subplots(1, 2, figsize=(7.6, 3.2))
    curve(axes[0], "asa")
    curve(axes[1], "br")
    axes[0].set_title(f"{dataset}: ASA")
    axes[1].set_title(f"{dataset}: BR ({spec['protocol']} protocol)")
    axes[1].legend(loc="best")
    fig.suptitle("SSN ablation: feature network and iterations", fontsize=9)
    fig.tight_layout()
else:
    raise ValueError(f"unknown figure kind {spec['kind']!r}")

save(fig, snakemake.output.pdf, snakemake.output.png)
log.info("%s: %d methods", snakemake.wildcards.figure, len(methods))
