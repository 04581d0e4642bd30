"""The evaluation view of a dataset: its images with what they are scored against.

Every loader (:class:`~ssn.data.BSDS500`, :class:`~ssn.data.VOC2012`,
:class:`~ssn.data.Cityscapes`, :class:`~ssn.data.Sintel`) gives
``evaluation_items()``: a list of :class:`EvaluationItem`, each a stable id and a loader
of its :class:`EvaluationSample`. The benchmark's jobs and the validation during
training both read datasets through it, so they score the same thing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = ["EvaluationItem", "EvaluationSample"]


@dataclass
class EvaluationSample:
    """One image and its references.

    Attributes
    ----------
    image : (H, W, 3) uint8 ndarray
    annotations : list of (H, W) int ndarray
        Region datasets: the human segmentations (BSDS500: all of them).
    ignore_labels : tuple of int
        Annotation values left out of ASA and BR (the dataset's void label).
    next_frame : (H, W, 3) uint8 ndarray or None
        Flow datasets: the following frame, the input of models trained on frame pairs.
    flow : (H, W, 2) float32 ndarray or None
        Flow datasets: the optical flow from ``image`` to ``next_frame``.
    valid : (H, W) bool ndarray or None
        Flow datasets: where the flow is defined.
    void_boundaries : {"keep", "fill"}
        How boundary metrics treat the edges of ignored regions (see
        :func:`ssn.metrics.evaluate_image`): Pascal VOC fills its 5-pixel void outline
        band from the nearest labels, which puts one contour on its middle line.
    """

    image: np.ndarray
    annotations: list[np.ndarray] = field(default_factory=list)
    ignore_labels: tuple[int, ...] = ()
    next_frame: np.ndarray | None = None
    flow: np.ndarray | None = None
    valid: np.ndarray | None = None
    void_boundaries: str = "keep"

    @property
    def is_flow(self) -> bool:
        return self.flow is not None


@dataclass(frozen=True)
class EvaluationItem:
    """One evaluation image: a stable id (file names of outputs) and its loader."""

    id: str
    load: Callable[[], EvaluationSample]
