"""Correctness of the superpixel metrics (ssn.metrics).

Three kinds of evidence:

* tiny images whose expected values are worked out by hand in the comments;
* properties that must hold for any input (refinement, label permutation, ...);
* a slow, loop-based reference implementation written straight from the definitions
  (and from the C++ of the Stutz benchmark and the SEAL evaluator), compared with the
  vectorised code on random label images and on real BSDS500 annotations.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ssn.metrics import (
    PROTOCOLS,
    achievable_segmentation_accuracy,
    boundary_map,
    boundary_precision,
    boundary_recall,
    compactness,
    evaluate_image,
    explained_variation,
    fill_ignored,
    flow_endpoint_error,
    get_protocol,
    n_superpixels,
    resolve_tolerance,
    stutz_average,
    stutz_averages,
    summarize_images,
    summarize_over_counts,
    undersegmentation_error,
)

# --------------------------------------------------------------------------------------
# Slow reference implementation: plain loops over pixels, straight from the definitions.
# --------------------------------------------------------------------------------------


def ref_boundary(labels, two_sided):
    """Stutz's is4ConnectedBoundaryPixel (two-sided) or SEAL's transition map."""
    lab = np.asarray(labels).tolist()
    h, w = len(lab), len(lab[0])
    out = [[False] * w for _ in range(h)]
    offsets = [(0, 1), (1, 0)] + ([(0, -1), (-1, 0)] if two_sided else [])
    for i in range(h):
        for j in range(w):
            for di, dj in offsets:
                k, m = i + di, j + dj
                if 0 <= k < h and 0 <= m < w and lab[k][m] != lab[i][j]:
                    out[i][j] = True
    return out


def ref_matched_fraction(source, target, r):
    """Fraction of True pixels of `source` with a True pixel of `target` within r."""
    h, w = len(source), len(source[0])
    total = hits = 0
    for i in range(h):
        for j in range(w):
            if not source[i][j]:
                continue
            total += 1
            found = False
            for k in range(max(0, i - r), min(h - 1, i + r) + 1):
                for m in range(max(0, j - r), min(w - 1, j + r) + 1):
                    if target[k][m]:
                        found = True
            hits += found
    return hits, total


def ref_recall(sp, gt, protocol, r):
    two = protocol == "stutz"
    hits, total = ref_matched_fraction(ref_boundary(gt, two), ref_boundary(sp, two), r)
    if total == 0:
        return 0.0 if protocol == "stutz" else 1.0
    return hits / total


def ref_precision(sp, gt, protocol, r):
    two = protocol == "stutz"
    hits, total = ref_matched_fraction(ref_boundary(sp, two), ref_boundary(gt, two), r)
    return hits / total if total else 0.0


def ref_intersections(sp, gt):
    table = {}
    sizes = {}
    for s, g in zip(np.ravel(sp).tolist(), np.ravel(gt).tolist(), strict=True):
        table[s, g] = table.get((s, g), 0) + 1
        sizes[s] = sizes.get(s, 0) + 1
    return table, sizes


def ref_asa(sp, gt, ignore=()):
    table, _ = ref_intersections(sp, gt)
    best = {}
    for (s, g), c in table.items():
        if g not in ignore:
            best[s] = max(best.get(s, 0), c)
    n = sum(1 for g in np.ravel(gt).tolist() if g not in ignore)
    return sum(best.values()) / n


def ref_ue(sp, gt):
    table, sizes = ref_intersections(sp, gt)
    return sum(min(c, sizes[s] - c) for (s, g), c in table.items()) / np.size(sp)


def ref_compactness(sp):
    lab = np.asarray(sp).tolist()
    h, w = len(lab), len(lab[0])
    area, perimeter = {}, {}
    for i in range(h):
        for j in range(w):
            s = lab[i][j]
            sides = 0
            for k, m in ((i - 1, j), (i + 1, j), (i, j - 1), (i, j + 1)):
                if not (0 <= k < h and 0 <= m < w) or lab[k][m] != s:
                    sides += 1
            area[s] = area.get(s, 0) + 1
            perimeter[s] = perimeter.get(s, 0) + sides
    return sum(a * 4 * math.pi * a / perimeter[s] ** 2 for s, a in area.items()) / (h * w)


def ref_ev(sp, image):
    image = np.asarray(image, dtype=float).reshape(np.shape(sp) + (-1,))
    mu = image.reshape(-1, image.shape[-1]).mean(axis=0)
    top = 0.0
    for s in np.unique(sp):
        pixels = image[np.asarray(sp) == s]
        top += len(pixels) * float(np.sum((pixels.mean(axis=0) - mu) ** 2))
    return top / float(np.sum((image - mu) ** 2))


def ref_epe(sp, flow, valid):
    sp = np.asarray(sp)
    total, n = 0.0, 0
    for s in np.unique(sp):
        inside = (sp == s) & valid
        if not inside.any():
            continue
        mean = flow[inside].mean(axis=0)
        for u, v in flow[inside]:
            total += math.hypot(u - mean[0], v - mean[1])
            n += 1
    return total / n


def random_labels(rng, shape, n_labels, block=1):
    """Random labels on a grid of `block`-sized cells, ids scattered and non-consecutive."""
    small = rng.integers(0, n_labels, size=(-(-shape[0] // block), -(-shape[1] // block)))
    ids = rng.choice(np.arange(-50, 10_000), size=n_labels, replace=False)
    big = np.kron(ids[small], np.ones((block, block), dtype=np.int64))
    return big[: shape[0], : shape[1]]


# --------------------------------------------------------------------------------------
# Hand-computed 4x4 case, used by several tests.
# --------------------------------------------------------------------------------------

# Superpixels: four 2x2 quadrants.        Ground truth: an L-shaped segment 1.
# Pascal VOC's void label; the Cityscapes labelIds of its void category
VOC_IGNORE_LABELS = (255,)
CITYSCAPES_VOID_LABELS = (0, 1, 2, 3, 4, 5, 6)

SP4 = np.array(
    [
        [0, 0, 1, 1],
        [0, 0, 1, 1],
        [2, 2, 3, 3],
        [2, 2, 3, 3],
    ]
)
GT4 = np.array(
    [
        [0, 0, 0, 1],
        [0, 0, 0, 1],
        [0, 0, 0, 1],
        [1, 1, 1, 1],
    ]
)


def test_asa_hand_computed():
    # |S_j ∩ G_i|: S0 = {G0: 4}, S1 = {G0: 2, G1: 2}, S2 = {G0: 2, G1: 2},
    # S3 = {G0: 1, G1: 3}. ASA = (4 + 2 + 2 + 3) / 16 = 11/16.
    assert achievable_segmentation_accuracy(SP4, GT4) == pytest.approx(11 / 16)


def test_ue_hand_computed():
    # sum over non-empty S_j ∩ G_i of min(|S_j ∩ G_i|, |S_j| - |S_j ∩ G_i|):
    # S0: min(4, 0) = 0; S1: min(2, 2) + min(2, 2) = 4; S2: 4; S3: min(1, 3) + min(3, 1) = 2
    # UE = (0 + 4 + 4 + 2) / 16 = 10/16.
    assert undersegmentation_error(SP4, GT4) == pytest.approx(10 / 16)


def test_asa_ignore_label_hand_computed():
    gt = GT4.copy()
    gt[0, :2] = 255  # two pixels of S0 become "void"
    # S0 = {255: 2, G0: 2} -> best non-ignored overlap 2; S1 = 2; S2 = 2; S3 = 3.
    # N = 16 - 2 = 14, ASA = (2 + 2 + 2 + 3) / 14 = 9/14.
    assert achievable_segmentation_accuracy(SP4, gt, ignore_labels=255) == pytest.approx(9 / 14)
    # Without ignoring, 255 is an ordinary segment: S0 -> max(2, 2) = 2 -> 9/16.
    assert achievable_segmentation_accuracy(SP4, gt) == pytest.approx(9 / 16)
    # Several ignore ids, given as a set, absent ones allowed: ignore 255 and segment 1.
    # Remaining pixels: G0 only, 16 - 2 - 7 = 7 of them, all reachable -> ASA 1.
    assert achievable_segmentation_accuracy(SP4, gt, ignore_labels={1, 255, 7}) == 1.0
    assert achievable_segmentation_accuracy(
        SP4, gt, ignore_labels=VOC_IGNORE_LABELS
    ) == pytest.approx(9 / 14)
    # Cityscapes void ids 0-6: here segment 0 and segment 1 are void, 255 is not:
    # only the two 255 pixels remain, both in S0 -> ASA = 2 / 2.
    assert achievable_segmentation_accuracy(SP4, gt, ignore_labels=CITYSCAPES_VOID_LABELS) == 1.0


def test_boundaries_hand_computed_both_protocols():
    # stutz marks both sides of every label change: columns 1-2 and rows 1-2, i.e.
    # everything except the four corners.
    expected_stutz = np.array(
        [
            [0, 1, 1, 0],
            [1, 1, 1, 1],
            [1, 1, 1, 1],
            [0, 1, 1, 0],
        ],
        dtype=bool,
    )
    # ssn marks a pixel whose right or bottom neighbour differs: column 1 and row 1.
    expected_ssn = np.array(
        [
            [0, 1, 0, 0],
            [1, 1, 1, 1],
            [0, 1, 0, 0],
            [0, 1, 0, 0],
        ],
        dtype=bool,
    )
    np.testing.assert_array_equal(boundary_map(SP4), expected_stutz)
    np.testing.assert_array_equal(boundary_map(SP4, protocol="ssn"), expected_ssn)


def test_br_bp_hand_computed_stutz():
    # GT boundary (stutz): (0,2) (1,2) (2,2) (0,3) (1,3) (2,3) (2,0) (2,1) (3,0) (3,1)
    # (3,2) = 11 pixels. The SP boundary misses only the corners; the GT boundary holds
    # the corners (0,3) and (3,0), so with r = 0: BR = 9/11.
    assert boundary_recall(SP4, GT4, tolerance=0) == pytest.approx(9 / 11)
    # BP, r = 0: 12 SP boundary pixels, of which the same 9 are GT boundary: 9/12.
    assert boundary_precision(SP4, GT4, tolerance=0) == pytest.approx(9 / 12)
    # r = 1: every pixel of the 4x4 image is within one pixel of both boundaries.
    assert boundary_recall(SP4, GT4, tolerance=1) == 1.0
    assert boundary_precision(SP4, GT4, tolerance=1) == 1.0


def test_br_bp_hand_computed_ssn():
    # GT boundary (ssn): right neighbour differs at (0,2) (1,2) (2,2); bottom neighbour
    # differs at (2,0) (2,1) (2,2): 5 pixels. SP boundary: 7 pixels (column 1, row 1).
    # r = 0: matched GT pixels (1,2) and (2,1) -> BR = 2/5; BP = 2/7.
    assert boundary_recall(SP4, GT4, protocol="ssn", tolerance=0) == pytest.approx(2 / 5)
    assert boundary_precision(SP4, GT4, protocol="ssn", tolerance=0) == pytest.approx(2 / 7)
    # r = 1: (0,2) sees (0,1); (2,2) sees (1,2); (2,0) sees (1,0) -> BR = 1.
    assert boundary_recall(SP4, GT4, protocol="ssn", tolerance=1) == 1.0


def test_protocols_differ_on_a_two_pixel_offset():
    """The documented difference: two-sided boundaries are two pixels thick.

    6x6 image; the ground-truth edge lies between columns 1|2, the superpixel edge two
    columns to the right, between 3|4.
    """
    gt = np.repeat([[0, 0, 1, 1, 1, 1]], 6, axis=0)
    sp = np.repeat([[0, 0, 0, 0, 1, 1]], 6, axis=0)
    # stutz: GT boundary = columns 1 and 2, SP boundary = columns 3 and 4. With r = 1,
    # column 2 is matched (column 3 is one away), column 1 is not: BR = 6/12 = 0.5.
    assert boundary_recall(sp, gt, protocol="stutz", tolerance=1) == 0.5
    # ssn: GT boundary = column 1 only, SP boundary = column 3: two away, BR = 0.
    assert boundary_recall(sp, gt, protocol="ssn", tolerance=1) == 0.0
    # A one-pixel offset (SP edge between 2|3): stutz r = 0 already recalls half
    # (column 2 is on both boundaries), ssn r = 0 recalls nothing (column 1 vs 2).
    sp1 = np.repeat([[0, 0, 0, 1, 1, 1]], 6, axis=0)
    assert boundary_recall(sp1, gt, protocol="stutz", tolerance=0) == 0.5
    assert boundary_recall(sp1, gt, protocol="ssn", tolerance=0) == 0.0
    # ... and both recall everything with r = 1.
    assert boundary_recall(sp1, gt, protocol="stutz", tolerance=1) == 1.0
    assert boundary_recall(sp1, gt, protocol="ssn", tolerance=1) == 1.0


def test_compactness_hand_computed():
    # Each 2x2 quadrant: area 4, perimeter 8 pixel sides -> 4 pi 4 / 64 = pi/4, weight
    # 4/16 each -> CO = pi/4.
    assert compactness(SP4) == pytest.approx(math.pi / 4)
    # Four 1x4 rows: area 4, perimeter 2 * (1 + 4) = 10 -> 4 pi 4 / 100 = 0.16 pi each,
    # weights 1/4 -> CO = 0.16 pi.
    rows = np.repeat(np.arange(4)[:, None], 4, axis=1)
    assert compactness(rows) == pytest.approx(0.16 * math.pi)
    # 6x6: a 2x2 square (A 4, P 8) inside one 32-pixel region whose perimeter is the
    # 24 outer sides plus the 8 sides facing the square = 32:
    # CO = 4/36 * 4pi*4/64 + 32/36 * 4pi*32/32**2 = (pi/36) (1 + 4) = 5 pi / 36.
    six = np.zeros((6, 6), dtype=int)
    six[2:4, 2:4] = 1
    assert compactness(six) == pytest.approx(5 * math.pi / 36)


def test_explained_variation_hand_computed():
    image = np.array(
        [
            [0, 0, 2, 2],
            [0, 0, 2, 2],
            [4, 0, 6, 6],
            [4, 0, 6, 6],
        ]
    )
    # Superpixel means: S0 0, S1 2, S2 (4+0+4+0)/4 = 2, S3 6; image mean 40/16 = 2.5.
    # Between: 4 * ((2.5)^2 + 0.5^2 + 0.5^2 + 3.5^2) = 4 * 19 = 76.
    # Total:   S0 4*6.25 + S1 4*0.25 + S2 (2*2.25 + 2*6.25) + S3 4*12.25 = 25+1+17+49 = 92.
    assert explained_variation(SP4, image) == pytest.approx(76 / 92)
    # Colour: the same values in three channels, scaled -> the same ratio.
    rgb = np.stack([image, 2 * image, 3 * image], axis=-1).astype(np.uint8)
    assert explained_variation(SP4, rgb) == pytest.approx(76 / 92)


def test_flow_endpoint_error_hand_computed():
    flow = np.zeros((4, 4, 2))
    flow[0:2, 0:2] = (1, 0)  # S0 constant: error 0
    flow[0, 2], flow[1, 3] = (6, 8), (-6, -8)  # S1: mean (0, 0): errors 10, 0, 0, 10
    flow[2:4, 0, 0] = 4  # S2: u = 4, 0, 4, 0 -> mean 2: errors 2 each = 8
    flow[2:4, 2:4, 1] = [[3, 3], [3, -1]]  # S3: v mean 2: errors 1, 1, 1, 3 = 6
    # EPE = (0 + 20 + 8 + 6) / 16 = 34/16.
    assert flow_endpoint_error(SP4, flow) == pytest.approx(34 / 16)
    # Invalid (3,3): S3 mean v = 3, errors 0; EPE = (20 + 8) / 15.
    valid = np.ones((4, 4), dtype=bool)
    valid[3, 3] = False
    assert flow_endpoint_error(SP4, flow, valid=valid) == pytest.approx(28 / 15)
    # Middlebury "unknown" (>= 1e9) and NaN are invalid automatically.
    flow[3, 3] = (1e10, 1e10)
    assert flow_endpoint_error(SP4, flow) == pytest.approx(28 / 15)
    flow[3, 3] = (np.nan, 0)
    assert flow_endpoint_error(SP4, flow) == pytest.approx(28 / 15)


def test_n_superpixels_counts_distinct_ids():
    assert n_superpixels(SP4) == 4
    assert n_superpixels(np.array([[7, -3], [7, 2**40]])) == 3


# --------------------------------------------------------------------------------------
# Tolerance and protocols
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ((321, 481), 1),  # BSDS500: 0.0025 * 578.3 = 1.45 -> 1
        ((481, 321), 1),
        ((512, 1024), 3),  # half-resolution Cityscapes: 0.0025 * 1144.9 = 2.86 -> 3
        ((100, 100), 0),  # 0.0025 * 141.4 = 0.35 -> 0
        ((120, 160), 1),  # 0.0025 * 200 = 0.5 -> 1 (std::round: halves away from zero)
    ],
)
def test_stutz_tolerance_from_diagonal(shape, expected):
    assert resolve_tolerance(shape) == expected


def test_ssn_tolerance_is_explicit_with_default_one():
    assert resolve_tolerance((321, 481), protocol="ssn") == 1
    assert resolve_tolerance((1024, 2048), protocol="ssn") == 1
    assert resolve_tolerance((1024, 2048), protocol="ssn", tolerance=3) == 3
    assert resolve_tolerance((1024, 2048), protocol="stutz", tolerance=0) == 0


def test_default_tolerance_is_used_by_recall():
    # 120x160 -> stutz r = 1. SP edge one column right of the GT edge: the GT boundary
    # columns 79, 80 vs SP columns 80, 81 -> all matched with r = 1, half with r = 0.
    gt = np.zeros((120, 160), dtype=int)
    gt[:, 80:] = 1
    sp = np.zeros_like(gt)
    sp[:, 81:] = 1
    assert boundary_recall(sp, gt) == 1.0
    assert boundary_recall(sp, gt, tolerance=0) == 0.5


def test_protocol_objects_and_records():
    assert set(PROTOCOLS) == {"stutz", "ssn"}
    assert get_protocol("ssn") is PROTOCOLS["ssn"]
    assert get_protocol(PROTOCOLS["stutz"]) is PROTOCOLS["stutz"]
    record = evaluate_image(SP4, GT4, protocol="ssn").to_dict()["protocol"]
    assert record["name"] == "ssn" and record["tolerance"] == 1 and record["boundary"]


# --------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_refinement_gives_perfect_asa_ue_and_recall(seed):
    rng = np.random.default_rng(seed)
    gt = random_labels(rng, (30, 40), 5, block=5)
    # S refines G: split every segment further by a second random partition.
    sp = gt * 1000 + random_labels(rng, (30, 40), 7, block=3)
    assert achievable_segmentation_accuracy(sp, gt) == 1.0
    assert undersegmentation_error(sp, gt) == 0.0
    for protocol in PROTOCOLS:
        # Every label change of G is a label change of S, so BR = 1 even with r = 0.
        assert boundary_recall(sp, gt, protocol=protocol, tolerance=0) == 1.0
        # ... and conversely BP = 1 when S's boundaries are contained in G's.
        assert boundary_precision(gt, sp, protocol=protocol, tolerance=0) == 1.0


@pytest.mark.parametrize("seed", range(3))
def test_metrics_invariant_to_permuting_label_ids(seed):
    rng = np.random.default_rng(seed)
    sp = random_labels(rng, (25, 31), 12, block=3)
    gt = random_labels(rng, (25, 31), 4, block=6)
    image = rng.random((25, 31, 3))
    flow = rng.normal(size=(25, 31, 2))

    def relabel(labels, values):
        ids = np.unique(labels)
        return values[np.searchsorted(ids, labels)]

    n_sp, n_gt = np.unique(sp).size, np.unique(gt).size
    variants = [
        (relabel(sp, rng.permutation(n_sp)), relabel(gt, rng.permutation(n_gt) - 7)),
        # huge, scattered ids force the sort-based relabelling path
        (relabel(sp, rng.permutation(n_sp) * 10**12 - 5), relabel(gt, 10**15 + np.arange(n_gt))),
        # unsigned ids above 2**63
        (
            relabel(sp, np.uint64(2**64 - 1) - np.arange(n_sp, dtype=np.uint64)),
            relabel(gt, np.arange(n_gt, dtype=np.uint64)),
        ),
    ]
    base = evaluate_image(sp, gt, image=image, tolerance=1)
    for sp2, gt2 in variants:
        other = evaluate_image(sp2, gt2, image=image, tolerance=1)
        # Compared dict by dict: pytest >= 9.1 refuses approx() on nested structures.
        assert len(other.per_annotation) == len(base.per_annotation)
        for got, want in zip(other.per_annotation, base.per_annotation, strict=True):
            assert got == pytest.approx(want)
        assert other.compactness == pytest.approx(base.compactness)
        assert other.explained_variation == pytest.approx(base.explained_variation)
        assert other.n_superpixels == base.n_superpixels
        assert flow_endpoint_error(sp2, flow) == pytest.approx(flow_endpoint_error(sp, flow))


def test_single_superpixel_has_zero_recall_on_any_boundary():
    rng = np.random.default_rng(0)
    gt = random_labels(rng, (20, 20), 3, block=4)
    single = np.full_like(gt, 42)
    for protocol in PROTOCOLS:
        for r in (0, 1, 5):
            assert boundary_recall(single, gt, protocol=protocol, tolerance=r) == 0.0
            # no superpixel boundary at all -> BP is defined as 0
            assert boundary_precision(single, gt, protocol=protocol, tolerance=r) == 0.0
    # ASA of one superpixel = share of the largest segment.
    largest = np.bincount(np.unique(gt, return_inverse=True)[1].ravel()).max()
    assert achievable_segmentation_accuracy(single, gt) == pytest.approx(largest / gt.size)


def test_ground_truth_without_boundary_follows_each_evaluator():
    sp = np.repeat([[0, 1]], 4, axis=0)
    flat = np.zeros((4, 2), dtype=int)
    # Stutz's computeBoundaryRecall returns 0 when tp + fn = 0; SEAL's computeBR
    # returns 1 when the ground truth has no transition.
    assert boundary_recall(sp, flat, protocol="stutz") == 0.0
    assert boundary_recall(sp, flat, protocol="ssn") == 1.0
    # Any superpixel boundary is a false positive: BP = 0; one segment: ASA = 1.
    assert boundary_precision(sp, flat, tolerance=3) == 0.0
    assert achievable_segmentation_accuracy(sp, flat) == 1.0
    # UE: each superpixel lies fully inside the one segment -> 0.
    assert undersegmentation_error(sp, flat) == 0.0


def test_flow_constant_per_superpixel_has_zero_epe():
    rng = np.random.default_rng(1)
    sp = random_labels(rng, (17, 23), 9, block=2)
    per_sp = {s: rng.normal(size=2) * 10 for s in np.unique(sp)}
    flow = np.array([[per_sp[s] for s in row] for row in sp])
    assert flow_endpoint_error(sp, flow) == pytest.approx(0.0, abs=1e-12)


def test_degenerate_images():
    one = np.array([[5]])
    assert achievable_segmentation_accuracy(one, one) == 1.0
    assert undersegmentation_error(one, one) == 0.0
    assert boundary_recall(one, one) == 0.0  # no GT boundary (stutz)
    assert compactness(one) == pytest.approx(math.pi / 4)  # A 1, P 4: 4 pi / 16
    assert explained_variation(one, [[3.0]]) == 1.0  # nothing to explain
    # A constant image: EV is 1 for any superpixels.
    assert explained_variation(SP4, np.full((4, 4, 3), 7)) == 1.0
    # One-row images work (only horizontal neighbours).
    assert boundary_recall([[0, 0, 1]], [[0, 1, 1]], tolerance=0) == 0.5
    # Boolean label images are label images too.
    assert achievable_segmentation_accuracy(SP4 > 1, GT4 > 0) == pytest.approx(
        ref_asa(SP4 > 1, GT4 > 0)
    )


# --------------------------------------------------------------------------------------
# Comparison with the slow reference
# --------------------------------------------------------------------------------------


def assert_matches_reference(sp, gt, image=None, flow=None, tolerances=(0, 1, 2)):
    for protocol in PROTOCOLS:
        for r in tolerances:
            assert boundary_recall(sp, gt, protocol=protocol, tolerance=r) == pytest.approx(
                ref_recall(sp, gt, protocol, r)
            ), (protocol, r)
            assert boundary_precision(sp, gt, protocol=protocol, tolerance=r) == pytest.approx(
                ref_precision(sp, gt, protocol, r)
            ), (protocol, r)
    assert achievable_segmentation_accuracy(sp, gt) == pytest.approx(ref_asa(sp, gt))
    assert undersegmentation_error(sp, gt) == pytest.approx(ref_ue(sp, gt))
    assert compactness(sp) == pytest.approx(ref_compactness(sp))
    if image is not None:
        assert explained_variation(sp, image) == pytest.approx(ref_ev(sp, image))
    if flow is not None:
        valid = np.ones(np.shape(sp), dtype=bool)
        valid[::3, ::2] = False
        assert flow_endpoint_error(sp, flow, valid=valid) == pytest.approx(ref_epe(sp, flow, valid))


@pytest.mark.parametrize("seed", range(6))
def test_matches_reference_on_random_labels(seed):
    rng = np.random.default_rng(100 + seed)
    shape = (int(rng.integers(5, 30)), int(rng.integers(5, 30)))
    sp = random_labels(rng, shape, int(rng.integers(2, 40)), block=int(rng.integers(1, 4)))
    gt = random_labels(rng, shape, int(rng.integers(2, 8)), block=int(rng.integers(1, 6)))
    image = rng.integers(0, 256, size=shape + (3,))
    flow = rng.normal(size=shape + (2,))
    assert_matches_reference(sp, gt, image=image, flow=flow)
    # ignore labels against the reference
    ignored = {int(np.ravel(gt)[0])}
    if np.any(~np.isin(gt, list(ignored))):
        assert achievable_segmentation_accuracy(sp, gt, ignore_labels=ignored) == pytest.approx(
            ref_asa(sp, gt, ignored)
        )


def test_large_tolerances_match_reference():
    # Radii above 8 take the filter-based dilation instead of shifted copies.
    rng = np.random.default_rng(7)
    sp = random_labels(rng, (31, 27), 6, block=4)
    gt = random_labels(rng, (31, 27), 3, block=5)
    for protocol in PROTOCOLS:
        for r in (8, 9, 13, 40):
            assert boundary_recall(sp, gt, protocol=protocol, tolerance=r) == pytest.approx(
                ref_recall(sp, gt, protocol, r)
            )
            assert boundary_precision(sp, gt, protocol=protocol, tolerance=r) == pytest.approx(
                ref_precision(sp, gt, protocol, r)
            )


def test_matches_reference_on_bsds_annotations(bsds_root):
    """One human annotation used as 'superpixels' against another, on real data."""
    from ssn.io import read_bsds_ground_truth, read_image

    paths = sorted((bsds_root / "groundTruth" / "test").glob("*.mat"))[:2]
    assert paths, "no BSDS500 test ground truth found"
    for path in paths:
        annotations = read_bsds_ground_truth(path)
        image = read_image(bsds_root / "images" / "test" / f"{path.stem}.jpg")
        # The finest annotation plays the superpixels, the next finest the ground
        # truth; a central 120x160 crop keeps the pure-Python reference fast.
        by_detail = sorted(annotations, key=lambda a: -np.unique(a).size)
        crop = np.s_[100:220, 160:320]
        sp, gt = by_detail[0][crop], by_detail[1][crop]
        assert np.unique(sp).size > 2 and boundary_map(gt).any()
        assert_matches_reference(sp, gt, image=image[crop], tolerances=(0, 1))
        # Full size: the stutz boundary is scikit-image's "thick" boundary, and
        # the vectorised ASA/UE equal the reference on the whole image.
        from skimage.segmentation import find_boundaries

        full_sp, full_gt = annotations[-1], annotations[0]
        np.testing.assert_array_equal(
            boundary_map(full_sp), find_boundaries(full_sp, connectivity=1, mode="thick")
        )
        assert achievable_segmentation_accuracy(full_sp, full_gt) == pytest.approx(
            ref_asa(full_sp, full_gt)
        )
        assert undersegmentation_error(full_sp, full_gt) == pytest.approx(ref_ue(full_sp, full_gt))


# --------------------------------------------------------------------------------------
# Several annotations, summaries, Stutz averages
# --------------------------------------------------------------------------------------


def test_evaluate_image_matches_single_metrics_and_statistics():
    gts = [GT4, GT4.T, np.zeros((4, 4), dtype=int)]
    image = np.arange(16).reshape(4, 4)
    result = evaluate_image(SP4, gts, image=image, protocol="ssn", tolerance=0)
    assert result.tolerance == 0 and result.n_superpixels == 4
    assert len(result.per_annotation) == 3
    for gt, row in zip(gts, result.per_annotation, strict=True):
        assert row["asa"] == achievable_segmentation_accuracy(SP4, gt)
        assert row["ue"] == undersegmentation_error(SP4, gt)
        assert row["br"] == boundary_recall(SP4, gt, protocol="ssn", tolerance=0)
        assert row["bp"] == boundary_precision(SP4, gt, protocol="ssn", tolerance=0)
    asa = [row["asa"] for row in result.per_annotation]
    ue = [row["ue"] for row in result.per_annotation]
    assert result.mean()["asa"] == pytest.approx(sum(asa) / 3)
    assert result.best()["asa"] == max(asa) and result.worst()["asa"] == min(asa)
    assert result.best()["ue"] == min(ue) and result.worst()["ue"] == max(ue)
    assert result.compactness == compactness(SP4)
    assert result.explained_variation == explained_variation(SP4, image)
    assert evaluate_image(SP4, GT4).explained_variation is None
    # a 3-D stack of annotations and nested lists are accepted too
    stacked = evaluate_image(SP4, np.stack(gts), protocol="ssn", tolerance=0)
    assert stacked.per_annotation == result.per_annotation
    assert evaluate_image(SP4.tolist(), GT4.tolist()).per_annotation[0]["asa"] == 11 / 16


def test_summarize_images_weights_every_pair_equally():
    # Image A has 1 annotation with ASA 11/16; image B has 3 annotations (ASA 11/16 for
    # GT4 and 1 for the two others).
    a = evaluate_image(SP4, [GT4])
    b = evaluate_image(SP4, [GT4, SP4, np.zeros((4, 4), dtype=int)])
    summary = summarize_images([a, b])
    assert summary["n_images"] == 2 and summary["n_pairs"] == 4
    assert summary["protocol"]["name"] == "stutz"
    # mean over the 4 pairs: (11/16 + 11/16 + 1 + 1) / 4 ...
    assert summary["mean"]["asa"] == pytest.approx((11 / 16 * 2 + 2) / 4)
    # ... not the mean of the image means (11/16 + (11/16 + 2)/3) / 2.
    assert summary["mean"]["asa"] != pytest.approx((11 / 16 + (11 / 16 + 2) / 3) / 2)
    assert summary["best"]["asa"] == pytest.approx((11 / 16 + 1) / 2)
    assert summary["worst"]["asa"] == pytest.approx(11 / 16)
    assert summary["ev"] is None


def test_summaries_from_the_tidy_table_equal_those_of_the_evaluations():
    """Issue #14 (3): the workflow summarises its per-pair table through ssn.metrics; the
    rows it stores give back the same ImageEvaluation summaries."""
    from ssn.metrics import evaluations_from_records

    image = np.arange(16).reshape(4, 4)
    a = evaluate_image(SP4, [GT4], image=image, protocol="ssn", tolerance=1)
    b = evaluate_image(SP4, [GT4, SP4, np.zeros((4, 4), dtype=int)], image=image,
                       protocol="ssn", tolerance=1)  # fmt: skip
    records = [
        {
            "image": name,
            "protocol": "ssn",
            "tolerance": e.tolerance,
            "n_superpixels": e.n_superpixels,
            "co": e.compactness,
            "ev": e.explained_variation,
            **row,
        }  # fmt: skip
        for name, e in (("a", a), ("b", b))
        for row in e.per_annotation
    ]
    rebuilt = evaluations_from_records(records)
    assert [len(e.per_annotation) for e in rebuilt] == [1, 3]
    assert summarize_images(rebuilt) == summarize_images([a, b])
    records[0]["ev"] = float("nan")  # no EV for image a: no EV summary
    assert summarize_images(evaluations_from_records(records))["ev"] is None


def test_stutz_average_hand_computed():
    # Constant recall 0.9 on [200, 5200] -> 10 % missed.
    assert stutz_average([200, 5200], [0.9, 0.9]) == pytest.approx(10.0)
    # Linear 0.8 -> 1.0: mean of (1 - v) = 0.1 -> 10.
    assert stutz_average([5200, 200], [1.0, 0.8]) == pytest.approx(10.0)
    # Points (100, .5) (300, .7) (5000, .9) (6000, 1.0): interpolated v(200) = .6,
    # v(5200) = .92. Area of 1 - v: 100*.35 + 4700*.2 + 200*.09 = 35 + 940 + 18 = 993
    # -> 100 * 993 / 5000 = 19.86.
    x, v = [100, 300, 5000, 6000], [0.5, 0.7, 0.9, 1.0]
    assert stutz_average(x, v) == pytest.approx(19.86)
    # Points only inside: held constant outside. (1000, .8) (3000, .9):
    # 800*.2 + 2000*.15 + 2200*.1 = 160 + 300 + 220 = 680 -> 13.6.
    assert stutz_average([1000, 3000], [0.8, 0.9]) == pytest.approx(13.6)


def test_stutz_average_cpp_port_reproduces_its_quirk():
    # The C++ copy loop stops one point early. For (200, .8) (1000, .9) (3000, .95) it
    # keeps (200, .8), drops (1000, .9) and puts .95 at 5200:
    # 5000 * (1 - .875) = 625 -> 12.5 (the trapezoid over all points gives 7.6:
    # 800*.15 + 2000*.075 + 2200*.05 = 120 + 150 + 110 = 380 -> 7.6).
    x, v = [200, 1000, 3000], [0.8, 0.9, 0.95]
    assert stutz_average(x, v, method="stutz-cpp") == pytest.approx(12.5)
    assert stutz_average(x, v) == pytest.approx(7.6)
    # With enough points on both sides the two agree up to the dropped point: here the
    # dropped point (4000, .95) lies on the line through its neighbours.
    x = [100, 300, 2000, 3000, 4000, 5000, 6000]
    v = [0.5, 0.7, 0.8, 0.9, 0.95, 1.0, 1.0]
    # upper end in C++: line through (3000, .9) and (4000, .95) extrapolated to 5200 -> 1.01
    cpp = stutz_average(x, v, method="stutz-cpp")
    # hand: (200,.6) (300,.7) (2000,.8) (3000,.9) (5200,1.01):
    # 100*.35 + 1700*.25 + 1000*.15 + 2200*(1-.955) = 35 + 425 + 150 + 99 = 709 -> 14.18
    assert cpp == pytest.approx(14.18)


def _fake_evaluation(n_superpixels, br_values, ue_values, ev):
    """An ImageEvaluation with chosen values, to test summaries without images."""
    from ssn.metrics import ImageEvaluation

    rows = [
        {"asa": 1 - ue, "br": br, "bp": 0.5, "ue": ue}
        for br, ue in zip(br_values, ue_values, strict=True)
    ]
    return ImageEvaluation(
        protocol=PROTOCOLS["stutz"],
        tolerance=1,
        n_superpixels=n_superpixels,
        per_annotation=rows,
        compactness=0.5,
        explained_variation=ev,
    )


def test_summarize_over_counts_and_averages():
    by_count = {
        # requested K: two images; realised counts averaged: (180+220)/2 = 200 ...
        5000: [
            _fake_evaluation(5100, [0.99, 1.0], [0.02, 0.01], 0.95),
            _fake_evaluation(5300, [0.98], [0.03], 0.97),
        ],
        200: [
            _fake_evaluation(180, [0.8, 0.9], [0.10, 0.06], 0.80),
            _fake_evaluation(220, [0.7, 0.6], [0.08, 0.12], 0.90),
        ],
    }
    summary = summarize_over_counts(by_count)
    curve = summary["curve"]
    assert [row["requested"] for row in curve] == [200, 5000]  # sorted by realised count
    assert [row["n_superpixels"] for row in curve] == [200.0, 5200.0]
    # worst per image: BR (0.8, 0.6) -> 0.7 at 200; (0.99, 0.98) -> 0.985 at 5200.
    assert curve[0]["worst"]["br"] == pytest.approx(0.7)
    assert curve[1]["worst"]["br"] == pytest.approx(0.985)
    averages = summary["averages"]
    # AMR = 100 * mean(1 - BR) over the straight line 0.7 -> 0.985 = 100 * (1 - 0.8425)
    assert averages["amr"] == pytest.approx(15.75)
    # worst UE: (0.10, 0.12) -> 0.11; (0.02, 0.03) -> 0.025; AUE = 100 * mean = 6.75
    assert averages["aue"] == pytest.approx(6.75)
    # EV: 0.85 and 0.96 -> AUV = 100 * (1 - 0.905) = 9.5
    assert averages["auv"] == pytest.approx(9.5)
    assert averages["statistic"] == "worst" and summary["protocol"]["name"] == "stutz"
    # Using the mean over pairs instead: BR pairs at 200: (0.8+0.9+0.7+0.6)/4 = 0.75;
    # at 5200: (0.99+1.0+0.98)/3 = 0.99 -> AMR = 100 * (1 - 0.87) = 13.
    assert stutz_averages(curve, statistic="mean")["amr"] == pytest.approx(13.0)
    # One count only: a curve but no averages.
    assert summarize_over_counts({200: by_count[200]})["averages"] is None


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: achievable_segmentation_accuracy(SP4, GT4[:3]),
        lambda: undersegmentation_error(SP4, GT4[:, :3]),
        lambda: boundary_recall(SP4, GT4.T[:3]),
        lambda: boundary_precision(SP4[:2], GT4),
        lambda: explained_variation(SP4, np.zeros((4, 5, 3))),
        lambda: flow_endpoint_error(SP4, np.zeros((3, 4, 2))),
        lambda: evaluate_image(SP4, [GT4, GT4[:3]]),
    ],
)
def test_shape_mismatch_raises(call):
    with pytest.raises(ValueError, match="shape"):
        call()


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="empty"):
        achievable_segmentation_accuracy(np.zeros((0, 4), int), np.zeros((0, 4), int))
    with pytest.raises(ValueError, match="empty"):
        compactness(np.zeros((3, 0), int))
    with pytest.raises(ValueError, match="integer label image"):
        undersegmentation_error(SP4.astype(float), GT4)
    with pytest.raises(ValueError, match="2-D"):
        n_superpixels(np.zeros((2, 2, 2), int))
    with pytest.raises(ValueError, match="protocol must be one of"):
        boundary_recall(SP4, GT4, protocol="seal")
    with pytest.raises(ValueError, match="non-negative"):
        boundary_recall(SP4, GT4, tolerance=-1)
    with pytest.raises(ValueError, match="integer"):
        boundary_precision(SP4, GT4, tolerance=1.5)
    with pytest.raises(ValueError, match="integer"):
        resolve_tolerance((4, 4), tolerance=True)
    with pytest.raises(ValueError, match="ignore label"):
        achievable_segmentation_accuracy(SP4, np.full((4, 4), 255), ignore_labels=[255])
    with pytest.raises(ValueError, match="ignore_labels"):
        achievable_segmentation_accuracy(SP4, GT4, ignore_labels=[0.5])
    with pytest.raises(ValueError, match="NaN"):
        explained_variation(SP4, np.full((4, 4), np.nan))
    with pytest.raises(ValueError, match="numeric"):
        explained_variation(SP4, np.full((4, 4), "a"))
    with pytest.raises(ValueError, match=r"\(H, W, 2\)"):
        flow_endpoint_error(SP4, np.zeros((4, 4, 3)))
    with pytest.raises(ValueError, match="no pixel has valid flow"):
        flow_endpoint_error(SP4, np.zeros((4, 4, 2)), valid=np.zeros((4, 4), bool))
    with pytest.raises(ValueError, match="boolean"):
        flow_endpoint_error(SP4, np.zeros((4, 4, 2)), valid=np.ones((4, 4)))
    with pytest.raises(ValueError, match="non-empty"):
        evaluate_image(SP4, [])


def test_summary_errors():
    with pytest.raises(ValueError, match="no evaluations"):
        summarize_images([])
    mixed = [evaluate_image(SP4, GT4), evaluate_image(SP4, GT4, protocol="ssn")]
    with pytest.raises(ValueError, match="different protocols"):
        summarize_images(mixed)
    with pytest.raises(ValueError, match="different protocols"):
        summarize_over_counts({1: mixed[:1], 2: mixed[1:]})
    with pytest.raises(ValueError, match="no superpixel counts"):
        summarize_over_counts({})
    with pytest.raises(ValueError, match="at least two"):
        stutz_average([200], [0.5])
    with pytest.raises(ValueError, match="differ in length"):
        stutz_average([200, 300], [0.5])
    with pytest.raises(ValueError, match="finite"):
        stutz_average([200, np.nan], [0.5, 0.6])
    with pytest.raises(ValueError, match="below upper"):
        stutz_average([200, 300], [0.5, 0.6], lower=300, upper=300)
    with pytest.raises(ValueError, match="method"):
        stutz_average([200, 300], [0.5, 0.6], method="simpson")
    with pytest.raises(ValueError, match="statistic"):
        stutz_averages([], statistic="median")


# ------------------------------------------------------------- void bands (Pascal VOC)


def test_fill_ignored_hand_computed():
    # a 2-pixel void band between labels 3 and 7: each void pixel takes its nearer side
    gt = np.array([[3, 3, 255, 255, 7, 7]] * 3)
    filled = fill_ignored(gt, VOC_IGNORE_LABELS)
    np.testing.assert_array_equal(filled, np.array([[3, 3, 3, 7, 7, 7]] * 3))
    np.testing.assert_array_equal(gt[0], [3, 3, 255, 255, 7, 7])  # input untouched
    # nothing to fill: an equal copy
    np.testing.assert_array_equal(fill_ignored(filled, 255), filled)
    # a void-only annotation has nothing to fill from
    with pytest.raises(ValueError, match="every ground-truth pixel"):
        fill_ignored(np.full((2, 2), 255), [255])


def test_void_band_boundaries_hand_computed():
    # superpixels split the band in its middle, where the object outline is
    sp = np.array([[0, 0, 0, 1, 1, 1]] * 4)
    gt = np.array([[3, 3, 255, 255, 7, 7]] * 4)
    kw = dict(protocol="ssn", tolerance=0, ignore_labels=255)
    kept = evaluate_image(sp, [gt], **kw).per_annotation[0]
    filled = evaluate_image(sp, [gt], void_boundaries="fill", **kw).per_annotation[0]
    # ssn protocol: a pixel is a boundary when its right neighbour differs.
    # kept: gt boundaries in columns 1 and 3, superpixel boundary in column 2 -> BR 0, BP 0
    assert kept["br"] == 0.0 and kept["bp"] == 0.0
    # filled: gt [3 3 3 7 7 7] has its boundary in column 2, as the superpixels
    assert filled["br"] == 1.0 and filled["bp"] == 1.0
    # ASA ignores the void pixels either way: 8 of 8 labelled pixels are right
    assert kept["asa"] == filled["asa"] == 1.0
    with pytest.raises(ValueError, match="void_boundaries"):
        evaluate_image(sp, [gt], void_boundaries="drop", **kw)


def test_gap_closure_by_hand():
    from ssn.metrics import gap_closure

    # pix 0.963, paper 0.974: ours 0.967 closes 4/11 of the gap
    assert gap_closure(0.967, 0.963, 0.974) == pytest.approx(4 / 11)
    assert gap_closure(0.963, 0.963, 0.974) == 0.0
    assert gap_closure(0.974, 0.963, 0.974) == pytest.approx(1.0)
    assert gap_closure(0.96, 0.963, 0.974) == pytest.approx(-3 / 11)  # worse than pix
    assert gap_closure(0.5, 0.2, 0.4) == pytest.approx(1.5)  # beyond the reference
    with pytest.raises(ValueError, match="no gap to close"):
        gap_closure(0.9, 0.8, 0.8)


# --------------------------------------------------------------------------------------
# Void pixels (valid=False): outside the frame after a rotation or shear (#28)
# --------------------------------------------------------------------------------------

SP_VOID = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 2, 2]])
GT_VOID = np.array([[1, 1, 1, 2], [1, 1, 1, 2], [1, 1, 1, 1]])
VALID_VOID = np.array([[1, 1, 1, 0], [1, 1, 1, 1], [0, 1, 1, 1]], dtype=bool)


def test_void_pixels_hand_computed():
    """Pixels (0, 3) and (2, 0) are void; 10 pixels count.

    ASA: S0 = four 1s -> 4; S1 = {1, 1, 2} -> 2; S2 = {1, 1, 1} -> 3: 9 / 10.
    UE: G1 meets S1 in 2 with 1 outside (min 1), G2 meets S1 in 1 with 2 outside
    (min 1), the rest lie inside one segment: 2 / 10.
    ssn protocol, r = 0: GT boundary pixels between two valid pixels are (1, 2) (right
    neighbour 2) and (1, 3) (bottom neighbour 1); (0, 2) is not one, its right neighbour
    is void. Superpixel boundary: (0, 1), (1, 1), (1, 2), (1, 3); (1, 0) is not one, its
    bottom neighbour is void. BR = 2 / 2, BP = 2 / 4.
    """
    kw = dict(valid=VALID_VOID)
    assert achievable_segmentation_accuracy(SP_VOID, GT_VOID, **kw) == pytest.approx(0.9)
    assert undersegmentation_error(SP_VOID, GT_VOID, **kw) == pytest.approx(0.2)
    proto = dict(protocol="ssn", tolerance=0, **kw)
    assert boundary_recall(SP_VOID, GT_VOID, **proto) == 1.0
    assert boundary_precision(SP_VOID, GT_VOID, **proto) == 0.5
    gt_boundary = boundary_map(GT_VOID, protocol="ssn", valid=VALID_VOID)
    assert np.argwhere(gt_boundary).tolist() == [[1, 2], [1, 3]]
    # the same without the mask: S1 = {1, 2, 1, 2}, S2 = four 1s -> ASA 10 / 12, and the
    # GT boundary (0, 2) is missed -> BR 2 / 3
    assert achievable_segmentation_accuracy(SP_VOID, GT_VOID) == pytest.approx(10 / 12)
    assert boundary_recall(SP_VOID, GT_VOID, protocol="ssn", tolerance=0) == pytest.approx(2 / 3)
    result = evaluate_image(SP_VOID, [GT_VOID], protocol="ssn", tolerance=0, **kw)
    assert result.per_annotation[0] == pytest.approx({"asa": 0.9, "br": 1.0, "bp": 0.5, "ue": 0.2})
    assert result.n_superpixels == 3  # the label image's count, void pixels included


def test_void_pixels_and_ignore_labels_leave_asa_together():
    gt = GT_VOID.copy()
    gt[2, 1:] = 255  # ignored; with the void (0, 3), (2, 0): 7 pixels count
    # S0 = four 1s -> 4; S1 = {1, 1, 2} -> 2; S2: only ignored pixels -> 0
    asa = achievable_segmentation_accuracy(SP_VOID, gt, ignore_labels=255, valid=VALID_VOID)
    assert asa == pytest.approx(6 / 7)


def _crop_cases():
    rng = np.random.default_rng(28)
    for _ in range(5):
        sp = rng.integers(0, 6, (12, 15))
        gt = rng.integers(0, 4, (12, 15))
        image = rng.random((12, 15, 3))
        yield sp, gt, image


@pytest.mark.parametrize("protocol", ["stutz", "ssn"])
def test_a_rectangular_valid_region_scores_as_the_crop(protocol):
    """Every metric under valid = a rectangle equals the metric of the cropped images:
    the void is left out of every count, and the valid region's edge acts as the border."""
    valid = np.zeros((12, 15), dtype=bool)
    valid[2:10, 3:13] = True
    crop = (slice(2, 10), slice(3, 13))
    for sp, gt, image in _crop_cases():
        masked = evaluate_image(sp, [gt], image=image, protocol=protocol, tolerance=1,
                                valid=valid)  # fmt: skip
        cropped = evaluate_image(sp[crop], [gt[crop]], image=image[crop], protocol=protocol,
                                 tolerance=1)  # fmt: skip
        assert masked.per_annotation[0] == pytest.approx(cropped.per_annotation[0])
        assert masked.compactness == pytest.approx(cropped.compactness)
        assert masked.explained_variation == pytest.approx(cropped.explained_variation)
        assert compactness(sp, valid=valid) == pytest.approx(compactness(sp[crop]))
        assert explained_variation(sp, image, valid=valid) == pytest.approx(
            explained_variation(sp[crop], image[crop])
        )
        for metric in (boundary_recall, boundary_precision):
            assert metric(sp, gt, protocol=protocol, tolerance=1, valid=valid) == pytest.approx(
                metric(sp[crop], gt[crop], protocol=protocol, tolerance=1)
            )


