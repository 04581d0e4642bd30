"""SEEDS (Van den Bergh et al., ECCV 2012), OpenCV ximgproc implementation.

SEEDS starts from a block grid whose size is fixed by the image size, the requested
count and the number of block levels, so the realised count can differ from the request
by tens of percent. The request handed to OpenCV is corrected (up to ``max_retries``
times) by the ratio of realised to requested counts.
"""

from __future__ import annotations

import numpy as np

from ._common import enforce_connectivity, to_uint8
from .registry import register
from .slic import _check_int


@register("seeds", "SEEDS, OpenCV ximgproc implementation (Lab histograms)")
def seeds(
    rgb,
    n_segments,
    *,
    seed=0,
    num_levels=4,
    prior=2,
    histogram_bins=5,
    double_step=False,
    num_iterations=4,
    tolerance=0.08,
    max_retries=3,
):
    import cv2

    num_levels = _check_int("num_levels", num_levels, 1)
    prior = _check_int("prior", prior, 0)
    if prior > 5:
        raise ValueError(f"prior must be in [0, 5], got {prior}")
    histogram_bins = _check_int("histogram_bins", histogram_bins, 1)
    num_iterations = _check_int("num_iterations", num_iterations, 1)
    max_retries = _check_int("max_retries", max_retries, 0)
    if not isinstance(tolerance, (int, float)) or not tolerance > 0:
        raise ValueError(f"tolerance must be a positive number, got {tolerance!r}")
    height, width = rgb.shape[:2]
    lab = cv2.cvtColor(to_uint8(rgb), cv2.COLOR_RGB2Lab)

    def run(request):
        sp = cv2.ximgproc.createSuperpixelSEEDS(
            width, height, 3, int(request), num_levels, prior, histogram_bins, bool(double_step)
        )
        sp.iterate(lab, num_iterations)
        return enforce_connectivity(sp.getLabels())

    request = n_segments
    best = None
    tried = set()
    for _ in range(max_retries + 1):
        tried.add(request)
        labels = run(request)
        count = int(labels.max()) + 1
        if best is None or abs(count - n_segments) < abs(best[1] - n_segments):
            best = (labels, count)
        if abs(count - n_segments) <= tolerance * n_segments:
            break
        request = int(np.clip(round(request * n_segments / count), 1, height * width))
        if request in tried:
            break
    return best[0]
