"""The paper-claims check (workflow/scripts/paper_claims.py): matched-count comparison."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))
import paper_claims  # noqa: E402


def _part(points):
    return pd.DataFrame(points, columns=["n_superpixels", "asa"])


def test_interpolation_is_linear_in_log_count():
    part = _part([(100, 0.90), (400, 0.95)])
    assert paper_claims.at_count(part, "asa", 200) == pytest.approx(0.90 + 0.05 * 0.5)
    assert paper_claims.at_count(part, "asa", 400) == pytest.approx(0.95)


def test_below_the_range_uses_the_smallest_count_and_above_compares_nothing():
    part = _part([(100, 0.90), (400, 0.95)])
    assert paper_claims.at_count(part, "asa", 50) == pytest.approx(0.90)
    assert math.isnan(paper_claims.at_count(part, "asa", 500))


def _summary(rows):
    columns = ["dataset", "method", "k", "protocol", "n_superpixels", "asa", "br", "epe"]
    return pd.DataFrame(rows, columns=columns)


def test_a_method_with_fewer_superpixels_is_compared_at_its_own_count():
    """SSN at 380 superpixels against SLIC measured at 200 and 400: SLIC's value is
    interpolated at 380, not taken at 400 (which would favour SLIC) nor at 200."""
    summary = _summary([
        ("bsds500", "ssn_deep_paper", 400, "ssn", 380, 0.950, 0.80, None),
        ("bsds500", "slic", 200, "ssn", 200, 0.900, 0.60, None),
        ("bsds500", "slic", 400, "ssn", 400, 0.960, 0.70, None),
    ])  # fmt: skip
    ((k, value, rival, rival_value, margin),) = paper_claims.margins(
        summary, "bsds500", "ssn_deep_paper", ["slic"], "asa", "ssn"
    )
    expected = 0.900 + 0.060 * math.log(380 / 200) / math.log(2)
    assert (k, rival) == (400, "slic")
    assert rival_value == pytest.approx(expected)
    assert margin == pytest.approx(0.950 - expected)


def test_verdicts():
    summary = _summary([
        ("bsds500", "ssn_deep_paper", 400, "ssn", 400, 0.96, 0.85, None),
        ("bsds500", "ssn_deep_paper", 400, "stutz", 400, 0.96, 0.80, None),
        ("bsds500", "ers", 400, "ssn", 400, 0.95, 0.86, None),
        ("bsds500", "ers", 400, "stutz", 400, 0.95, 0.79, None),
        ("sintel", "ssn_deep_paper", 400, "flow", 400, None, None, 0.5),
        ("sintel", "slic", 400, "flow", 400, None, None, 0.7),
    ])  # fmt: skip
    verdicts = {
        claim: verdict for claim, _, verdict in paper_claims.claims(summary, "ssn_deep_paper")
    }
    assert verdicts["BSDS500: SSN_deep above every baseline in ASA at every K"] == "holds"
    assert verdicts["BSDS500: SSN_deep above every baseline in BR at every K (ssn protocol)"] == (
        "does not hold"
    )
    assert verdicts["BSDS500: SSN_deep above every baseline in BR at every K (stutz protocol)"] == (
        "holds"
    )
    assert verdicts["Sintel: the Sintel model lowers flow EPE against SLIC"] == "holds"
    assert verdicts["BSDS500: SSN_pix about SLIC or better (ASA)"] == "not measured"


def test_the_successors_are_claims_of_their_own_not_baselines():
    """SEAL and LNSNet (issue #27) neither join nor spoil "every baseline"; each has its
    own claim, with the verdict the numbers give."""
    summary = _summary([
        ("bsds500", "ssn_deep_paper", 200, "ssn", 200, 0.95, 0.80, None),
        ("bsds500", "ssn_deep_paper", 400, "ssn", 400, 0.96, 0.85, None),
        ("bsds500", "ers", 200, "ssn", 200, 0.94, 0.70, None),
        ("bsds500", "ers", 400, "ssn", 400, 0.95, 0.80, None),
        ("bsds500", "seal", 200, "ssn", 200, 0.955, 0.75, None),  # above SSN in ASA at 200
        ("bsds500", "seal", 400, "ssn", 400, 0.958, 0.83, None),
        ("cityscapes", "ssn_deep_paper", 400, "ssn", 400, 0.93, 0.80, None),
        ("cityscapes", "seal", 400, "ssn", 400, 0.92, 0.82, None),
    ])  # fmt: skip
    found = {claim: (text, verdict) for claim, text, verdict in paper_claims.claims(
        summary, "ssn_deep_paper")}  # fmt: skip
    assert found["BSDS500: SSN_deep above every baseline in ASA at every K"][1] == "holds"
    text, verdict = found["BSDS500: SSN_deep above SEAL in ASA at every K"]
    assert verdict == "does not hold" and "K=200: 0.9500 vs seal 0.9550 (worse by 0.0050)" in text
    assert found["BSDS500: SSN_deep above SEAL in BR at every K (ssn protocol)"][1] == "holds"
    assert found["BSDS500: SSN_deep above LNSNet in ASA at every K"][1] == "not measured"
    cityscapes = "Cityscapes: the Cityscapes model above SEAL's Cityscapes model in ASA"
    assert found[cityscapes][1] == "holds"
