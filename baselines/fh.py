"""Felzenszwalb–Huttenlocher graph segmentation (IJCV 2004), scikit-image implementation.

FH has no count parameter: the count falls as ``scale`` grows. The scale is calibrated
per image by a secant search on ``log(count)`` against ``log(scale)`` (bracketed, so it
falls back to bisection), until the count is within ``tolerance`` of the target.
``min_size`` defaults to a fraction of the mean superpixel area, which also caps the
count from above.
"""

from __future__ import annotations

import math

from ssn.connectivity import enforce_connectivity
from ssn.validation import check_int, check_positive


def fh(
    rgb,
    n_segments,
    *,
    sigma=0.8,
    min_size=None,
    min_size_fraction=0.25,
    tolerance=0.05,
    max_evals=10,
):
    from skimage.segmentation import felzenszwalb

    if not isinstance(sigma, (int, float)) or sigma < 0:
        raise ValueError(f"sigma must be a non-negative number, got {sigma!r}")
    min_size_fraction = check_positive("min_size_fraction", min_size_fraction)
    tolerance = check_positive("tolerance", tolerance)
    max_evals = check_int("max_evals", max_evals, 1)
    height, width = rgb.shape[:2]
    area = height * width / n_segments
    if min_size is None:
        min_size = max(1, int(min_size_fraction * area))
    min_size = check_int("min_size", min_size, 1)

    cache = {}

    def run(scale):
        if scale not in cache:
            labels = felzenszwalb(rgb, scale=scale, sigma=sigma, min_size=min_size, channel_axis=-1)
            labels = enforce_connectivity(labels, n_segments, mode="split", min_size=0)
            cache[scale] = (labels, int(labels.max()) + 1)
        return cache[scale]

    # initial guess: FH's threshold k/|C| is comparable to an edge weight when |C| ≈
    # the mean superpixel area, and edge weights are ~0.05 on [0, 1] images.
    log_s = math.log(max(1e-3, 0.05 * area))
    target = math.log(n_segments)
    lo = hi = None  # (log_scale, log_count) with count above / below the target
    best = None
    for _ in range(max_evals):
        labels, count = run(math.exp(log_s))
        if best is None or abs(count - n_segments) < abs(best[1] - n_segments):
            best = (labels, count)
        if abs(count - n_segments) <= tolerance * n_segments:
            break
        lc = math.log(count)
        if lc > target:
            lo = (log_s, lc)
        else:
            hi = (log_s, lc)
        if lo is not None and hi is not None:
            if hi[0] - lo[0] < 1e-4:
                break
            if lo[1] != hi[1]:
                # secant step, kept inside the bracket
                t = (lo[1] - target) / (lo[1] - hi[1])
                t = min(0.9, max(0.1, t))
                log_s = lo[0] + t * (hi[0] - lo[0])
            else:
                log_s = 0.5 * (lo[0] + hi[0])
        elif lo is not None:  # too many segments: raise the scale
            log_s += max(0.5, 1.5 * (lc - target))
        else:
            log_s -= max(0.5, 1.5 * (target - lc))
    return best[0]