def test_an_all_true_mask_changes_nothing():
    for sp, gt, image in _crop_cases():
        ones = np.ones(sp.shape, dtype=bool)
        a = evaluate_image(sp, [gt], image=image, valid=ones)
        b = evaluate_image(sp, [gt], image=image)
        assert a.per_annotation == b.per_annotation
        assert (a.compactness, a.explained_variation) == (b.compactness, b.explained_variation)


@pytest.mark.parametrize(
    "valid, match",
    [
        (np.ones((3, 4), dtype=int), "boolean mask"),
        (np.ones((4, 3), dtype=bool), "shape"),
        (np.zeros((3, 4), dtype=bool), "no True pixel"),
    ],
)
def test_bad_valid_masks_are_refused(valid, match):
    for call in (
        lambda: evaluate_image(SP_VOID, [GT_VOID], valid=valid),
        lambda: achievable_segmentation_accuracy(SP_VOID, GT_VOID, valid=valid),
        lambda: undersegmentation_error(SP_VOID, GT_VOID, valid=valid),
        lambda: boundary_recall(SP_VOID, GT_VOID, valid=valid),
        lambda: compactness(SP_VOID, valid=valid),
        lambda: explained_variation(SP_VOID, SP_VOID.astype(float), valid=valid),
    ):
        with pytest.raises(ValueError, match=match):
            call()


