"""SEEDS (Van den Bergh et al., ECCV 2012), OpenCV ximgproc implementation.

SEEDS starts from a block grid whose size is fixed by the image size, the requested
count and the number of block levels, so the realised count can differ from the request
by tens of percent. The grid is known as soon as the object is created, so the request
handed to OpenCV is bisected for the grid count closest to the target, lowering
``num_levels`` (down to 2) when no request gets within ``tolerance`` — with 4 levels the
blocks are multiples of 8 pixels and the attainable counts are far apart. Even with 2
levels they are quantised: on a 481x321 image the grids near 1200 have 1040 or 1536
cells, so K=1200 gives 1040 (-13%). Fragments smaller than a tenth of the mean
superpixel area are merged into a neighbour.

OpenCV's SEEDS has no input checks: a block grid of fewer than two levels crashes
(SIGSEGV) and a request whose blocks cannot reach one pixel loops forever (a 2x2 image).
The grid is therefore computed here, mirroring OpenCV's ``initialize`` exactly, and
OpenCV is only called with a grid of at least two levels; an image too small for any
such grid is a ValueError: square images need at least 6x6 pixels, strips more of
the long side (2x50 and 4x200 are segmented, 3x200 is not), one row or column never.

``num_iterations`` (pixel-level boundary updates) defaults to 10 rather than OpenCV's 4:
each pass moves a boundary by about one pixel, and with 4 passes the boundaries stay
near the block grid (boundary recall 0.85 instead of 0.99 on a flat-region test image).
"""

from __future__ import annotations

import math

import numpy as np

from ssn.connectivity import enforce_connectivity
from ssn.validation import check_int

from ._common import to_uint8


def _seeds_grid(width: int, height: int, request: int, levels: int):
    """``(levels used, blocks across, blocks down)`` of OpenCV's SEEDS top level, or None
    where OpenCV would loop forever or divide by zero.

    A transcription of ``SuperpixelSEEDSImpl::initialize`` (opencv_contrib, ximgproc
    ``seeds.cpp``) in the same float32 arithmetic; checked equal to
    ``getNumberOfSuperpixels()`` on 7288 safe (size, request, levels) combinations.
    """
    request, levels = max(int(request), 10), max(int(levels), 2)
    f32 = np.float32
    rows = int(math.sqrt(f32(request) * f32(height) / f32(width)))
    if rows < 1:
        return None
    cols = rows * width // height
    if cols < 1:
        return None
    for used in range(levels, 0, -1):  # OpenCV: do { --levels } while (block < 1 pixel)
        block_w = f32(width) / f32(cols) / f32(1 << (used - 1))
        block_h = f32(height) / f32(rows) / f32(1 << (used - 1))
        if block_w >= 1 and block_h >= 1:
            break
    else:
        return None  # OpenCV shifts by a negative count here: an endless loop
    across, down = width // math.ceil(block_w), height // math.ceil(block_h)
    for _ in range(1, used):
        across, down = across // 2, down // 2
    return used, across, down


def _safe_count(width: int, height: int, request: int, levels: int) -> int:
    """Superpixels of OpenCV's initial grid where calling OpenCV is safe; otherwise 0
    when the request is too small for the image's aspect ratio (no row or no column of
    superpixels) and -1 when it is too large (blocks below one pixel, or a single level,
    on which OpenCV's iterate() crashes)."""
    rows = int(
        math.sqrt(np.float32(max(int(request), 10)) * np.float32(height) / np.float32(width))
    )
    if rows < 1 or rows * width // height < 1:
        return 0
    grid = _seeds_grid(width, height, request, levels)
    if grid is None or grid[0] < 2 or grid[1] * grid[2] < 1:
        return -1
    return grid[1] * grid[2]


def seeds(
    rgb,
    n_segments,
    *,
    num_levels=4,
    prior=2,
    histogram_bins=5,
    double_step=False,
    num_iterations=10,
    tolerance=0.08,
):
    import cv2

    num_levels = check_int("num_levels", num_levels, 1)
    prior = check_int("prior", prior, 0)
    if prior > 5:
        raise ValueError(f"prior must be in [0, 5], got {prior}")
    histogram_bins = check_int("histogram_bins", histogram_bins, 1)
    num_iterations = check_int("num_iterations", num_iterations, 1)
    if not isinstance(tolerance, (int, float)) or not tolerance > 0:
        raise ValueError(f"tolerance must be a positive number, got {tolerance!r}")
    height, width = rgb.shape[:2]
    lab = cv2.cvtColor(to_uint8(rgb), cv2.COLOR_RGB2Lab)

    def grid_count(request, levels):  # computed, never by calling OpenCV (see above)
        return _safe_count(width, height, request, levels)

    # The block grid (hence the count) is known before iterating: for each number of
    # levels, from the requested one down to 2, bisect the request for the grid count
    # closest to the target, and use the first level count that gets within tolerance.
    choice = None
    # thin images need requests of about their aspect ratio before any row fits
    aspect = max(width // height, height // width)
    for levels in range(num_levels, max(1, min(num_levels, 2)) - 1, -1):
        lo, hi = 1, max(2, 8 * n_segments, 4 * aspect + 16)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            count = grid_count(mid, levels)
            if count < 0 or count >= n_segments:  # unsafe because too many: go down
                hi = mid
            else:
                lo = mid
        for request in (lo, hi):
            count = grid_count(request, levels)
            err = abs(count - n_segments)
            if count > 0 and (choice is None or err < choice[0]):
                choice = (err, request, levels)
        if choice is not None and choice[0] <= tolerance * n_segments:
            break
    if choice is None:
        raise ValueError(
            f"seeds cannot segment a {height}x{width} image: OpenCV's SEEDS needs a block "
            "grid of at least two levels, which this image is too small or too thin for "
            "(square images: at least 6x6); use another method, e.g. slic or snic"
        )
    _, request, levels = choice
    sp = cv2.ximgproc.createSuperpixelSEEDS(
        width, height, 3, int(request), levels, prior, histogram_bins, bool(double_step)
    )
    sp.iterate(lab, num_iterations)
    # SEEDS keeps its superpixels connected while updating; only stray fragments are
    # merged (below a tenth of the mean area)
    return enforce_connectivity(
        sp.getLabels(),
        n_segments,
        mode="split",
        min_size=max(1, int(0.1 * height * width / n_segments)),
    )
