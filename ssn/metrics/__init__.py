"""Superpixel metrics: ASA, BR, BP, UE, CO, EV, EPE under named evaluation protocols.

Modules, one job each:

* :mod:`~ssn.metrics.boundaries` -- protocols (``stutz``, ``ssn``), boundary maps,
  BR and BP;
* :mod:`~ssn.metrics.regions` -- ASA (with ignore labels) and UE;
* :mod:`~ssn.metrics.shape` -- superpixel count, connectivity and compactness (CO);
* :mod:`~ssn.metrics.signals` -- explained variation (EV) and flow EPE;
* :mod:`~ssn.metrics.per_image` -- all metrics of one image against all its
  annotations;
* :mod:`~ssn.metrics.summary` -- means over (image, annotation) pairs, per-image
  best/worst, curves over superpixel counts and the Stutz benchmark averages, the
  spread over images (stability) and the control over the superpixel count.

All functions take numpy label images with any integer ids. Protocols: ``stutz``
(default; 4-connected boundaries on both sides of a label change, r = round(0.0025 *
image diagonal)) and ``ssn`` (the SEAL evaluator of the SSN paper: right or bottom
neighbour differs, r explicit, default 1). Every summary records its protocol.

Examples
--------
>>> import numpy as np
>>> from ssn.metrics import evaluate_image
>>> sp = np.array([[0, 0, 1, 1]] * 4)
>>> gt = np.array([[0, 0, 0, 1]] * 4)
>>> result = evaluate_image(sp, [gt], protocol="ssn", tolerance=1)
>>> result.per_annotation[0]["asa"], result.to_dict()["protocol"]["name"]
(0.75, 'ssn')
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
    achievable_segmentation_accuracy,
    fill_ignored,
    undersegmentation_error,
)
from .shape import compactness, n_disconnected_superpixels, n_superpixels
from .signals import explained_variation, flow_endpoint_error
from .summary import (
    count_control,
    evaluations_from_records,
    gap_closure,
    spread,
    stutz_average,
    stutz_averages,
    summarize_images,
    summarize_over_counts,
)

__all__ = [
    "ANNOTATION_METRICS",
    "count_control",
    "evaluations_from_records",
    "HIGHER_IS_BETTER",
    "PROTOCOLS",
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
    "gap_closure",
    "get_protocol",
    "n_disconnected_superpixels",
    "n_superpixels",
    "resolve_tolerance",
    "spread",
    "stutz_average",
    "stutz_averages",
    "summarize_images",
    "summarize_over_counts",
    "undersegmentation_error",
]
