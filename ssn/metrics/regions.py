"""Region metrics from the superpixel/segment overlap table: ASA and UE.

With superpixels S_j, ground-truth segments G_i and N pixels:

* ASA (achievable segmentation accuracy) = (1/N) sum_j max_i |S_j ∩ G_i|, the accuracy
  of labelling every superpixel with its best-overlapping segment [1]_.
* UE (undersegmentation error, Neubert-Protzel form) = (1/N) sum_i
  sum_{j: S_j ∩ G_i ≠ ∅} min(|S_j ∩ G_i|, |S_j − G_i|) [2]_, as
  ``computeNPUndersegmentationError`` of the Stutz benchmark.

Both are computed from one sparse contingency table (a ``bincount`` over pixel pairs),
so any integer ids work and the cost is linear in the number of pixels.

References
----------
.. [1] M.-Y. Liu, O. Tuzel, S. Ramalingam, R. Chellappa. Entropy rate superpixel
   segmentation. CVPR 2011.
.. [2] P. Neubert, P. Protzel. Superpixel benchmark and comparison. Forum
   Bildverarbeitung 2012.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ._labels import (
    Overlap,
    as_label_image,
    as_valid_mask,
    check_same_shape,
    dense_labels,
    overlap_table,
)

__all__ = [
    "achievable_segmentation_accuracy",
    "fill_ignored",
    "undersegmentation_error",
]


def _overlap(labels, ground_truth, valid) -> Overlap:
    labels = as_label_image(labels, "labels")
    ground_truth = as_label_image(ground_truth, "ground_truth")
    check_same_shape(labels, ground_truth, ("labels", "ground_truth"))
    valid = as_valid_mask(valid, labels.shape)
    sp_dense, sp_values = dense_labels(labels)
    gt_dense, gt_values = dense_labels(ground_truth)
    if valid is not None:  # void pixels enter no count, N included
        keep = valid.ravel()
        sp_dense, gt_dense = sp_dense[keep], gt_dense[keep]
    return overlap_table(sp_dense, sp_values.size, gt_dense, gt_values)


def _ignore_values(ignore_labels) -> np.ndarray:
    if ignore_labels is None:
        ignore_labels = ()
    elif isinstance(ignore_labels, (set, frozenset)):
        ignore_labels = sorted(ignore_labels)
    values = np.atleast_1d(np.asarray(ignore_labels))
    if values.size == 0:
        return np.empty(0, dtype=np.int64)
    if values.ndim != 1 or not np.issubdtype(values.dtype, np.integer):
        raise ValueError(
            f"ignore_labels must be an integer or a sequence of integers, got {ignore_labels!r}"
        )
    return values.astype(np.int64)


def fill_ignored(ground_truth, ignore_labels) -> np.ndarray:
    """Give every ignored ground-truth pixel the label of its nearest labelled pixel.

    Pascal VOC draws a void band (255) about five pixels wide along every object
    outline. Boundaries computed on the raw annotation would count both edges of the
    band, i.e. two contours per object, neither of them the object's. Filling the band
    from both sides moves the contour to the band's middle line, which is where the
    annotators traced it.

    Parameters
    ----------
    ground_truth : (H, W) array_like of int
        Annotation.
    ignore_labels : int or iterable of int
        Ids to fill (e.g. ``ssn.data.VOC2012.IGNORE_LABELS``, 255).

    Returns
    -------
    (H, W) ndarray
        A copy with no ignored id left (ties go to the first nearest pixel found by
        :func:`scipy.ndimage.distance_transform_edt`).

    Raises
    ------
    ValueError
        If every pixel carries an ignore label.
    """
    ground_truth = as_label_image(ground_truth, "ground_truth")
    return fill_from_nearest(ground_truth, np.isin(ground_truth, _ignore_values(ignore_labels)))


def fill_from_nearest(ground_truth: np.ndarray, unknown: np.ndarray) -> np.ndarray:
    """Give every ``unknown`` pixel the label of its nearest known pixel (a copy).

    Raises
    ------
    ValueError
        If every pixel is unknown.
    """
    if not unknown.any():
        return ground_truth.copy()
    if unknown.all():
        raise ValueError("every ground-truth pixel carries an ignore label; nothing to fill from")
    _, (rows, cols) = ndimage.distance_transform_edt(unknown, return_indices=True)
    return ground_truth[rows, cols]


def asa_from_overlap(overlap: Overlap, ignore_labels=()) -> float:
    """ASA from a prepared overlap table (see :func:`achievable_segmentation_accuracy`)."""
    counts = overlap.counts
    ignore = _ignore_values(ignore_labels)
    n_valid = overlap.n_pixels
    if ignore.size:
        ignored = np.isin(overlap.gt_values, ignore)[overlap.cols]
        n_valid -= int(counts[ignored].sum())
        if n_valid == 0:
            raise ValueError("every ground-truth pixel carries an ignore label; ASA is undefined")
        counts = np.where(ignored, 0, counts)
    best = np.maximum.reduceat(counts, overlap.row_starts())
    return float(best.sum()) / n_valid


def ue_from_overlap(overlap: Overlap) -> float:
    """UE from a prepared overlap table (see :func:`undersegmentation_error`)."""
    counts = overlap.counts
    outside = overlap.sp_sizes[overlap.rows] - counts  # |S_j - G_i|
    return float(np.minimum(counts, outside).sum()) / overlap.n_pixels


def achievable_segmentation_accuracy(
    labels, ground_truth, *, ignore_labels=(), valid=None
) -> float:
    """Achievable segmentation accuracy (ASA) of superpixels against a ground truth.

    Parameters
    ----------
    labels : (H, W) array_like of int
        Superpixel label image (any integer ids).
    ground_truth : (H, W) array_like of int
        Ground-truth segmentation (any integer ids).
    ignore_labels : int or iterable of int, optional
        Ground-truth ids to leave out, e.g. the void label of Pascal VOC and of the
        Cityscapes train ids (255; each dataset's ``IGNORE_LABELS`` in :mod:`ssn.data`).
        Their pixels count neither in the numerator nor in N. Absent ids are allowed.
    valid : (H, W) array_like of bool, optional
        The pixels that count: void pixels (False; e.g. outside the frame after a
        rotation) count neither in the numerator nor in N, like ignored ones.

    Returns
    -------
    asa : float
        (1/N) sum_j max_i |S_j ∩ G_i|, in (0, 1]; 1 when the superpixels refine the
        ground truth.

    Raises
    ------
    ValueError
        If the shapes differ, an image is empty or not integer, ``ignore_labels`` is
        not integer, every pixel is ignored, or ``valid`` is not a boolean mask of the
        image's shape with a True pixel.

    Examples
    --------
    >>> sp = [[0, 0, 1, 1]]
    >>> gt = [[5, 5, 5, 7]]
    >>> achievable_segmentation_accuracy(sp, gt)  # (2 + 1) / 4
    0.75
    >>> achievable_segmentation_accuracy(sp, gt, ignore_labels=7)  # (2 + 1) / 3
    1.0
    >>> achievable_segmentation_accuracy(sp, gt, valid=[[True, True, False, True]])  # 3 / 3
    1.0
    """
    return asa_from_overlap(_overlap(labels, ground_truth, valid), ignore_labels)


def undersegmentation_error(labels, ground_truth, *, valid=None) -> float:
    """Undersegmentation error (UE) in the Neubert-Protzel form.

    Parameters
    ----------
    labels : (H, W) array_like of int
        Superpixel label image.
    ground_truth : (H, W) array_like of int
        Ground-truth segmentation.
    valid : (H, W) array_like of bool, optional
        The pixels that count: void pixels (False) belong to no superpixel and no
        segment, and N counts the valid pixels only.

    Returns
    -------
    ue : float
        (1/N) sum_i sum_{j: S_j ∩ G_i ≠ ∅} min(|S_j ∩ G_i|, |S_j − G_i|); 0 when the
        superpixels refine the ground truth.

    Raises
    ------
    ValueError
        If the shapes differ, an image is empty or not integer, or ``valid`` is not a
        boolean mask of the image's shape with a True pixel.

    Notes
    -----
    Every ground-truth id is a segment, including ignore/void ids; ignore labels are
    honoured by ASA only (as the reference evaluators do). Pixels outside ``valid``
    are left out of every metric.

    Examples
    --------
    >>> sp = [[0, 0, 1, 1]]
    >>> gt = [[5, 5, 5, 7]]
    >>> undersegmentation_error(sp, gt)  # (min(2, 0) + min(1, 1) + min(1, 1)) / 4
    0.5
    >>> undersegmentation_error(sp, gt, valid=[[True, True, False, True]])  # S1 = {7}
    0.0
    """
    return ue_from_overlap(_overlap(labels, ground_truth, valid))
