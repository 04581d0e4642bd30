"""The tables of the evaluations the field's benchmarks add (issue #28), from tidy tables.

Pure pandas over the workflow's per-image tables (one row per image x annotation x
protocol, as ``evaluate.py`` and ``robustness.py`` write them), with the statistics of
:mod:`ssn.metrics.summary`; the job scripts read and write the files, these functions
only compute (tests/test_evaluation_tables.py):

- :func:`stability_table`: the spread over images of ASA, BR and UE;
- :func:`count_control_table`: realised against requested counts, and connectivity;
- :func:`robustness_table`: the perturbed images' scores and their change from clean;
- :func:`markdown`: a table as Markdown, as the run's ``*.md`` files show them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ssn.metrics import count_control, spread

#: the metrics whose spread over images and change under perturbation are reported
REGION_METRICS = ("asa", "br", "ue")

#: one curve: the keys of a (dataset, method, K, protocol) group of the per-image table
CURVE_KEYS = ["dataset", "method", "k", "protocol"]


def markdown(frame: pd.DataFrame, digits: int = 4) -> str:
    """A DataFrame as a Markdown table (floats to ``digits`` significant digits)."""

    def cell(v):
        if isinstance(v, float):
            return "" if np.isnan(v) else f"{v:.{digits}g}"
        return str(v)

    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(False)]
    return "\n".join(lines)


def per_image(table: pd.DataFrame, keys=CURVE_KEYS) -> pd.DataFrame:
    """One row per image of every group: each region metric the mean over the image's
    annotations, and what the image has once (its realised count)."""
    aggregations = {m: (m, "mean") for m in REGION_METRICS}
    return (
        table.groupby([*keys, "image"], sort=True)
        .agg(**aggregations, n_superpixels=("n_superpixels", "first"))
        .reset_index()
    )


def stability_table(table: pd.DataFrame, labels: dict, datasets=None) -> pd.DataFrame:
    """The spread over images of ASA, BR and UE per dataset, method, K and protocol.

    Parameters
    ----------
    table : DataFrame
        Per (image, annotation, protocol) rows with ``dataset``, ``method``, ``k``,
        ``protocol``, ``image``, ``n_superpixels`` and the region metrics (Sintel's
        ``flow`` rows are left out).
    labels : dict
        Method -> its label in tables.
    datasets : sequence of str, optional
        Only these datasets (default: every one with region metrics).

    Returns
    -------
    DataFrame
        ``dataset, method, label, k, protocol, n_images, n_superpixels`` and, per metric
        m of ASA, BR, UE, ``m_mean, m_std, m_min, m_max`` over images, each image's
        value the mean over its annotations (:func:`ssn.metrics.spread`, std / n).
    """
    regions = table[table["protocol"] != "flow"]
    if datasets is not None:
        regions = regions[regions["dataset"].isin(list(datasets))]
    rows = []
    for key, part in per_image(regions).groupby(CURVE_KEYS, sort=True):
        row = dict(zip(CURVE_KEYS, key, strict=True))
        row["label"] = labels.get(row["method"], row["method"])
        row["n_images"] = len(part)
        row["n_superpixels"] = float(part["n_superpixels"].mean())
        for m in REGION_METRICS:
            stats = spread(part[m])
            row.update({f"{m}_{s}": stats[s] for s in ("mean", "std", "min", "max")})
        rows.append(row)
    columns = ["dataset", "method", "label", "k", "protocol", "n_images", "n_superpixels"]
    columns += [f"{m}_{s}" for m in REGION_METRICS for s in ("mean", "std", "min", "max")]
    return pd.DataFrame(rows, columns=columns)


def count_control_table(table: pd.DataFrame, labels: dict) -> pd.DataFrame:
    """Requested K against the realised count per dataset, method and K.

    Parameters
    ----------
    table : DataFrame
        Per-image rows (any number per image: annotations, protocols) with
        ``dataset``, ``method``, ``k``, ``image``, ``n_superpixels`` and, where
        measured, ``n_disconnected`` (the image's superpixels that are not one
        4-connected region).
    labels : dict
        Method -> its label in tables.

    Returns
    -------
    DataFrame
        ``dataset, method, label, k, n_images``, the count's ``mean, std, min, max``,
        ``mean_relative_error``, ``worst_relative_error`` (signed, the image farthest
        from K; :func:`ssn.metrics.count_control`), ``n_disconnected`` (summed over the
        images; NaN where not measured) and ``images_disconnected``.
    """
    keys = ["dataset", "method", "k"]
    has_connectivity = "n_disconnected" in table
    columns = {"n_superpixels": ("n_superpixels", "first")}
    if has_connectivity:
        columns["n_disconnected"] = ("n_disconnected", "first")
    images = table.groupby([*keys, "image"], sort=True).agg(**columns).reset_index()
    rows = []
    for key, part in images.groupby(keys, sort=True):
        row = dict(zip(keys, key, strict=True))
        row["label"] = labels.get(row["method"], row["method"])
        row.update(count_control(part["n_superpixels"].to_numpy(), int(row["k"])))
        disconnected = part["n_disconnected"] if has_connectivity else pd.Series(dtype=float)
        measured = disconnected.notna().all() and len(disconnected) > 0
        row["n_disconnected"] = int(disconnected.sum()) if measured else np.nan
        row["images_disconnected"] = int((disconnected > 0).sum()) if measured else np.nan
        rows.append(row)
    columns = ["dataset", "method", "label", "k", "n_images", "mean", "std", "min", "max",
               "mean_relative_error", "worst_relative_error", "n_disconnected",
               "images_disconnected"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def _relative_change(first: pd.Series, second: pd.Series, clean: pd.Series) -> pd.Series:
    """(first - second) / clean; NaN where the clean value is 0."""
    return (first - second) / clean.where(clean != 0)


def _means(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per group: images, pairs, mean count over images, metric means over the pairs."""
    pairs = rows.groupby(keys, sort=True).agg(
        n_pairs=("asa", "size"), **{m: (m, "mean") for m in REGION_METRICS}
    )
    images = rows.groupby([*keys, "image"], sort=True)["n_superpixels"].first()
    counts = images.groupby(level=keys).agg(["size", "mean"])
    counts.columns = ["n_images", "n_superpixels"]
    return pairs.join(counts).reset_index()


