"""Connectivity enforcement: hand-made cases, the scikit-image reference, invariants."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from ssn.connectivity import enforce_connectivity

try:  # scikit-image's own (private) implementation is the reference of "official"
    from skimage.segmentation._slic import _enforce_label_connectivity_cython
except ImportError:  # pragma: no cover
    _enforce_label_connectivity_cython = None


def _assert_valid_partition(labels):
    n = labels.max() + 1
    assert labels.dtype == np.int32
    assert set(np.unique(labels).tolist()) == set(range(n)), "labels not consecutive"
    for v in range(n):
        assert ndi.label(labels == v)[1] == 1, f"label {v} is not one 4-connected region"


def _random_blocky(rng, shape=(40, 50), n_labels=12, noise=0.1):
    """Grid-like labels with salt noise: realistic fragments of many sizes."""
    base = np.kron(rng.integers(0, n_labels, (4, 5)), np.ones((10, 10), int))
    flip = rng.random(shape) < noise
    return np.where(flip, rng.integers(0, n_labels, shape), base)


@pytest.mark.skipif(_enforce_label_connectivity_cython is None, reason="skimage internals moved")
@pytest.mark.parametrize("seed", range(10))
def test_official_mode_matches_scikit_image(seed):
    rng = np.random.default_rng(seed)
    labels = _random_blocky(rng)
    n_segments = 20
    segment_size = labels.size / n_segments
    ref = _enforce_label_connectivity_cython(
        labels[None].astype(np.intp), int(0.06 * segment_size), int(3 * segment_size), start_label=0
    )[0]
    ours = enforce_connectivity(labels, n_segments, mode="official")
    np.testing.assert_array_equal(ours, ref)
    _assert_valid_partition(ours)


@pytest.mark.parametrize("seed", range(10))
def test_largest_mode_invariants(seed):
    rng = np.random.default_rng(seed)
    labels = _random_blocky(rng)
    out = enforce_connectivity(labels, 20)
    _assert_valid_partition(out)
    # Never more superpixels than input labels, and each label's largest piece survives
    # with all its pixels in one output superpixel.
    assert out.max() + 1 <= len(np.unique(labels))
    for v in np.unique(labels):
        pieces, n = ndi.label(labels == v)
        sizes = np.bincount(pieces.ravel())[1:]
        if sizes.max() >= int(0.06 * labels.size / 20):
            biggest = pieces == (np.argmax(sizes) + 1)
            assert len(np.unique(out[biggest])) == 1


def test_largest_mode_merges_into_longest_border():
    # Label 1 has a big piece (left) and a stray 2x2 piece inside the region of label 2.
    # The stray piece borders label 2 with 6 pixel edges (2 each on top, left, bottom)
    # and label 3 with 2 (right), so it must join label 2.
    labels = np.array(
        [
            [1, 1, 2, 2, 2, 2, 3],
            [1, 1, 2, 2, 2, 2, 3],
            [1, 1, 2, 1, 1, 3, 3],
            [1, 1, 2, 1, 1, 3, 3],
            [1, 1, 2, 2, 2, 2, 3],
        ]
    )
    out = enforce_connectivity(labels, 3, min_size_factor=0)
    _assert_valid_partition(out)
    assert out.max() + 1 == 3
    assert out[2, 3] == out[2, 2]  # the stray piece joined label 2's superpixel
    assert out[2, 3] != out[0, 0]


def test_official_mode_hand_example():
    # Label 0 has two pieces; min_size 0 keeps both, so the stray pixel gets a new label.
    lab = np.array([[0, 0, 1], [1, 0, 1], [0, 0, 1]])
    out = enforce_connectivity(lab, 2, mode="official", min_size_factor=0)
    np.testing.assert_array_equal(out, [[0, 0, 1], [2, 0, 1], [0, 0, 1]])


def test_small_label_disappears():
    # A 1-pixel label below min_size (0.06·36/1 = 2.16 → 2) is absorbed by its neighbour.
    lab = np.zeros((6, 6), int)
    lab[3, 3] = 7
    for mode in ("largest", "official"):
        out = enforce_connectivity(lab, 1, mode=mode)
        assert out.max() == 0


def test_arbitrary_ids_and_batches():
    rng = np.random.default_rng(3)
    labels = _random_blocky(rng)
    shifted = labels * 1000 - 5000  # negative, sparse ids
    np.testing.assert_array_equal(
        enforce_connectivity(shifted, 20), enforce_connectivity(labels, 20)
    )
    batch = np.stack([labels, labels[::-1]])
    out = enforce_connectivity(batch, 20)
    np.testing.assert_array_equal(out[1], enforce_connectivity(labels[::-1], 20))


def test_errors():
    with pytest.raises(ValueError, match="shape"):
        enforce_connectivity(np.zeros(5, int), 3)
    with pytest.raises(ValueError, match="integers"):
        enforce_connectivity(np.zeros((3, 3)), 3)
    with pytest.raises(ValueError, match="mode"):
        enforce_connectivity(np.zeros((3, 3), int), 3, mode="fast")
    with pytest.raises(ValueError, match="n_segments"):
        enforce_connectivity(np.zeros((3, 3), int), 0)


def test_split_mode_keeps_every_large_piece():
    # Label 1 has two large pieces (kept as two superpixels) and a 1-pixel stray piece
    # inside label 0 (merged into label 0, its only neighbour).
    lab = np.zeros((6, 9), int)
    lab[:, :3] = 1
    lab[:, 6:] = 1
    lab[2, 4] = 1
    out = enforce_connectivity(lab, 1, mode="split", min_size=4)
    _assert_valid_partition(out)
    assert out.max() + 1 == 3
    assert out[2, 4] == out[0, 4]
    assert out[0, 0] != out[0, 8]
    # min_size 0 keeps every piece: the stray pixel becomes a fourth superpixel.
    assert enforce_connectivity(lab, 1, mode="split", min_size=0).max() + 1 == 4
