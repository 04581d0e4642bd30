"""Helpers shared by the baseline methods: labels, colour conversion, seed grids, OpenCV."""

from __future__ import annotations

import contextlib
import math
import warnings

import numba
import numpy as np

__all__ = [
    "closest_count",
    "opencv_labels",
    "grid_seeds",
    "relabel_consecutive",
    "rgb_to_lab",
    "to_uint8",
    "warn_if_thinner_than_a_cell",
]


@contextlib.contextmanager
def opencv_single_thread():
    """Run OpenCV single-threaded inside the block (restores the previous setting).

    Some ximgproc code paths (LSC's connectivity enforcement) give different labels from
    run to run when OpenCV uses several threads.
    """
    import cv2

    previous = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(previous)


def opencv_labels(sp, n_segments: int, num_iterations: int, min_element_size: int) -> np.ndarray:
    """Labels of an OpenCV ximgproc superpixel object (SLIC, LSC) after ``num_iterations``
    and its own connectivity step, with the fragments it leaves (below a quarter of the
    mean superpixel area) merged by :func:`ssn.connectivity.enforce_connectivity`."""
    from ssn.connectivity import enforce_connectivity

    sp.iterate(num_iterations)
    if min_element_size > 0:
        sp.enforceLabelConnectivity(min_element_size)
    labels = sp.getLabels()
    min_size = max(1, int(0.25 * labels.size / n_segments))
    return enforce_connectivity(labels, n_segments, mode="split", min_size=min_size)


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` float RGB in [0, 1] → contiguous uint8 RGB (rounded)."""
    return np.ascontiguousarray(np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8))


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (D65, L in [0, 100]) of a float RGB image in [0, 1], as float64."""
    from skimage.color import rgb2lab

    return np.ascontiguousarray(rgb2lab(rgb.astype(np.float64, copy=False)))


def closest_count(run, candidates, n_segments: int, tolerance: float = 0.05) -> np.ndarray:
    """Labels of ``run(c)`` for the candidate whose superpixel count is closest to
    ``n_segments``; stops at the first within ``tolerance`` (relative) of it.

    For methods with an integer seed pitch (OpenCV's ``region_size``), tried at the two
    pitches around the ideal one. ``candidates`` may be a generator that picks the next
    candidate from the last run's count: it is resumed only when that count is not close
    enough.
    """
    best = None
    for candidate in candidates:
        labels = run(candidate)
        count = int(labels.max()) + 1
        if best is None or abs(count - n_segments) < abs(best[1] - n_segments):
            best = (labels, count)
        if abs(count - n_segments) <= tolerance * n_segments:
            break
    return best[0]


def warn_if_thinner_than_a_cell(
    method: str, labels: np.ndarray, n_segments: int, tolerance: float = 0.15
) -> np.ndarray:
    """``labels``, after a :class:`UserWarning` if the image is thinner than one square
    seed cell (shorter side below ``sqrt(H·W/K)``) and the realised count is more than
    ``tolerance`` (relative) off ``n_segments``. Returns ``labels`` unchanged.

    A square seed grid cannot fit such an image: SLIC's clusters then fragment along it
    and connectivity enforcement merges the fragments (100 000 × 1 at K = 100 gives 1).
    """
    height, width = labels.shape
    spacing = math.sqrt(height * width / n_segments)
    count = int(labels.max()) + 1
    if min(height, width) < spacing and abs(count - n_segments) > tolerance * n_segments:
        warnings.warn(
            f"{method}: {count} superpixels realised for n_segments={n_segments} on the "
            f"{height}x{width} image: its shorter side ({min(height, width)} px) is below "
            f"the seed spacing sqrt(H*W/K) = {spacing:.0f} px, so the clusters fragment and "
            f"connectivity enforcement merges them; use method 'snic' or 'watershed', "
            f"which hit K on any aspect ratio",
            UserWarning,
            stacklevel=2,
        )
    return labels


def grid_seeds(n_segments: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column coordinates (int64) of about ``n_segments`` seeds on a grid.

    The shorter side ``S`` gets ``n_s = round(sqrt(K·S/L))`` seeds, clipped to
    ``[ceil(K/L), min(S, K)]`` (and at least 1), the longer side ``L`` gets
    ``n_l = round(K / n_s)``: cells as square as the image allows, with a count rounded
    to the request rather than :func:`ssn.grid_shape`'s floor, as SNIC seeds it. For
    any ``K ≤ H·W`` and any aspect ratio (``1 × L`` too) the count ``n_s·n_l`` is within
    ``n_s / 2`` of K, and a non-square image's transpose gets these seeds transposed.
    """
    short, long = sorted((height, width))
    # the shorter side first: its count is the smaller, so rounding K / n_s costs at most
    # n_s / 2 seeds; capped by K so that a thin image does not get K·L/S rows, and at
    # least K / L so that the longer side can hold the rest
    n_short = round(math.sqrt(n_segments * short / long))
    n_short = max(1, -(-n_segments // long), min(short, n_segments, n_short))
    n_long = max(1, min(long, round(n_segments / n_short)))
    ny, nx = (n_short, n_long) if height <= width else (n_long, n_short)
    ys = np.floor((np.arange(ny) + 0.5) * height / ny).astype(np.int64)
    xs = np.floor((np.arange(nx) + 0.5) * width / nx).astype(np.int64)
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    return yy.ravel(), xx.ravel()


@numba.njit(cache=True)
def _relabel_consecutive(labels):
    flat = labels.ravel()
    mx = 0
    for i in range(flat.size):
        if flat[i] > mx:
            mx = flat[i]
    lut = np.full(mx + 1, -1, np.int32)
    out = np.empty(flat.size, np.int32)
    n = 0
    for i in range(flat.size):
        v = flat[i]
        if lut[v] < 0:
            lut[v] = n
            n += 1
        out[i] = lut[v]
    return out.reshape(labels.shape), n


def relabel_consecutive(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Relabel to ``0..n-1`` in raster order of first appearance; returns ``(labels, n)``.

    Labels must be non-negative integers.
    """
    labels = np.ascontiguousarray(labels)
    if labels.size and labels.min() < 0:
        raise ValueError("labels must be non-negative")
    return _relabel_consecutive(labels.astype(np.int64, copy=False))
