"""All metrics of one superpixel image against all annotations of its ground truth.

Every (image, annotation) pair is one sample, as in the SSN paper's BSDS500
evaluation. :func:`evaluate_image` computes the superpixel-side work (boundary map,
its dilation, relabelling, CO, EV) once and each annotation's overlap table once, so
ASA, UE, BR and BP of all annotations share it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._labels import (
    as_label_image,
    as_valid_mask,
    check_same_shape,
    dense_labels,
    overlap_table,
)
from .boundaries import Protocol, _boundary, _dilate, _precision, _recall, get_protocol
from .regions import _ignore_values, asa_from_overlap, fill_from_nearest, ue_from_overlap
from .shape import _compactness_dense
from .signals import explained_variation

__all__ = ["ANNOTATION_METRICS", "HIGHER_IS_BETTER", "ImageEvaluation", "evaluate_image"]

#: Metrics that depend on the annotation, in report order.
ANNOTATION_METRICS = ("asa", "br", "bp", "ue")

#: Direction of every metric, used for "best" and "worst" annotation statistics.
HIGHER_IS_BETTER = {"asa": True, "br": True, "bp": True, "ue": False, "co": True, "ev": True}


@dataclass(frozen=True)
class ImageEvaluation:
    """Metrics of one superpixel image against each of its annotations.

    Attributes
    ----------
    protocol : Protocol
        The boundary protocol used.
    tolerance : int
        The boundary tolerance r actually used.
    n_superpixels : int
        Realised number of superpixels (of the whole label image, void pixels
        included: the count the method produced).
    per_annotation : list of dict
        One ``{"asa", "br", "bp", "ue"}`` dict per annotation, in input order.
    compactness : float
        CO of the superpixels (annotation-independent).
    explained_variation : float or None
        EV on the image colours, or None when no image was given.
    """

    protocol: Protocol
    tolerance: int
    n_superpixels: int
    per_annotation: list[dict[str, float]] = field(default_factory=list)
    compactness: float = float("nan")
    explained_variation: float | None = None

    def _column(self, metric: str) -> np.ndarray:
        return np.array([row[metric] for row in self.per_annotation], dtype=np.float64)

    def mean(self) -> dict[str, float]:
        """Mean of every annotation metric over the annotations."""
        return {m: float(self._column(m).mean()) for m in ANNOTATION_METRICS}

    def best(self) -> dict[str, float]:
        """Best value of every metric over the annotations (each metric on its own)."""
        return {
            m: float(self._column(m).max() if HIGHER_IS_BETTER[m] else self._column(m).min())
            for m in ANNOTATION_METRICS
        }

    def worst(self) -> dict[str, float]:
        """Worst value of every metric over the annotations (Stutz's min/max statistics)."""
        return {
            m: float(self._column(m).min() if HIGHER_IS_BETTER[m] else self._column(m).max())
            for m in ANNOTATION_METRICS
        }

    def to_dict(self) -> dict:
        """A JSON-ready dict, protocol included."""
        return {
            "protocol": self.protocol.to_dict(self.tolerance),
            "n_superpixels": self.n_superpixels,
            "co": self.compactness,
            "ev": self.explained_variation,
            "n_annotations": len(self.per_annotation),
            "per_annotation": [dict(row) for row in self.per_annotation],
            "mean": self.mean(),
            "best": self.best(),
            "worst": self.worst(),
        }


def _annotation_list(ground_truths) -> list:
    if isinstance(ground_truths, np.ndarray):
        items = [ground_truths] if ground_truths.ndim == 2 else list(ground_truths)
    else:
        items = list(ground_truths)
        if items and np.ndim(items[0]) == 1:  # one image given as nested lists
            items = [items]
    if not items:
        raise ValueError("ground_truths must be a label image or a non-empty sequence of them")
    return items


def evaluate_image(
    labels,
    ground_truths,
    *,
    image=None,
    protocol: str | Protocol = "stutz",
    tolerance: int | None = None,
    ignore_labels=(),
    void_boundaries: str = "keep",
    valid=None,
) -> ImageEvaluation:
    """Evaluate one superpixel image against every annotation of its ground truth.

    Parameters
    ----------
    labels : (H, W) array_like of int
        Superpixel label image (any integer ids).
    ground_truths : (H, W) array_like of int, or sequence of them
        One annotation or several (BSDS500 has 4-9 per image).
    image : (H, W[, C]) array_like, optional
        The image, for EV; EV is None without it.
    protocol : {"stutz", "ssn"}, optional
        Boundary protocol for BR and BP (see :mod:`ssn.metrics.boundaries`).
    tolerance : int, optional
        Boundary tolerance r; default from the protocol.
    ignore_labels : int or iterable of int, optional
        Ground-truth ids left out of ASA (e.g. 255 for Pascal VOC).
    void_boundaries : {"keep", "fill"}, optional
        Ground-truth boundaries for BR and BP: "keep" takes the annotation as it is,
        so the edges of an ignored region are boundaries; "fill" first gives ignored
        pixels their nearest label (:func:`~ssn.metrics.fill_ignored`), which puts
        the boundary in the middle of a void band such as Pascal VOC's outlines.
    valid : (H, W) array_like of bool, optional
        The pixels that count. Void pixels (False: outside the frame after a rotation
        or shear, see :mod:`ssn.perturbations`) are left out of every metric: ASA, UE,
        BR, BP, CO and EV are those of the image cropped to the valid pixels (exactly
        so for a rectangular valid region; the edge of the valid region is no
        boundary). The realised count is the label image's.

    Returns
    -------
    ImageEvaluation
        Per-annotation ASA, BR, BP, UE, plus CO, EV and the realised count.

    Raises
    ------
    ValueError
        If no annotation is given, any shape differs, an image is empty or not
        integer, the protocol is unknown, the tolerance negative,
        ``void_boundaries`` unknown, or ``valid`` not a boolean mask of the image's
        shape with a True pixel.

    Notes
    -----
    Ignore labels (an annotation's own void, such as Pascal VOC's 255) and ``valid``
    differ on purpose: ignored pixels leave ASA only, as in the reference evaluators,
    while pixels outside ``valid`` have no image content to segment and leave every
    metric.

    Examples
    --------
    >>> sp = [[0, 0, 1, 1]] * 2
    >>> result = evaluate_image(sp, [[[0, 0, 0, 1]] * 2, [[0, 0, 1, 1]] * 2], tolerance=0)
    >>> [row["asa"] for row in result.per_annotation]
    [0.75, 1.0]
    >>> result.mean()["asa"], result.worst()["ue"]
    (0.875, 0.5)
    """
    proto = get_protocol(protocol)
    if void_boundaries not in ("keep", "fill"):
        raise ValueError(f"void_boundaries must be 'keep' or 'fill', got {void_boundaries!r}")
    labels = as_label_image(labels, "labels")
    valid = as_valid_mask(valid, labels.shape)
    keep = None if valid is None else valid.ravel()
    ground_truths = _annotation_list(ground_truths)
    radius = proto.tolerance(labels.shape, tolerance)

    sp_dense, sp_values = dense_labels(labels)
    n_sp = int(sp_values.size)
    sp_boundary = _boundary(labels, proto.two_sided, valid)
    sp_dilated = _dilate(sp_boundary, radius)
    sp_counted = sp_dense if keep is None else sp_dense[keep]

    rows = []
    for k, gt in enumerate(ground_truths):
        gt = as_label_image(gt, f"ground_truths[{k}]")
        check_same_shape(labels, gt, ("labels", f"ground_truths[{k}]"))
        gt_dense, gt_values = dense_labels(gt)
        gt_counted = gt_dense if keep is None else gt_dense[keep]
        overlap = overlap_table(sp_counted, n_sp, gt_counted, gt_values)
        boundary_gt = gt
        if void_boundaries == "fill":
            unknown = np.isin(gt, _ignore_values(ignore_labels))
            # void pixels hold no label: fill from valid labelled pixels only
            boundary_gt = fill_from_nearest(gt, unknown if valid is None else unknown | ~valid)
        gt_boundary = _boundary(boundary_gt, proto.two_sided, valid)
        rows.append(
            {
                "asa": asa_from_overlap(overlap, ignore_labels),
                "br": _recall(gt_boundary, sp_dilated, proto),
                "bp": _precision(sp_boundary, _dilate(gt_boundary, radius)),
                "ue": ue_from_overlap(overlap),
            }
        )
    ev = None if image is None else explained_variation(labels, image, valid=valid)
    return ImageEvaluation(
        protocol=proto,
        tolerance=radius,
        n_superpixels=n_sp,
        per_annotation=rows,
        compactness=_compactness_dense(sp_dense.reshape(labels.shape), n_sp, valid),
        explained_variation=ev,
    )
