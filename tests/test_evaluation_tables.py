"""The tables of issue #28 (workflow/scripts/_tables.py, paper_claims.py's new rows):
stability over images, count control, robustness against the clean images, claims.

Hand-computed tiny tables, and a method that returns a fixed grid whatever K is asked,
segmented through the registry as the workflow's jobs do.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))
import paper_claims  # noqa: E402
from _jobs import load_segmenter  # noqa: E402
from _tables import count_control_table, robustness_table, stability_table  # noqa: E402

from ssn import methods  # noqa: E402
from ssn.metrics import (  # noqa: E402
    evaluate_image,
    n_disconnected_superpixels,
    n_superpixels,
)
from ssn.perturbations import PERTURBATIONS  # noqa: E402

LABELS = {"ssn_deep": "SSN_deep", "slic": "SLIC"}


def rows(records, **common):
    return pd.DataFrame([{**common, **r} for r in records])


# ------------------------------------------------------------------------- stability


def test_stability_statistics_hand_computed():
    """Image a has two annotations (ASA 0.9 and 0.7: its value 0.8), images b and c one
    each (0.9, 1.0): mean 0.9, std sqrt((0.01 + 0 + 0.01) / 3), min 0.8, max 1.0."""
    table = rows(
        [
            {"image": "a", "annotation": 0, "asa": 0.9, "br": 0.5, "ue": 0.10, "n_superpixels": 390},
            {"image": "a", "annotation": 1, "asa": 0.7, "br": 0.7, "ue": 0.20, "n_superpixels": 390},
            {"image": "b", "annotation": 0, "asa": 0.9, "br": 0.8, "ue": 0.05, "n_superpixels": 400},
            {"image": "c", "annotation": 0, "asa": 1.0, "br": 0.7, "ue": 0.00, "n_superpixels": 410},
        ],
        dataset="bsds500", method="slic", k=400, protocol="ssn",
    )  # fmt: skip
    flow = rows([{"image": "f", "annotation": 0, "asa": np.nan, "br": np.nan, "ue": np.nan,
                  "n_superpixels": 400}], dataset="sintel", method="slic", k=400,
                protocol="flow")  # fmt: skip
    (row,) = stability_table(pd.concat([table, flow]), LABELS).to_dict("records")
    assert (row["dataset"], row["label"], row["n_images"], row["n_superpixels"]) == (
        "bsds500", "SLIC", 3, 400.0,
    )  # fmt: skip
    assert row["asa_mean"] == pytest.approx(0.9)
    assert row["asa_std"] == pytest.approx(np.sqrt(0.02 / 3))
    assert (row["asa_min"], row["asa_max"]) == pytest.approx((0.8, 1.0))
    # BR per image 0.6, 0.8, 0.7; UE 0.15, 0.05, 0.0
    assert (row["br_mean"], row["br_min"], row["br_max"]) == pytest.approx((0.7, 0.6, 0.8))
    assert row["br_std"] == pytest.approx(np.sqrt(0.02 / 3))
    assert (row["ue_mean"], row["ue_min"], row["ue_max"]) == pytest.approx((0.2 / 3, 0.0, 0.15))
    assert stability_table(table, LABELS, datasets=["voc2012"]).empty


# --------------------------------------------------------------------- count control


def test_count_control_table_hand_computed():
    """K = 400; images of 380, 460, 400 superpixels (each listed twice, two annotations):
    mean 413.33, relative error +3.33%, worst image +15% (460); one image has 2
    superpixels in pieces."""
    table = rows(
        [
            {"image": "a", "n_superpixels": 380, "n_disconnected": 0},
            {"image": "a", "n_superpixels": 380, "n_disconnected": 0},
            {"image": "b", "n_superpixels": 460, "n_disconnected": 2},
            {"image": "b", "n_superpixels": 460, "n_disconnected": 2},
            {"image": "c", "n_superpixels": 400, "n_disconnected": 0},
        ],
        dataset="bsds500", method="ssn_deep", k=400,
    )  # fmt: skip
    (row,) = count_control_table(table, LABELS).to_dict("records")
    assert row["label"] == "SSN_deep" and row["n_images"] == 3
    assert row["mean"] == pytest.approx(1240 / 3)
    assert row["std"] == pytest.approx(np.std([380, 460, 400]))
    assert (row["min"], row["max"]) == (380, 460)
    assert row["mean_relative_error"] == pytest.approx((1240 / 3 - 400) / 400)
    assert row["worst_relative_error"] == pytest.approx(0.15)
    assert (row["n_disconnected"], row["images_disconnected"]) == (2, 1)
    # a table from before the connectivity column: counts, but no connectivity claim
    (old,) = count_control_table(table.drop(columns="n_disconnected"), LABELS).to_dict("records")
    assert np.isnan(old["n_disconnected"]) and old["worst_relative_error"] == pytest.approx(0.15)


@pytest.fixture
def grid_method(monkeypatch):
    """A method in the registry that returns a fixed 10 x 10 grid, whatever K."""

    def build():
        def run(image, n_segments):
            h, w = image.shape[:2]
            rows_, cols = np.arange(h) * 10 // h, np.arange(w) * 10 // w
            return (rows_[:, None] * 10 + cols[None, :]).astype(np.int32)

        return methods.Segmenter("grid", run)

    registry = {**methods._registry(), "grid": methods.Method("grid", "a fixed grid", build)}
    monkeypatch.setattr(methods, "_registry", lambda: registry)


def test_a_fixed_grid_gets_the_worst_relative_error_the_table_shows(grid_method):
    """100 superpixels for every K: (100 - 50) / 50 = +1, 0 at K = 100, (100 - 400) / 400 =
    -0.75, on every image; segmented and scored as segment.py and evaluate.py do."""
    segmenter, _ = load_segmenter({"method": "grid"})
    rng = np.random.default_rng(0)
    images = {
        f"im{i}": rng.integers(0, 256, (40 + 10 * i, 60, 3), dtype=np.uint8) for i in range(3)
    }
    records = []
    for k in (50, 100, 400):
        for name, image in images.items():
            labels = segmenter(image, k)
            gt = (np.arange(image.shape[0])[:, None] > image.shape[0] // 2) * np.ones(
                image.shape[1], int
            )
            result = evaluate_image(labels, [gt], protocol="ssn")
            records.append({"dataset": "bsds500", "method": "grid", "k": k, "image": name,
                            "n_superpixels": result.n_superpixels,
                            "n_disconnected": n_disconnected_superpixels(labels)})  # fmt: skip
            assert n_superpixels(labels) == 100
    table = count_control_table(pd.DataFrame(records), {"grid": "grid"}).set_index("k")
    assert table["worst_relative_error"].to_dict() == pytest.approx({50: 1.0, 100: 0.0, 400: -0.75})
    assert table["mean_relative_error"].to_dict() == pytest.approx({50: 1.0, 100: 0.0, 400: -0.75})
    assert (table["std"] == 0).all() and (table["n_disconnected"] == 0).all()
    claim, text, verdict = paper_claims.count_claims(table.reset_index(), "grid")[1]
    assert verdict == "does not hold" and "K=400: -75.0%" in text


# ------------------------------------------------------------------------ robustness


def _robustness_inputs():
    clean = pd.concat(
        [
            rows([{"image": "a", "asa": 0.96, "br": 0.80, "ue": 0.10, "n_superpixels": 400},
                  {"image": "b", "asa": 0.94, "br": 0.80, "ue": 0.10, "n_superpixels": 380},
                  {"image": "z", "asa": 0.10, "br": 0.10, "ue": 0.90, "n_superpixels": 10}],
                 method="ssn_deep"),
            rows([{"image": "a", "asa": 0.90, "br": 0.70, "ue": 0.20, "n_superpixels": 400},
                  {"image": "b", "asa": 0.90, "br": 0.70, "ue": 0.20, "n_superpixels": 400}],
                 method="slic"),
        ]
    )  # fmt: skip
    perturbed = pd.concat(
        [
            rows([{"image": "a", "asa": 0.95, "br": 0.60, "ue": 0.15, "n_superpixels": 300},
                  {"image": "b", "asa": 0.95, "br": 0.60, "ue": 0.15, "n_superpixels": 320}],
                 method="ssn_deep", perturbation="gaussian_noise", strength=0.1),
            rows([{"image": "a", "asa": 0.81, "br": 0.35, "ue": 0.30, "n_superpixels": 900},
                  {"image": "b", "asa": 0.81, "br": 0.35, "ue": 0.30, "n_superpixels": 900}],
                 method="slic", perturbation="gaussian_noise", strength=0.1),
        ]
    )  # fmt: skip
    return perturbed, clean


def test_robustness_table_hand_computed():
    """Clean scores of the perturbed images only (image z is not perturbed): SSN_deep ASA
    0.95, BR 0.8, UE 0.1; noise gives 0.95, 0.6, 0.15: drops 0, 25%, UE +50%. SLIC:
    0.9 -> 0.81 (10%), 0.7 -> 0.35 (50%), 0.2 -> 0.3 (+50%)."""
    perturbed, clean = _robustness_inputs()
    table = robustness_table(perturbed, clean, LABELS, PERTURBATIONS)
    # methods sorted, each one's clean row (strength 0) first
    assert list(table["method"]) == ["slic", "slic", "ssn_deep", "ssn_deep"]
    assert list(table["strength"]) == [0, 0.1, 0, 0.1]
    assert list(table["clean"]) == [True, False, True, False]
    rows_ = table.set_index(["method", "strength"])
    deep, clean_deep = rows_.loc[("ssn_deep", 0.1)], rows_.loc[("ssn_deep", 0)]
    assert bool(clean_deep["clean"]) and not bool(deep["clean"])
    assert (clean_deep["asa"], clean_deep["br"], clean_deep["ue"]) == pytest.approx(
        (0.95, 0.8, 0.1)
    )
    assert clean_deep["n_superpixels"] == 390 and clean_deep["n_images"] == 2
    assert (deep["asa_drop"], deep["br_drop"], deep["ue_rise"]) == pytest.approx((0.0, 0.25, 0.5))
    assert deep["n_superpixels"] == 310 and deep["parameter"] == "sigma"
    slic = rows_.loc[("slic", 0.1)]
    assert (slic["asa_drop"], slic["br_drop"], slic["ue_rise"]) == pytest.approx((0.1, 0.5, 0.5))
    assert (clean_deep["asa_drop"], clean_deep["br_drop"]) == (0.0, 0.0)
    assert not np.signbit(table["asa_drop"][table["clean"]]).any()  # no "-0" in the tables


def test_robustness_table_needs_the_clean_scores_of_every_method():
    perturbed, clean = _robustness_inputs()
    with pytest.raises(ValueError, match="no clean scores"):
        robustness_table(perturbed, clean[clean["method"] != "slic"], LABELS, PERTURBATIONS)


def test_robustness_claims_verdicts():
    """SSN_deep loses 25% of its BR under noise, SLIC 50%: holds; in ASA 0% vs 10%: holds."""
    perturbed, clean = _robustness_inputs()
    table = robustness_table(perturbed, clean, LABELS, PERTURBATIONS)
    spec = {"dataset": "bsds500", "k": 400}
    (br, asa) = paper_claims.robustness_claims(table, "ssn_deep", spec)
    assert (
        br[0]
        == "Robustness (bsds500, K = 400): SSN_deep loses less BR than SLIC under gaussian noise, sigma = 0.1"
    )
    assert br[2] == "holds" and "25.0%" in br[1] and "50.0%" in br[1]
    assert asa[2] == "holds"
    swapped = paper_claims.robustness_claims(table, "slic", spec, rival="ssn_deep")
    assert [v for *_, v in swapped] == ["does not hold", "does not hold"]
    missing = paper_claims.robustness_claims(table, "ssn_deep_paper", spec)
    assert [v for *_, v in missing] == ["not measured", "not measured"]


def test_connectivity_claim_names_the_methods_with_fragments():
    counts = pd.DataFrame(
        [{"dataset": "bsds500", "method": "ssn_deep", "label": "SSN_deep", "k": 400,
          "mean_relative_error": -0.04, "worst_relative_error": -0.1, "n_disconnected": 0},
         {"dataset": "bsds500", "method": "fh", "label": "FH", "k": 400,
          "mean_relative_error": 0.0, "worst_relative_error": 0.3, "n_disconnected": 7}]
    )  # fmt: skip
    (connected, count) = paper_claims.count_claims(counts, "ssn_deep")
    assert connected[2] == "does not hold" and "FH: 7" in connected[1]
    assert count[2] == "holds" and "K=400: -4.0% (worst image -10.0%)" in count[1]
    (connected, _) = paper_claims.count_claims(counts[counts["method"] == "ssn_deep"], "ssn_deep")
    assert connected[2] == "holds"
