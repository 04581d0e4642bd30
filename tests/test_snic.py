"""SNIC core steps: the priority queue, the growth rule, and a cross-check with pysnic."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from baselines._common import rgb_to_lab
from baselines.snic import _pop_root, _push, snic_labels


@numba.njit
def pq_drain(priorities):
    """Push ``priorities[i]`` with payload ``i`` for all ``i`` into the SNIC queue, then pop
    everything; returns the payloads in pop order (the queue order under test)."""
    n = priorities.size
    keys = np.empty(n, np.float64)
    order = np.empty(n, np.int64)
    pix = np.empty(n, np.int64)
    lab = np.empty(n, np.int32)
    size = 0
    for i in range(n):
        size = _push(keys, order, pix, lab, size, priorities[i], i, i, 0)
    out = np.empty(n, np.int64)
    for j in range(n):
        out[j] = pix[0]
        size = _pop_root(keys, order, pix, lab, size)
    return out


def test_priority_queue_pops_in_key_order_with_fifo_ties():
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 20, size=500).astype(np.float64)  # many ties
    order = pq_drain(keys)
    # expected: ascending key, ties in insertion order (a stable sort)
    np.testing.assert_array_equal(order, np.argsort(keys, kind="stable"))
    keys = rng.random(1000)
    np.testing.assert_array_equal(pq_drain(keys), np.argsort(keys, kind="stable"))


def test_one_row_growth_by_hand():
    """Two seeds on a 1x7 strip, L = [0, 0, 0, 40, 100, 100, 100], seeds at x=1 and x=5.

    Colour only (tiny compactness): pixel 3 (L=40) is nearer the left colour (0) than
    the right one (100): |40-0| < |40-100|, so it goes left.

    Space only (huge compactness): the queue pops x=0, 2 (left; ties in insertion
    order), then x=4 (right). By then the left centroid is at x=(1+0+2)/3=1 and the
    right one at x=(5+4)/2=4.5, so pixel 3 is pushed by the left with d=(3-1)^2=4 and
    by the right with d=(3-4.5)^2=2.25: it goes right. (Measured from the seeds instead
    of the running centroids both would be 4 and the left, pushed first, would win.)
    """
    lab = np.zeros((1, 7, 3))
    lab[0, :, 0] = [0, 0, 0, 40, 100, 100, 100]
    labels = snic_labels(lab, [0, 0], [1, 5], compactness=1e-3)
    np.testing.assert_array_equal(labels[0], [0, 0, 0, 0, 1, 1, 1])
    labels = snic_labels(lab, [0, 0], [1, 5], compactness=1e6)
    np.testing.assert_array_equal(labels[0], [0, 0, 0, 1, 1, 1, 1])


def _reference_snic(lab, ys, xs, compactness):
    """Plain-Python SNIC straight from the paper's pseudo-code (heapq, no pruning)."""
    import heapq

    h, w = lab.shape[:2]
    k = len(ys)
    invwt = compactness**2 * k / (h * w)
    labels = -np.ones((h, w), int)
    sums = np.zeros((k, 5))  # L, a, b, x, y
    counts = np.zeros(k)
    heap = []
    counter = 0
    for i, (y, x) in enumerate(zip(ys, xs, strict=True)):
        heapq.heappush(heap, (0.0, counter, int(y), int(x), i))
        counter += 1
    while heap:
        _, _, y, x, i = heapq.heappop(heap)
        if labels[y, x] >= 0:
            continue
        labels[y, x] = i
        sums[i] += [*lab[y, x], x, y]
        counts[i] += 1
        c = sums[i] / counts[i]
        for qy, qx in ((y, x - 1), (y - 1, x), (y, x + 1), (y + 1, x)):
            if 0 <= qy < h and 0 <= qx < w and labels[qy, qx] < 0:
                d = float(np.sum((lab[qy, qx] - c[:3]) ** 2))
                d += ((qx - c[3]) ** 2 + (qy - c[4]) ** 2) * invwt
                heapq.heappush(heap, (d, counter, qy, qx, i))
                counter += 1
    return labels


@pytest.mark.parametrize("compactness", [1.0, 20.0, 200.0])
def test_matches_a_plain_python_reference(compactness):
    rng = np.random.default_rng(int(compactness))
    lab = rgb_to_lab(rng.random((14, 17, 3)))
    ys = np.array([2, 2, 3, 10, 11, 12])
    xs = np.array([2, 8, 14, 3, 9, 15])
    np.testing.assert_array_equal(
        snic_labels(lab, ys, xs, compactness), _reference_snic(lab, ys, xs, compactness)
    )


def test_every_pixel_labelled_once_and_superpixels_grow_from_their_seeds():
    rng = np.random.default_rng(2)
    lab = rgb_to_lab(rng.random((30, 40, 3)))
    ys = np.array([5, 5, 20, 25])
    xs = np.array([5, 30, 10, 35])
    labels = snic_labels(lab, ys, xs, compactness=10.0)
    assert labels.min() == 0 and labels.max() == 3
    np.testing.assert_array_equal(labels[ys, xs], np.arange(4))


def test_bad_seeds_are_rejected():
    lab = np.zeros((4, 4, 3))
    with pytest.raises(ValueError, match="distinct"):
        snic_labels(lab, [1, 1], [1, 1], 10.0)
    with pytest.raises(ValueError, match="inside"):
        snic_labels(lab, [4], [0], 10.0)


def test_matches_pysnic_given_the_same_seeds_and_distance():
    """pysnic (PyPI) is a pure-Python SNIC; with the same seeds and distance, the labels
    must agree (up to float rounding in the running means, which may flip near-ties)."""
    pytest.importorskip("pysnic")
    from pysnic.algorithms.snic import snic as pysnic_snic

    rng = np.random.default_rng(0)
    h, w = 48, 64
    # a smooth image with structure plus noise, in [0, 1]
    yy, xx = np.mgrid[:h, :w]
    rgb = np.stack(
        [0.5 + 0.4 * np.sin(xx / 7.0), 0.5 + 0.4 * np.cos(yy / 5.0), (xx + yy) / (h + w)], -1
    )
    rgb = np.clip(rgb + rng.normal(0, 0.03, rgb.shape), 0, 1)
    lab = rgb_to_lab(rgb)
    ys = np.array([6, 6, 6, 6, 18, 18, 18, 18, 30, 30, 30, 30, 42, 42, 42, 42])
    xs = np.array([8, 24, 40, 56] * 4)
    compactness = 10.0
    invwt = compactness**2 * ys.size / (h * w)
    ours = snic_labels(lab, ys, xs, compactness)

    def distance(pos_a, pos_b, col_a, col_b):
        dc = sum((a - b) ** 2 for a, b in zip(col_a, col_b, strict=True))
        ds = (pos_a[0] - pos_b[0]) ** 2 + (pos_a[1] - pos_b[1]) ** 2
        return dc + ds * invwt

    # pysnic pops its seeds last-first (priorities 0, -1, -2, ...): hand them reversed so
    # both pop seed 0 first and break later ties in the same insertion order.
    seeds = [[int(x), int(y)] for y, x in zip(ys[::-1], xs[::-1], strict=True)]
    theirs, _, _ = pysnic_snic(lab.tolist(), seeds, compactness, image_distance=distance)
    theirs = (ys.size - 1) - np.asarray(theirs)
    agreement = float(np.mean(theirs == ours))
    assert agreement >= 0.99, agreement
