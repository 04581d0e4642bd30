"""Superpixel metrics (ASA, BR, BP, UE, CO, EV, EPE) with named evaluation protocols.

The public entry point; the implementation lives in :mod:`ssn.evaluation`, one small
module per job. Protocols: ``stutz`` (default; 4-connected boundaries on both sides of
a label change, r = round(0.0025 * image diagonal)) and ``ssn`` (the SEAL evaluator of
the SSN paper: right or bottom neighbour differs, r explicit, default 1). Every
summary records the protocol it was computed under.

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

from ssn.evaluation import *  # noqa: F403
from ssn.evaluation import __all__  # noqa: F401
