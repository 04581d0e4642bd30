"""One matplotlib style for every figure of the benchmark workflow (Agg backend)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

RC = {
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "legend.fontsize": 7.5,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.5,
    "lines.markersize": 4,
}

METRIC_NAMES = {
    "asa": "ASA",
    "br": "Boundary recall",
    "bp": "Boundary precision",
    "ue": "Undersegmentation error",
    "epe": "Flow EPE (px)",
    "co": "Compactness",
    "ev": "Explained variation",
}

DATASET_NAMES = {
    "bsds500": "BSDS500",
    "voc2012": "Pascal VOC 2012",
    "cityscapes": "Cityscapes",
    "sintel": "MPI-Sintel",
}


def line_style(style: dict) -> dict:
    """Colour, line and marker of a method (SSN variants solid, baselines dashed)."""
    ssn = style.get("family") == "ssn"
    return {
        "color": style["color"],
        "linestyle": "-" if ssn else "--",
        "marker": "o" if ssn else "s",
        "label": style["label"],
    }


def save(fig, pdf, png) -> None:
    fig.savefig(pdf, bbox_inches="tight")
    fig.savefig(png, bbox_inches="tight")
    plt.close(fig)
