"""Superpixel metrics: ASA, BR, BP, UE, CO, EV, EPE under named evaluation protocols.

Modules, one job each:

* :mod:`~ssn.evaluation.boundaries` -- protocols (``stutz``, ``ssn``), boundary maps,
  BR and BP;
* :mod:`~ssn.evaluation.regions` -- ASA (with ignore labels) and UE;
* :mod:`~ssn.evaluation.shape` -- superpixel count and compactness (CO);
* :mod:`~ssn.evaluation.signals` -- explained variation (EV) and flow EPE;
* :mod:`~ssn.evaluation.per_image` -- all metrics of one image against all its
  annotations;
* :mod:`~ssn.evaluation.summary` -- means over (image, annotation) pairs, per-image
  best/worst, curves over superpixel counts and the Stutz benchmark averages.

All functions take numpy label images with any integer ids. :mod:`ssn.metrics`
re-exports this API.
"""

from .boundaries import (
    PROTOCOLS,
    Protocol,
    boundary_map,
    boundary_precision,
    boundary_recall,
    get_protocol,
    resolve_tolerance,
)
from .per_image import ANNOTATION_METRICS, HIGHER_IS_BETTER, ImageEvaluation, evaluate_image
from .regions import (
    CITYSCAPES_VOID_LABELS,
    VOC_IGNORE_LABELS,
    achievable_segmentation_accuracy,
    fill_ignored,
    undersegmentation_error,
)
from .shape import compactness, n_superpixels
from .signals import explained_variation, flow_endpoint_error
from .summary import stutz_average, stutz_averages, summarize_images, summarize_over_counts

__all__ = [
    "ANNOTATION_METRICS",
    "CITYSCAPES_VOID_LABELS",
    "HIGHER_IS_BETTER",
    "PROTOCOLS",
    "VOC_IGNORE_LABELS",
    "ImageEvaluation",
    "Protocol",
    "achievable_segmentation_accuracy",
    "boundary_map",
    "boundary_precision",
    "boundary_recall",
    "compactness",
    "evaluate_image",
    "explained_variation",
    "fill_ignored",
    "flow_endpoint_error",
    "get_protocol",
    "n_superpixels",
    "resolve_tolerance",
    "stutz_average",
    "stutz_averages",
    "summarize_images",
    "summarize_over_counts",
    "undersegmentation_error",
]
