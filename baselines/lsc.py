"""LSC, Linear Spectral Clustering (Li & Chen, CVPR 2015), OpenCV ximgproc implementation."""

from __future__ import annotations

import math

from ._common import closest_count, enforce_connectivity, opencv_single_thread, to_uint8
from .registry import register
from .slic import _check_int, _check_positive


@register("lsc", "LSC (linear spectral clustering), OpenCV ximgproc implementation")
def lsc(rgb, n_segments, *, seed=0, ratio=0.075, num_iterations=10, min_element_size=20):
    import cv2

    ratio = _check_positive("ratio", ratio)
    num_iterations = _check_int("num_iterations", num_iterations, 1)
    min_element_size = _check_int("min_element_size", min_element_size, 0)
    height, width = rgb.shape[:2]
    lab = cv2.cvtColor(cv2.GaussianBlur(to_uint8(rgb), (3, 3), 0), cv2.COLOR_RGB2Lab)

    def run(region_size):
        # single-threaded: with several threads OpenCV's LSC is not deterministic
        with opencv_single_thread():
            sp = cv2.ximgproc.createSuperpixelLSC(lab, region_size=region_size, ratio=ratio)
            sp.iterate(num_iterations)
            if min_element_size > 0:
                sp.enforceLabelConnectivity(min_element_size)
        return enforce_connectivity(sp.getLabels(), max(1, int(0.25 * height * width / n_segments)))

    step = math.sqrt(height * width / n_segments)
    return closest_count(
        run, sorted({max(2, math.floor(step)), max(2, math.ceil(step))}), n_segments
    )