def robustness_table(
    perturbed: pd.DataFrame, clean: pd.DataFrame, labels: dict, parameters: dict
) -> pd.DataFrame:
    """The perturbed images' scores per method x perturbation x strength, against clean.

    Parameters
    ----------
    perturbed : DataFrame
        Per (image, annotation) rows of the robustness jobs: ``method``,
        ``perturbation``, ``strength``, ``image``, ``n_superpixels`` and ASA, BR, UE.
    clean : DataFrame
        The benchmark's per (image, annotation) rows of the clean images at the same K
        and protocol; only the images in ``perturbed`` are used.
    labels : dict
        Method -> its label.
    parameters : dict
        Perturbation -> the name of the parameter its strength sets.

    Returns
    -------
    DataFrame
        One row per method x perturbation x strength, and for each perturbation a
        ``strength`` 0 row holding the clean scores (``clean`` True): ``method, label,
        perturbation, parameter, strength, clean, n_images, n_pairs, n_superpixels,
        asa, br, ue`` and ``asa_drop`` = (clean - perturbed) / clean, ``br_drop``
        likewise, ``ue_rise`` = (perturbed - clean) / clean (positive: worse).

    Raises
    ------
    ValueError
        If a method of ``perturbed`` has no clean rows of its images.
    """
    images = set(perturbed["image"])
    clean = clean[clean["image"].isin(images)]
    reference = _means(clean, ["method"]).set_index("method")
    missing = sorted(set(perturbed["method"]) - set(reference.index))
    if missing:
        raise ValueError(f"no clean scores of the perturbed images for methods {missing}")
    for method, part in perturbed.groupby("method"):
        if set(part["image"]) != set(clean.loc[clean["method"] == method, "image"]):
            raise ValueError(f"{method}: the clean and the perturbed images differ")
    scored = _means(perturbed, ["method", "perturbation", "strength"])
    scored["clean"] = False
    baseline = [
        {"method": m, "perturbation": kind, "strength": 0, "clean": True,
         **reference.loc[m].to_dict()}
        for m in reference.index.intersection(scored["method"].unique())
        for kind in scored.loc[scored["method"] == m, "perturbation"].unique()
    ]  # fmt: skip
    out = pd.concat([pd.DataFrame(baseline), scored], ignore_index=True)
    ref = reference.loc[out["method"]].reset_index(drop=True)
    # positive is worse for all three ((clean - perturbed) / clean: no -0 on clean rows)
    out["asa_drop"] = _relative_change(ref["asa"], out["asa"], ref["asa"])
    out["br_drop"] = _relative_change(ref["br"], out["br"], ref["br"])
    out["ue_rise"] = _relative_change(out["ue"], ref["ue"], ref["ue"])
    out["label"] = out["method"].map(lambda m: labels.get(m, m))
    out["parameter"] = out["perturbation"].map(parameters)
    out["n_images"] = out["n_images"].astype(int)
    out["n_pairs"] = out["n_pairs"].astype(int)
    order = list(parameters)
    out["_kind"] = out["perturbation"].map(order.index)
    out = out.sort_values(["_kind", "method", "strength"], kind="stable").drop(columns="_kind")
    columns = ["method", "label", "perturbation", "parameter", "strength", "clean", "n_images",
               "n_pairs", "n_superpixels", "asa", "br", "ue", "asa_drop", "br_drop",
               "ue_rise"]  # fmt: skip
    return out[columns].reset_index(drop=True)
