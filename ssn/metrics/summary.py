"""Summaries over images and over superpixel counts, and the Stutz benchmark averages.

Besides the means, the benchmarks report how a metric varies over the images of a
dataset (the stability of Stutz et al.'s min/max/std plots and of Barcelos et al. [2]_:
:func:`spread`) and how closely a method delivers the superpixel count it was asked for
(:func:`count_control`).

The SSN paper plots each metric, averaged over all (image, annotation) pairs, against
the mean *realised* number of superpixels. The Stutz benchmark [1]_ also reduces each
curve to one number, the area above it (below, for UE) between 200 and 5200
superpixels, in percent (``Evaluation::computeAverageMetric`` with the summaries of
``eval_average_cli``):

* AMR, average miss rate: 100 * mean over K in [200, 5200] of (1 - BR),
* AUE, average undersegmentation error: 100 * mean of UE,
* AUV, average unexplained variation: 100 * mean of (1 - EV),

where the curves use the per-image *worst* annotation (the benchmark's ``mean_min``
statistic for recall and EV, ``mean_max`` for UE), averaged over images. Lower is
better for all three; ARec = 100 - AMR.

References
----------
.. [1] D. Stutz, A. Hermans, B. Leibe. Superpixels: an evaluation of the
   state-of-the-art. CVIU 166, 2018. :doi:`10.1016/j.cviu.2017.03.007`
.. [2] I. B. Barcelos et al. A comprehensive review and new taxonomy on superpixel
   segmentation. ACM Computing Surveys 56(8), 2024. :doi:`10.1145/3652509`
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from .boundaries import get_protocol
from .per_image import ANNOTATION_METRICS, ImageEvaluation

__all__ = [
    "count_control",
    "evaluations_from_records",
    "gap_closure",
    "spread",
    "stutz_average",
    "stutz_averages",
    "summarize_images",
    "summarize_over_counts",
]

_STATISTICS = ("mean", "best", "worst")
_METHODS = ("trapezoid", "stutz-cpp")


def summarize_images(evaluations: Sequence[ImageEvaluation]) -> dict:
    """Summarise the evaluations of many images (one count, one method).

    Parameters
    ----------
    evaluations : sequence of ImageEvaluation
        One per image, all under the same protocol.

    Returns
    -------
    summary : dict
        ``protocol`` (name and boundary definition), ``tolerances`` (the distinct r
        used), ``n_images``, ``n_pairs``, ``n_superpixels`` (mean over images),
        ``mean`` (every metric averaged over all (image, annotation) pairs, as in the
        SSN paper), ``best`` / ``worst`` (per-image best / worst annotation, averaged
        over images), ``co`` and ``ev`` (means over images; ``ev`` is None unless
        every image had one).

    Raises
    ------
    ValueError
        If ``evaluations`` is empty or mixes protocols.
    """
    evaluations = list(evaluations)
    if not evaluations:
        raise ValueError("no evaluations to summarise")
    names = {e.protocol.name for e in evaluations}
    if len(names) > 1:
        raise ValueError(f"cannot summarise evaluations made under different protocols {names}")
    pairs = [row for e in evaluations for row in e.per_annotation]
    evs = [e.explained_variation for e in evaluations]
    return {
        "protocol": evaluations[0].protocol.to_dict(),
        "tolerances": sorted({e.tolerance for e in evaluations}),
        "n_images": len(evaluations),
        "n_pairs": len(pairs),
        "n_superpixels": float(np.mean([e.n_superpixels for e in evaluations])),
        "mean": {m: float(np.mean([row[m] for row in pairs])) for m in ANNOTATION_METRICS},
        "best": _mean_of(e.best() for e in evaluations),
        "worst": _mean_of(e.worst() for e in evaluations),
        "co": float(np.mean([e.compactness for e in evaluations])),
        "ev": None if any(v is None for v in evs) else float(np.mean(evs)),
    }


def evaluations_from_records(records: Sequence[Mapping]) -> list[ImageEvaluation]:
    """The :class:`ImageEvaluation` of each image of a tidy table's rows.

    ``records`` hold one (image, annotation) pair each, as the benchmark's per-image
    tables store them: ``image``, ``protocol``, ``tolerance``, ``n_superpixels``,
    ``co``, ``ev`` (NaN or None: no EV), and the annotation metrics ``asa``, ``br``,
    ``bp``, ``ue``. Images keep the order of their first row.
    """
    images: dict[str, list[Mapping]] = {}
    for row in records:
        images.setdefault(row["image"], []).append(row)
    evaluations = []
    for rows in images.values():
        first = rows[0]
        ev = first.get("ev")
        evaluations.append(
            ImageEvaluation(
                protocol=get_protocol(first["protocol"]),
                tolerance=int(first["tolerance"]),
                n_superpixels=int(first["n_superpixels"]),
                per_annotation=[{m: float(r[m]) for m in ANNOTATION_METRICS} for r in rows],
                compactness=float(first["co"]),
                explained_variation=None if ev is None or math.isnan(ev) else float(ev),
            )
        )
    return evaluations


def _mean_of(dicts) -> dict[str, float]:
    dicts = list(dicts)
    return {m: float(np.mean([d[m] for d in dicts])) for m in ANNOTATION_METRICS}


def summarize_over_counts(
    evaluations_by_count: Mapping[object, Sequence[ImageEvaluation]], **averaging
) -> dict:
    """Metric-versus-count curve of one method, with the Stutz benchmark averages.

    Parameters
    ----------
    evaluations_by_count : mapping
        Requested superpixel count (or any setting) -> evaluations of every image at
        that setting.
    **averaging
        ``statistic``, ``lower``, ``upper`` and ``method`` of :func:`stutz_averages`
        (the benchmark's worst annotation over 200..5200 by default).

    Returns
    -------
    summary : dict
        ``protocol``, ``curve`` (one :func:`summarize_images` dict per setting, with
        ``requested``, sorted by realised count) and ``averages`` (the result of
        :func:`stutz_averages`, or None with fewer than two settings).

    Raises
    ------
    ValueError
        If there are no settings, a setting has no evaluations, or protocols differ.
    """
    unknown = set(averaging) - {"statistic", "lower", "upper", "method"}
    if unknown:  # checked here too: a single setting never reaches stutz_averages
        raise TypeError(f"unexpected keyword arguments {sorted(unknown)}")
    if not evaluations_by_count:
        raise ValueError("no superpixel counts to summarise")
    curve = []
    for requested, evaluations in evaluations_by_count.items():
        row = summarize_images(evaluations)
        row.pop("protocol")
        curve.append({"requested": requested, **row})
    protocols = {e.protocol.name for group in evaluations_by_count.values() for e in group}
    if len(protocols) > 1:
        raise ValueError(f"cannot summarise evaluations made under different protocols {protocols}")
    first = next(iter(evaluations_by_count.values()))[0]
    curve.sort(key=lambda row: row["n_superpixels"])
    averages = None
    if len(curve) >= 2:
        averages = stutz_averages(curve, **averaging)
    return {"protocol": first.protocol.to_dict(), "curve": curve, "averages": averages}


def stutz_averages(
    curve: Sequence[Mapping],
    *,
    statistic: str = "worst",
    lower: float = 200,
    upper: float = 5200,
    method: str = "trapezoid",
) -> dict:
    """AMR, AUE and AUV of a metric-versus-count curve, as the Stutz benchmark reports.

    Parameters
    ----------
    curve : sequence of dict
        Rows as produced by :func:`summarize_images`: ``n_superpixels``,
        ``statistic`` -> {"br", "ue", ...} and ``ev``.
    statistic : {"worst", "mean", "best"}, optional
        The per-image statistic to use; the benchmark uses the worst annotation.
    lower, upper, method
        As :func:`stutz_average`.

    Returns
    -------
    averages : dict
        ``amr`` = 100 * mean(1 - BR), ``aue`` = 100 * mean(UE), ``auv`` =
        100 * mean(1 - EV) (None without EV), all over [lower, upper] and lower is
        better, plus ``statistic``, ``lower``, ``upper`` and ``method``.

    Raises
    ------
    ValueError
        If ``statistic`` is unknown or the curve is too short (see
        :func:`stutz_average`).
    """
    if statistic not in _STATISTICS:
        raise ValueError(f"statistic must be one of {_STATISTICS}, got {statistic!r}")
    counts = [row["n_superpixels"] for row in curve]
    recall = [row[statistic]["br"] for row in curve]
    under = [1.0 - row[statistic]["ue"] for row in curve]  # the benchmark feeds 1 - UE
    evs = [row.get("ev") for row in curve]
    kwargs = {"lower": lower, "upper": upper, "method": method}
    return {
        "amr": stutz_average(counts, recall, **kwargs),
        "aue": stutz_average(counts, under, **kwargs),
        "auv": None if any(v is None for v in evs) else stutz_average(counts, evs, **kwargs),
        "statistic": statistic,
        "lower": lower,
        "upper": upper,
        "method": method,
    }


def stutz_average(
    counts, values, *, lower: float = 200, upper: float = 5200, method: str = "trapezoid"
) -> float:
    """The Stutz benchmark's average of a metric over a range of superpixel counts.

    Returns 100 / (upper - lower) * integral_lower^upper (1 - v(K)) dK, the
    percentage of the area *above* the curve v(K) (``Evaluation::computeAverageMetric``).
    For boundary recall this is the average miss rate (AMR), for EV the average
    unexplained variation (AUV); fed with 1 - UE, as the benchmark does, it gives the
    average undersegmentation error (AUE).

    Parameters
    ----------
    counts : (n,) array_like of float
        Realised superpixel counts (in any order).
    values : (n,) array_like of float
        Metric value at each count, in [0, 1] where higher is better.
    lower, upper : float, optional
        Integration range.
    method : {"trapezoid", "stutz-cpp"}, optional
        ``trapezoid``: the curve is piecewise linear through the points sorted by count,
        linearly interpolated at ``lower``/``upper`` when points lie on both sides and
        held constant from the nearest point otherwise, and integrated with the
        trapezoidal rule. This is what the benchmark describes and what its code does
        at the lower end. ``stutz-cpp``: a literal port of the C++ code, including its
        quirks at the upper end (its copy loop stops one point early, so the point
        just below ``upper`` is dropped and the value at ``upper`` is extrapolated from
        the two points before it; interior counts are truncated to integers). Use it
        only to reproduce published numbers.

    Returns
    -------
    average : float
        In percent; lower is better.

    Raises
    ------
    ValueError
        If the inputs differ in length, have fewer than two points, are not finite,
        ``lower >= upper``, the method is unknown, or (``stutz-cpp``) the points are
        too few for the C++ code to stay in bounds.

    Examples
    --------
    >>> round(stutz_average([200, 5200], [0.8, 1.0]), 6)  # mean of 1 - v is 0.1
    10.0
    >>> round(stutz_average([100, 300], [0.9, 0.7], lower=200, upper=300), 6)  # 1 - 0.75
    25.0
    """
    x = np.asarray(counts, dtype=np.float64).ravel()
    v = np.asarray(values, dtype=np.float64).ravel()
    if x.size != v.size:
        raise ValueError(f"counts ({x.size}) and values ({v.size}) differ in length")
    if x.size < 2:
        raise ValueError(f"need at least two (count, value) points, got {x.size}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(v))):
        raise ValueError("counts and values must be finite")
    if not lower < upper:
        raise ValueError(f"lower ({lower}) must be below upper ({upper})")
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    order = np.argsort(x, kind="stable")
    x, v = x[order], v[order]
    if method == "trapezoid":
        inner = (x > lower) & (x < upper)
        px = np.concatenate([[lower], x[inner], [upper]])
        pv = np.interp(px, x, v)
    else:
        px, pv = _stutz_cpp_curve(x, v, lower, upper)
    area = np.sum(np.diff(px) * (1.0 - 0.5 * (pv[1:] + pv[:-1])))
    return float(100.0 * area / (upper - lower))


def _stutz_cpp_curve(x, v, lower, upper):
    """Literal port of the curve correction in ``Evaluation::computeAverageMetric``."""
    n = x.size
    i_min = 0
    while i_min + 1 < n and x[i_min + 1] <= lower:
        i_min += 1
    i_max = n - 1
    while i_max - 1 >= 0 and x[i_max - 1] >= upper:
        i_max -= 1
    cx: list[float] = []
    cv: list[float] = []
    if x[i_min] > lower:
        cx.append(lower)
        cv.append(v[i_min])
    else:
        if i_min + 1 >= n:
            raise ValueError(f"every count is at or below lower={lower}")
        slope = (v[i_min + 1] - v[i_min]) / (x[i_min + 1] - x[i_min])
        cx.append(lower)
        cv.append(slope * lower + v[i_min] - slope * x[i_min])
        i_min += 1
    for i in range(i_min, i_max - 1):  # sic: stops before i_max - 1
        cx.append(math.trunc(x[i]))  # pushed into a std::vector<int>
        cv.append(v[i])
    if x[i_max] < upper:
        cx.append(upper)
        cv.append(v[i_max])
    else:
        if len(cx) < 2 or cx[-1] == cx[-2]:
            raise ValueError("too few counts below upper for the C++ extrapolation")
        slope = (cv[-1] - cv[-2]) / (cx[-1] - cx[-2])
        cv[-1] = slope * upper + cv[-1] - slope * cx[-1]
        cx[-1] = upper
    return np.asarray(cx, dtype=np.float64), np.asarray(cv, dtype=np.float64)


def gap_closure(ours: float, baseline: float, reference: float) -> float:
    """The share of the distance from ``baseline`` to ``reference`` that ``ours`` covers.

    G = (ours - baseline) / (reference - baseline): 0 at the baseline, 1 at the
    reference, above 1 beyond it. The reproduction gap of a trained SSN uses SSN_pix
    (no learned features) as the baseline and the paper's released model as the
    reference.

    >>> round(gap_closure(0.97, baseline=0.96, reference=0.98), 6)
    0.5

    Raises
    ------
    ValueError
        If the reference equals the baseline (no gap to close).
    """
    if reference == baseline:
        raise ValueError(f"no gap to close: reference and baseline are both {baseline}")
    return (ours - baseline) / (reference - baseline)


def _finite_values(values, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).ravel()
    if arr.size == 0:
        raise ValueError(f"{name} is empty; give one value per image")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return arr


def spread(values, *, ddof: int = 0) -> dict:
    """How a per-image metric varies over the images: mean, std, min and max.

    Parameters
    ----------
    values : (n,) array_like of float
        One value per image (e.g. its ASA, the mean over its annotations).
    ddof : int, optional
        Delta degrees of freedom of the standard deviation: 0 (default) divides by n,
        as ``EvaluationSummary::computeStandardDeviation`` of the Stutz benchmark; 1
        divides by n - 1, as pandas' ``std`` in Barcelos et al.'s ``eval_stability.py``.

    Returns
    -------
    dict
        ``n``, ``mean``, ``std``, ``min``, ``max`` (``std`` is NaN when n <= ddof).

    Raises
    ------
    ValueError
        If ``values`` is empty or not finite, or ``ddof`` is negative.

    Examples
    --------
    >>> spread([2, 4, 4, 4, 5, 5, 7, 9])  # squared deviations 9+1+1+1+0+0+4+16 = 32
    {'n': 8, 'mean': 5.0, 'std': 2.0, 'min': 2.0, 'max': 9.0}
    >>> round(spread([2, 4, 4, 4, 5, 5, 7, 9], ddof=1)["std"] ** 2, 12)  # 32 / 7
    4.571428571429
    """
    arr = _finite_values(values, "values")
    if isinstance(ddof, bool) or not isinstance(ddof, (int, np.integer)) or ddof < 0:
        raise ValueError(f"ddof must be a non-negative integer, got {ddof!r}")
    std = float(np.std(arr, ddof=ddof)) if arr.size > ddof else float("nan")
    return {"n": int(arr.size), "mean": float(arr.mean()), "std": std,
            "min": float(arr.min()), "max": float(arr.max())}  # fmt: skip


def count_control(realised, requested: int) -> dict:
    """How closely the realised superpixel counts of the images follow the request K.

    Parameters
    ----------
    realised : (n,) array_like of int
        The realised count of every image, segmented with ``requested``.
    requested : int
        The requested count K.

    Returns
    -------
    dict
        ``n_images``; ``mean``, ``std`` (divided by n), ``min``, ``max`` of the counts;
        ``mean_relative_error`` = (mean - K) / K; ``worst_relative_error`` = the
        per-image (count - K) / K of largest magnitude, with its sign (negative: too
        few superpixels), or 0 when every image has K.

    Raises
    ------
    ValueError
        If ``realised`` is empty, not finite or negative, or ``requested`` is not a
        positive integer.

    Examples
    --------
    >>> result = count_control([100, 100, 100], 400)  # a fixed 10 x 10 grid
    >>> result["mean_relative_error"], result["worst_relative_error"]
    (-0.75, -0.75)
    >>> count_control([380, 460, 400], 400)["worst_relative_error"]  # 460: +15%
    0.15
    """
    counts = _finite_values(realised, "realised")
    if np.any(counts < 0):
        raise ValueError("realised counts must be non-negative")
    if isinstance(requested, bool) or not isinstance(requested, (int, np.integer)) or requested < 1:
        raise ValueError(f"requested must be a positive integer (K), got {requested!r}")
    errors = (counts - requested) / requested
    stats = spread(counts)
    return {
        "n_images": stats["n"],
        "mean": stats["mean"],
        "std": stats["std"],
        "min": stats["min"],
        "max": stats["max"],
        "mean_relative_error": (stats["mean"] - requested) / requested,
        "worst_relative_error": float(errors[np.argmax(np.abs(errors))]),
    }
