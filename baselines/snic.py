"""SNIC, Simple Non-Iterative Clustering (Achanta & Süsstrunk, CVPR 2017).

Written from the paper (and consistent with the authors' reference C code): seeds on a
regular grid, one priority queue of candidate ``(pixel, superpixel)`` pairs keyed by
the SLIC-normalised XYLab distance to the superpixel's *current* centroid,

    d² = ||c_i − c_k||² + (m² K / N) · ||x_i − x_k||²,

(``m`` the compactness, ``N`` pixels, ``K`` seeds; i.e. ``d²/m² = dc²/m² + ds²/S²`` with
``S = sqrt(N/K)``). Popping the closest candidate labels the pixel if it is still free,
updates that centroid online and pushes the pixel's free 4-neighbours. Every pixel is
labelled exactly once, so there is a single pass and no connectivity post-processing:
each superpixel grows from its seed and is 4-connected by construction.

The queue is a binary min-heap over ``(distance, insertion counter)`` (ties pop in
insertion order). A pixel is pushed only if its distance beats the best one pushed for
it so far — a pure speed-up: a worse candidate would be popped after the better one and
discarded anyway.
"""

from __future__ import annotations

import numba
import numpy as np

from ssn.validation import check_positive

from ._common import grid_seeds, rgb_to_lab

__all__ = ["snic", "snic_labels"]


@numba.njit(cache=True, inline="always")
def _less(keys, order, i, j):
    return keys[i] < keys[j] or (keys[i] == keys[j] and order[i] < order[j])


@numba.njit(cache=True)
def _push(keys, order, pix, lab, size, key, ordv, p, k):
    i = size
    while i > 0:
        parent = (i - 1) >> 1
        pk = keys[parent]
        if pk < key or (pk == key and order[parent] < ordv):
            break
        keys[i] = pk
        order[i] = order[parent]
        pix[i] = pix[parent]
        lab[i] = lab[parent]
        i = parent
    keys[i] = key
    order[i] = ordv
    pix[i] = p
    lab[i] = k
    return size + 1


@numba.njit(cache=True)
def _pop_root(keys, order, pix, lab, size):
    """Remove the root (the caller has read it); returns the new size."""
    size -= 1
    if size == 0:
        return 0
    key = keys[size]
    ordv = order[size]
    p = pix[size]
    k = lab[size]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and (
            keys[c + 1] < keys[c] or (keys[c + 1] == keys[c] and order[c + 1] < order[c])
        ):
            c += 1
        if keys[c] < key or (keys[c] == key and order[c] < ordv):
            keys[i] = keys[c]
            order[i] = order[c]
            pix[i] = pix[c]
            lab[i] = lab[c]
            i = c
        else:
            break
    keys[i] = key
    order[i] = ordv
    pix[i] = p
    lab[i] = k
    return size


@numba.njit(cache=True)
def _snic(lab_img, seeds_y, seeds_x, compactness):
    h, w, _ = lab_img.shape
    n = h * w
    nk = seeds_y.size
    img = lab_img.reshape(n, 3)
    invwt = compactness * compactness * nk / n
    labels = np.full(n, -1, np.int32)
    best = np.full(n, np.inf)
    sl = np.zeros(nk)
    sa = np.zeros(nk)
    sb = np.zeros(nk)
    sx = np.zeros(nk)
    sy = np.zeros(nk)
    cnt = np.zeros(nk)
    cap = 4 * n + nk + 1
    keys = np.empty(cap, np.float64)
    order = np.empty(cap, np.int64)
    pix = np.empty(cap, np.int64)
    lab = np.empty(cap, np.int32)
    size = 0
    counter = 0
    for k in range(nk):
        p = seeds_y[k] * w + seeds_x[k]
        size = _push(keys, order, pix, lab, size, 0.0, counter, p, k)
        counter += 1
        best[p] = 0.0
    while size > 0:
        p = pix[0]
        k = lab[0]
        size = _pop_root(keys, order, pix, lab, size)
        if labels[p] >= 0:
            continue
        labels[p] = k
        y = p // w
        x = p - y * w
        sl[k] += img[p, 0]
        sa[k] += img[p, 1]
        sb[k] += img[p, 2]
        sx[k] += x
        sy[k] += y
        cnt[k] += 1.0
        inv = 1.0 / cnt[k]
        cl = sl[k] * inv
        ca = sa[k] * inv
        cb = sb[k] * inv
        cx = sx[k] * inv
        cy = sy[k] * inv
        # 4-neighbours in the order left, up, right, down
        for d in range(4):
            if d == 0:
                if x == 0:
                    continue
                q = p - 1
                qx = x - 1
                qy = y
            elif d == 1:
                if y == 0:
                    continue
                q = p - w
                qx = x
                qy = y - 1
            elif d == 2:
                if x == w - 1:
                    continue
                q = p + 1
                qx = x + 1
                qy = y
            else:
                if y == h - 1:
                    continue
                q = p + w
                qx = x
                qy = y + 1
            if labels[q] >= 0:
                continue
            dl = img[q, 0] - cl
            da = img[q, 1] - ca
            db = img[q, 2] - cb
            dx = qx - cx
            dy = qy - cy
            dist = dl * dl + da * da + db * db + (dx * dx + dy * dy) * invwt
            if dist < best[q]:
                best[q] = dist
                size = _push(keys, order, pix, lab, size, dist, counter, q, k)
                counter += 1
    return labels.reshape(h, w)


def snic_labels(lab_img: np.ndarray, seeds_y, seeds_x, compactness: float) -> np.ndarray:
    """Run SNIC on a Lab image ``(H, W, 3)`` from explicit seeds (row, column arrays).

    Label ``k`` is the superpixel grown from seed ``k``. Seeds must be distinct pixels.
    """
    lab_img = np.ascontiguousarray(lab_img, dtype=np.float64)
    seeds_y = np.ascontiguousarray(seeds_y, dtype=np.int64)
    seeds_x = np.ascontiguousarray(seeds_x, dtype=np.int64)
    h, w = lab_img.shape[:2]
    if seeds_y.shape != seeds_x.shape or seeds_y.ndim != 1 or seeds_y.size == 0:
        raise ValueError("seeds_y and seeds_x must be non-empty 1-D arrays of equal length")
    if seeds_y.min() < 0 or seeds_y.max() >= h or seeds_x.min() < 0 or seeds_x.max() >= w:
        raise ValueError("seeds must lie inside the image")
    if np.unique(seeds_y * w + seeds_x).size != seeds_y.size:
        raise ValueError("seeds must be distinct pixels")
    return _snic(lab_img, seeds_y, seeds_x, float(compactness))


def snic(rgb, n_segments, *, compactness=20.0):
    compactness = check_positive("compactness", compactness)
    h, w = rgb.shape[:2]
    ys, xs = grid_seeds(n_segments, h, w)
    return snic_labels(rgb_to_lab(rgb), ys, xs, compactness)
