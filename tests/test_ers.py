"""ERS core steps: the entropy-rate and balancing gains against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from baselines.ers import balance_gain, entropy_rate_gain, ers_labels


def grid_edges_3x3():
    """The 12 edges of a 4-connected 3x3 grid (vertex = 3*row + col)."""
    edges = []
    for y in range(3):
        for x in range(3):
            v = 3 * y + x
            if x < 2:
                edges.append((v, v + 1))
            if y < 2:
                edges.append((v, v + 3))
    return edges


def entropy_rate_bits(weights, edges, selected):
    """H = -sum_i mu_i sum_j p_ij log2 p_ij of the random walk of the ERS paper.

    Every vertex i has total weight w_i = sum of *all* its incident edge weights; the
    unselected part stays on its self-loop, so mu_i = w_i / w_T never changes, and
    p_ij = w_ij / w_i for selected edges, p_ii = 1 - sum_j p_ij.
    """
    n = 9
    wmat = np.zeros((n, n))
    wi = np.zeros(n)
    for (a, b), w in zip(edges, weights, strict=True):
        wi[a] += w
        wi[b] += w
    for e in selected:
        a, b = edges[e]
        wmat[a, b] = wmat[b, a] = weights[e]
    p = wmat / wi[:, None]
    p[np.arange(n), np.arange(n)] = 1.0 - p.sum(axis=1)
    mu = wi / wi.sum()
    logp = np.where(p > 0, np.log2(np.where(p > 0, p, 1.0)), 0.0)
    return float(-(mu[:, None] * p * logp).sum())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_entropy_rate_gain_of_a_merge_matches_hand_computation(seed):
    rng = np.random.default_rng(seed)
    edges = grid_edges_3x3()
    weights = rng.uniform(0.05, 1.0, len(edges))
    # normalise as ERS does: the self-loops (total incident weights) sum to one
    loops = np.zeros(9)
    for (a, b), w in zip(edges, weights, strict=True):
        loops[a] += w
        loops[b] += w
    weights = weights / loops.sum()
    loops = loops / loops.sum()

    selected = []
    order = rng.permutation(len(edges))[:5]
    for e in order:
        a, b = edges[e]
        w = weights[e]
        expected = entropy_rate_bits(weights, edges, selected + [e]) - entropy_rate_bits(
            weights, edges, selected
        )
        got = entropy_rate_gain(w, loops[a] - w, loops[b] - w)
        assert got == pytest.approx(expected, rel=1e-10, abs=1e-12)
        assert got > 0  # adding an edge raises the entropy rate
        selected.append(e)
        loops[a] -= w
        loops[b] -= w


def test_entropy_rate_gain_first_edge_by_hand():
    """Two vertices joined by two parallel unit edges, normalised: total weights
    w_i = w_j = 1/2, each edge 1/4. With nothing selected each vertex keeps its weight
    on its self-loop (p_ii = 1, H = 0); selecting one edge leaves self-loops c' = 1/4
    and the walk stays or crosses with probability 1/2 each: H = 1 bit."""
    h_before = 0.0
    p = np.array([0.5, 0.5])
    h_after = float(-(0.5 * (p * np.log2(p)).sum()) * 2)  # mu = 1/2 for both vertices
    assert h_after == pytest.approx(1.0)
    assert entropy_rate_gain(0.25, 0.25, 0.25) == pytest.approx(h_after - h_before)
    # a used-up self-loop (c' = 0): both vertices then always cross the edge, H = 0
    assert entropy_rate_gain(0.5, 0.0, 0.0) == pytest.approx(0.0)


def test_balance_gain_matches_hand_computation():
    """B(A) = H(Z_A) - N_A with H the entropy (bits) of the cluster-size distribution.

    On 9 vertices with clusters {2, 3, 4}, merging 2 and 3 gives clusters {5, 4}:
    gain = B({5,4}) - B({2,3,4}).
    """

    def b_term(sizes):
        p = np.asarray(sizes, float) / 9
        return float(-(p * np.log2(p)).sum()) - len(sizes)

    expected = b_term([5, 4]) - b_term([2, 3, 4])
    assert balance_gain(9, 2.0, 3.0) == pytest.approx(expected, rel=1e-12)
    # merging equal singletons costs exactly 2/N bits of entropy, plus 1 for N_A
    assert balance_gain(9, 1.0, 1.0) == pytest.approx(1 - 2 / 9 * math.log2(2))


def test_ers_separates_two_flat_regions():
    img = np.zeros((10, 12, 3))
    img[:, 7:] = 255.0
    labels = ers_labels(img, 2)
    left, right = labels[:, :7], labels[:, 7:]
    assert np.unique(left).size == 1 and np.unique(right).size == 1
    assert left[0, 0] != right[0, 0]


@pytest.mark.parametrize("connectivity", [4, 8])
def test_ers_hits_the_count_exactly_with_connected_clusters(connectivity):
    from scipy.ndimage import label

    import baselines

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:40, :50]
    smooth = np.stack([xx * 5, yy * 6, (xx + yy) * 2], -1) + rng.normal(0, 4, (40, 50, 3))
    img = np.clip(smooth, 0, 255).astype(np.uint8)
    labels = baselines.segment(img, 37, method="ers", connectivity=connectivity)
    n = labels.max() + 1
    if connectivity == 4:
        assert n == 37
    else:  # 8-connected trees are split into 4-connected pieces, small ones merged
        assert abs(n - 37) <= 0.15 * 37
    for k in range(n):
        assert label(labels == k)[1] == 1


def _brute_force_ers(img, k, lam=0.5, sigma=5.0):
    """Plain greedy (no heap, no laziness): at every step evaluate every edge between two
    different clusters and add the best one. Same objective as ERS; for submodular gains
    the lazy heap must pick the same edges (no ties with continuous colours)."""
    h, w, c = img.shape
    edges = []
    for y in range(h):
        for x in range(w):
            p = y * w + x
            if x < w - 1:
                edges.append((p, p + 1, np.abs(img[y, x] - img[y, x + 1]).sum()))
            if y < h - 1:
                edges.append((p, p + w, np.abs(img[y, x] - img[y + 1, x]).sum()))
    n = h * w
    s = sigma * c
    wts = np.array([math.exp(-(d * d) / (2 * s * s)) for _, _, d in edges])
    loop = np.zeros(n)
    for (a, b, _), wt in zip(edges, wts, strict=True):
        loop[a] += wt
        loop[b] += wt
    wts /= loop.sum()
    loop /= loop.sum()
    er0 = [
        entropy_rate_gain(wt, loop[a] - wt, loop[b] - wt)
        for (a, b, _), wt in zip(edges, wts, strict=True)
    ]
    balancing = lam * k * max(er0) / balance_gain(n, 1.0, 1.0)
    parent = list(range(n))
    size = [1] * n

    def find(i):
        while parent[i] != i:
            i = parent[i]
        return i

    for _ in range(n - k):
        best, best_gain = None, -np.inf
        for e, ((a, b, _), wt) in enumerate(zip(edges, wts, strict=True)):
            ra, rb = find(a), find(b)
            if ra == rb:
                continue
            g = entropy_rate_gain(wt, loop[a] - wt, loop[b] - wt) + balancing * balance_gain(
                n, float(size[ra]), float(size[rb])
            )
            if g > best_gain:
                best, best_gain = e, g
        a, b, _ = edges[best]
        ra, rb = find(a), find(b)
        parent[rb] = ra
        size[ra] += size[rb]
        loop[a] -= wts[best]
        loop[b] -= wts[best]
    return np.array([find(i) for i in range(n)]).reshape(h, w)


@pytest.mark.parametrize("seed", [0, 1])
def test_lazy_heap_greedy_equals_plain_greedy(seed):
    rng = np.random.default_rng(seed)
    # colour steps comparable to sigma (weights well away from underflow, no ties)
    img = rng.uniform(0, 40, (6, 7, 3)) + np.linspace(0, 60, 7)[None, :, None]
    ours = ers_labels(img, 9)
    ref = _brute_force_ers(img, 9)
    # same partition (label ids may differ)
    _, a = np.unique(ours, return_inverse=True)
    _, b = np.unique(ref, return_inverse=True)
    pairs = set(zip(a.ravel().tolist(), b.ravel().tolist(), strict=True))
    assert len(pairs) == 9 == a.max() + 1 == b.max() + 1


# ------------------------------------------------------------------ given edge weights
def _colour_weights_by_hand(img, sigma=5.0, conn8=False):
    """Today's ERS weights written out: ``exp(-d² / (2σ²))`` of the L1 colour distance
    (× √2 on diagonals), σ = sigma × channels, with Python's ``math`` (libm, as numba's)."""
    h, w, c = img.shape
    s = sigma * c
    sq2 = math.sqrt(2.0)

    def weight(a, b, scale=1.0):
        d = 0.0
        for ch in range(c):
            d += abs(a[ch] - b[ch])
        d = scale * d
        return math.exp(-(d * d) / (2.0 * s * s))

    horizontal = np.array(
        [[weight(img[y, x], img[y, x + 1]) for x in range(w - 1)] for y in range(h)]
    )
    vertical = np.array(
        [[weight(img[y, x], img[y + 1, x]) for x in range(w)] for y in range(h - 1)]
    )
    if not conn8:
        return horizontal, vertical, None
    down_right = np.array(
        [[weight(img[y, x], img[y + 1, x + 1], sq2) for x in range(w - 1)] for y in range(h - 1)]
    )
    # the edge from (y+1, x) to (y, x+1), indexed by its upper row y
    up_right = np.array(
        [[weight(img[y + 1, x], img[y, x + 1], sq2) for x in range(w - 1)] for y in range(h - 1)]
    )
    return horizontal, vertical, (down_right, up_right)


def _colour_test_images():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:30, :41]
    smooth = np.stack([xx * 5, yy * 6, (xx + yy) * 2], -1) + rng.normal(0, 4, (30, 41, 3))
    yield "smooth uint8", np.clip(smooth, 0, 255).astype(np.uint8)
    yield "noise uint8", rng.integers(0, 256, (17, 23, 3), dtype=np.uint8)
    flat = np.zeros((20, 24, 3), np.uint8)  # exact ties everywhere but at the step
    flat[:, 13:] = 200
    yield "flat with ties", flat


@pytest.mark.parametrize("connectivity", [4, 8])
@pytest.mark.parametrize("case", list(_colour_test_images()), ids=lambda c: c[0])
@pytest.mark.parametrize("k", [5, 37])
def test_colour_weights_through_the_weighted_path_give_todays_labels(case, connectivity, k):
    """Issue 27: today's Gaussian colour weights, computed here and passed through
    ers_weighted, give exactly the labels of ers() (bit for bit)."""
    from baselines._common import relabel_consecutive
    from baselines.ers import colour_edge_weights, ers, ers_weighted

    _, rgb8 = case
    rgb = rgb8.astype(np.float32) / 255
    today = relabel_consecutive(ers(rgb, k, connectivity=connectivity).astype(np.int64))[0]
    img255 = np.round(rgb.astype(np.float64) * 255.0, 4)
    horizontal, vertical, diagonals = _colour_weights_by_hand(img255, conn8=connectivity == 8)
    for ours, mine in zip(colour_edge_weights(img255, connectivity=connectivity),
                          (horizontal, vertical, *(diagonals or ())), strict=True):  # fmt: skip
        np.testing.assert_array_equal(ours, mine)
    labels = ers_weighted(horizontal, vertical, k, diagonals=diagonals, connectivity=connectivity)
    np.testing.assert_array_equal(labels, today)
    assert labels.dtype == np.int32


@pytest.mark.realdata
@pytest.mark.parametrize("connectivity", [4, 8])
def test_colour_weights_give_todays_labels_on_a_bsds500_image(bsds_root, connectivity):
    from baselines._common import relabel_consecutive
    from baselines.ers import colour_edge_weights, ers, ers_weighted
    from ssn.io import read_image

    rgb = read_image(sorted((bsds_root / "images" / "test").glob("*.jpg"))[3])[:120, :160]
    rgb = rgb.astype(np.float32) / 255
    today = relabel_consecutive(ers(rgb, 150, connectivity=connectivity).astype(np.int64))[0]
    weights = colour_edge_weights(np.round(rgb.astype(np.float64) * 255.0, 4),
                                  connectivity=connectivity)  # fmt: skip
    diagonals = weights[2:] if connectivity == 8 else None
    labels = ers_weighted(*weights[:2], 150, diagonals=diagonals, connectivity=connectivity)
    np.testing.assert_array_equal(labels, today)


def test_affinity_diagonals_follow_the_rule_pixel_by_pixel():
    """SEAL's README rule on flat indices p (W wide): to (y+1, x+1)
    min(½(a_x[p] + a_x[p+W]), ½(a_y[p] + a_y[p+1])) / √2, and to (y-1, x+1)
    min(½(a_x[p] + a_x[p-W]), ½(a_y[p-W] + a_y[p-W+1])) / √2."""
    from baselines.ers import affinity_diagonals

    rng = np.random.default_rng(3)
    h, w = 5, 7
    a_x, a_y = rng.random(h * w), rng.random(h * w)
    down_right, up_right = affinity_diagonals(a_x.reshape(h, w)[:, :-1], a_y.reshape(h, w)[:-1])
    for y in range(h):
        for x in range(w - 1):
            p = y * w + x
            if y < h - 1:
                expected = min(
                    0.5 * (a_x[p] + a_x[p + w]), 0.5 * (a_y[p] + a_y[p + 1])
                ) / math.sqrt(2)
                assert down_right[y, x] == pytest.approx(expected, rel=1e-15)
            if y > 0:
                expected = min(
                    0.5 * (a_x[p] + a_x[p - w]), 0.5 * (a_y[p - w] + a_y[p - w + 1])
                ) / math.sqrt(2)
                assert up_right[y - 1, x] == pytest.approx(expected, rel=1e-15)


def test_weighted_edges_come_in_the_colour_graphs_order():
    """Ties in the heap break by edge order: both builders list the same edges alike."""
    from baselines.ers import _build_edges, _weighted_edges

    img = np.zeros((4, 5, 3))
    for conn8 in (False, True):
        ea, eb, _ = _build_edges(img, conn8)
        wa, wb, _ = _weighted_edges(np.ones((4, 4)), np.ones((3, 5)), np.ones((3, 4)),
                                    np.ones((3, 4)), conn8)  # fmt: skip
        np.testing.assert_array_equal(wa, ea)
        np.testing.assert_array_equal(wb, eb)


def test_weighted_ers_cuts_the_weak_link():
    from baselines.ers import ers_weighted

    horizontal = np.ones((6, 9))
    horizontal[:, 3] = 1e-3  # between columns 3 and 4
    for connectivity in (4, 8):
        labels = ers_weighted(horizontal, np.ones((5, 10)), 2, connectivity=connectivity)
        assert (labels[:, :4] == 0).all() and (labels[:, 4:] == 1).all()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"vertical": np.ones((3, 4))}, ValueError, r"vertical must have shape \(3, 5\), got \(3, 4\)"),
        ({"horizontal": np.ones(4)}, ValueError, r"horizontal must be 2-D \(H, W-1\), got shape \(4,\)"),
        ({"horizontal": -np.ones((4, 4))}, ValueError, "horizontal must be non-negative"),
        ({"vertical": np.full((3, 5), np.nan)}, ValueError, "vertical holds NaN or infinite"),
        ({"horizontal": np.full((4, 4), "a")}, TypeError, "horizontal must be a numeric array"),
        ({"n_segments": 21}, ValueError, "exceeds the number of pixels"),
        ({"lam": 0}, ValueError, "lam"),
        ({"connectivity": 6}, ValueError, "connectivity must be 4 or 8, got 6"),
        ({"diagonals": (np.ones((3, 4)),) * 2}, ValueError, "pass connectivity=8"),
        ({"diagonals": (np.ones((3, 3)),) * 2, "connectivity": 8}, ValueError,
         r"diagonals\[0\] must have shape \(3, 4\)"),
    ],
)  # fmt: skip
def test_weighted_ers_validates(kwargs, error, match):
    from baselines.ers import ers_weighted

    arguments = {"horizontal": np.ones((4, 4)), "vertical": np.ones((3, 5)), "n_segments": 3}
    arguments.update(kwargs)
    with pytest.raises(error, match=match):
        ers_weighted(**arguments)