def test_n_disconnected_superpixels_hand_computed():
    from ssn.metrics import n_disconnected_superpixels

    grid = np.repeat(np.repeat(np.arange(6).reshape(2, 3), 4, axis=0), 5, axis=1)
    assert n_disconnected_superpixels(grid) == 0
    # id 7 in two corners; id 3 an L of three pixels (one region); id 2 a row
    labels = np.array([[7, 1, 1, 7], [1, 3, 3, 1], [1, 3, 1, 1], [2, 2, 2, 2]])
    # 7: two pieces; 1: (0,1)-(0,2), (1,0)-(2,0) and (1,3)-(2,3)-(2,2): three pieces
    assert n_disconnected_superpixels(labels) == 2
    assert n_disconnected_superpixels(np.array([[5, -1], [-1, 5]])) == 2  # diagonals apart


def test_spread_and_count_control_refuse_bad_input():
    from ssn.metrics import count_control, spread

    assert spread([0.5])["std"] == 0.0 and np.isnan(spread([0.5], ddof=1)["std"])
    with pytest.raises(ValueError, match="empty"):
        spread([])
    with pytest.raises(ValueError, match="NaN"):
        spread([0.5, np.nan])
    with pytest.raises(ValueError, match="ddof"):
        spread([0.5], ddof=-1)
    with pytest.raises(ValueError, match="requested must be a positive integer"):
        count_control([10, 12], 0)
    with pytest.raises(ValueError, match="non-negative"):
        count_control([-1, 12], 10)
    # the worst image keeps its sign: 70 is further from 100 than 120
    assert count_control([120, 70, 100], 100)["worst_relative_error"] == pytest.approx(-0.3)
