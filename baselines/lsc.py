"""LSC, Linear Spectral Clustering (Li & Chen, CVPR 2015), OpenCV ximgproc implementation.

OpenCV's LSC has no input checks: it divides by zero (SIGFPE) when its seed grid has no
row or no column, e.g. on any 1-pixel-high image. The grid is computed here as in
OpenCV's ``initialize``/``GetChSeeds`` and only region sizes with a non-empty grid are
used (the one nearest to ``sqrt(H·W/K)`` from below); an image with none (one row or
one column, or an odd number of rows in two columns: 3x2, 5x2, ...) is a ValueError.
The smallest images are 2x2 (K up to 4).
"""

from __future__ import annotations

import math

import numpy as np

from ssn.validation import check_int, check_positive

from ._common import closest_count, opencv_labels, opencv_single_thread, to_uint8


def _safe_region_size(height: int, width: int, region_size: int) -> bool:
    """True when OpenCV's LSC seed grid for ``region_size`` has rows and columns.

    Transcribes ``SuperpixelLSCImpl::initialize`` and ``GetChSeeds`` (opencv_contrib,
    ximgproc ``lsc.cpp``): ``n = int(W·H / r²)``, ``cols = int(sqrt(n·W/H))``,
    ``rows = n / cols``, steps ``W / cols`` and ``H / rows``; a zero anywhere is a
    division by zero in OpenCV. Checked against OpenCV on 1257 safe and 297 unsafe
    combinations of sizes 1..20, 50, 400 and r = 2..45.
    """
    n = int(np.float32(width * height) / np.float32(region_size * region_size))
    if n < 1:
        return False
    cols = int(math.sqrt(n * (width / height)))
    if cols < 1 or n // cols < 1:
        return False
    return width // cols >= 1 and height // (n // cols) >= 1


def lsc(rgb, n_segments, *, ratio=0.075, num_iterations=10, min_element_size=20):
    import cv2

    ratio = check_positive("ratio", ratio)
    num_iterations = check_int("num_iterations", num_iterations, 1)
    min_element_size = check_int("min_element_size", min_element_size, 0)
    height, width = rgb.shape[:2]
    lab = cv2.cvtColor(cv2.GaussianBlur(to_uint8(rgb), (3, 3), 0), cv2.COLOR_RGB2Lab)

    def run(region_size):
        # single-threaded: with several threads OpenCV's LSC is not deterministic
        with opencv_single_thread():
            sp = cv2.ximgproc.createSuperpixelLSC(lab, region_size=region_size, ratio=ratio)
            return opencv_labels(sp, n_segments, num_iterations, min_element_size)

    step = math.sqrt(height * width / n_segments)
    sizes = [r for r in {max(2, math.floor(step)), max(2, math.ceil(step))}
             if _safe_region_size(height, width, r)]  # fmt: skip
    if not sizes:  # the largest safe region size below the ideal one
        sizes = [r for r in range(max(2, math.ceil(step)), 1, -1)
                 if _safe_region_size(height, width, r)][:1]  # fmt: skip
    if not sizes:
        raise ValueError(
            f"lsc cannot segment a {height}x{width} image: OpenCV's LSC needs a seed grid "
            "with at least one row and one column of cells of 2 pixels or more, which this "
            "image is too small or thin for; use another method, e.g. slic or snic"
        )
    return closest_count(run, sorted(sizes), n_segments)
