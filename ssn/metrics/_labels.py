"""Label-image validation, dense relabelling and superpixel/segment overlap tables.

Everything here is shared by the region metrics (ASA, UE), the shape and colour
metrics (CO, EV, EPE) and the per-image evaluation, so that all of them accept and
reject the same inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "Overlap",
    "as_label_image",
    "as_valid_mask",
    "check_same_shape",
    "dense_labels",
    "overlap_table",
]

# Above this many cells (and above 4 cells per pixel) the overlap table is built from
# sorted pair keys instead of a dense bincount, so memory stays O(pixels).
_DENSE_TABLE_CELLS = 1 << 22


def as_label_image(labels, name: str = "labels") -> np.ndarray:
    """Return ``labels`` as a validated 2-D integer array (no copy when possible).

    Raises
    ------
    ValueError
        If the array is not 2-D, is empty, or does not hold integers (or booleans).
    """
    arr = np.asarray(labels)
    if not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_):
        raise ValueError(
            f"{name} must be an integer label image, got dtype {arr.dtype}; "
            "convert it with .astype(int) if the values are whole numbers"
        )
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (H, W) label image, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    return arr


def check_same_shape(first: np.ndarray, second: np.ndarray, names: tuple[str, str]) -> None:
    """Raise ValueError unless the two arrays share their (H, W) spatial shape."""
    if first.shape[:2] != second.shape[:2]:
        raise ValueError(
            f"{names[0]} has shape {first.shape[:2]} but {names[1]} has shape "
            f"{second.shape[:2]}; both must cover the same H x W pixels"
        )


def as_valid_mask(valid, shape: tuple[int, ...]) -> np.ndarray | None:
    """Validate a mask of the pixels that count; None when every pixel counts.

    A rotated or sheared image has pixels whose source lies outside the original frame
    (``ssn.perturbations``): they are void, and every metric leaves them out. An all-True
    mask is returned as None so that the unmasked code path (and its results) is used.

    Raises
    ------
    ValueError
        If ``valid`` is not a boolean array of ``shape`` or holds no True pixel.
    """
    if valid is None:
        return None
    mask = np.asarray(valid)
    if mask.dtype != np.bool_:
        raise ValueError(f"valid must be a boolean mask, got dtype {mask.dtype}")
    if mask.shape != tuple(shape[:2]):
        raise ValueError(f"valid has shape {mask.shape}, expected {tuple(shape[:2])}")
    if not mask.any():
        raise ValueError("valid holds no True pixel; there is nothing to evaluate")
    return None if mask.all() else mask


def dense_labels(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map arbitrary integer ids onto ``0 .. n - 1``.

    Parameters
    ----------
    labels : (H, W) ndarray of int
        Any integer ids: negative, non-consecutive or huge.

    Returns
    -------
    dense : (H * W,) ndarray of intp
        The ids of the flattened image, renumbered in increasing order of the original
        id (so the mapping is monotone).
    values : (n,) ndarray, the dtype of ``labels``
        ``values[k]`` is the original id of dense id ``k``.
    """
    flat = labels.ravel()
    if flat.dtype == np.bool_:
        flat = flat.view(np.uint8)
    low, high = int(flat.min()), int(flat.max())
    span = high - low + 1
    if span <= max(4 * flat.size, 1 << 16):
        # O(pixels + span): a lookup table over the id range, no sort.
        if flat.dtype == np.uint64:  # ids above 2**63 would wrap in int64
            shifted = (flat - np.uint64(low)).astype(np.intp)
        else:
            shifted = flat.astype(np.intp) - low
        present = np.bincount(shifted, minlength=span) > 0
        lookup = np.cumsum(present, dtype=np.intp) - 1
        values = np.flatnonzero(present).astype(flat.dtype) + flat.dtype.type(low)
        return lookup[shifted], values
    values, inverse = np.unique(flat, return_inverse=True)
    return inverse.reshape(-1).astype(np.intp, copy=False), values


@dataclass(frozen=True)
class Overlap:
    """Sparse contingency table between superpixels (rows) and segments (columns).

    Only non-empty intersections are stored, sorted by superpixel then segment.

    Attributes
    ----------
    rows, cols : (M,) ndarray of intp
        Dense superpixel and segment ids of each non-empty intersection.
    counts : (M,) ndarray of int64
        ``|S_row ∩ G_col|`` in pixels.
    sp_sizes : (n_sp,) ndarray of int64
        ``|S_j|`` per superpixel.
    gt_values : (n_gt,) ndarray
        Original ground-truth id of each column.
    n_pixels : int
        Total number of pixels.
    """

    rows: np.ndarray
    cols: np.ndarray
    counts: np.ndarray
    sp_sizes: np.ndarray
    gt_values: np.ndarray
    n_pixels: int

    def row_starts(self) -> np.ndarray:
        """Index of the first entry of every superpixel (for ``np.ufunc.reduceat``)."""
        return np.flatnonzero(np.r_[True, self.rows[1:] != self.rows[:-1]])


def overlap_table(
    sp_dense: np.ndarray, n_sp: int, gt_dense: np.ndarray, gt_values: np.ndarray
) -> Overlap:
    """Build the sparse overlap table of two densely labelled, flattened images."""
    n_gt = int(gt_values.size)
    n_pixels = int(sp_dense.size)
    keys = sp_dense.astype(np.int64, copy=False) * n_gt + gt_dense
    if n_sp * n_gt <= max(4 * n_pixels, _DENSE_TABLE_CELLS):
        table = np.bincount(keys, minlength=n_sp * n_gt)
        keys = np.flatnonzero(table)
        counts = table[keys]
    else:
        keys, counts = np.unique(keys, return_counts=True)
    rows, cols = np.divmod(keys, n_gt)
    counts = counts.astype(np.int64, copy=False)
    sp_sizes = np.bincount(sp_dense, minlength=n_sp).astype(np.int64, copy=False)
    return Overlap(rows, cols, counts, sp_sizes, gt_values, n_pixels)
