"""ERS, Entropy Rate Superpixels (Liu, Tuzel, Ramalingam & Chellappa, CVPR 2011).

Numba implementation following the paper and the authors' reference code (as shipped
in Stutz's superpixel benchmark, ``lib_ers``):

* graph: pixels, 4-connected (or 8-connected) edges; the dissimilarity of neighbours is
  the L1 distance of their RGB values in [0, 255] (× √2 for diagonal edges), and the
  similarity ``w_ij = exp(-d² / (2 σ²))`` with ``σ = sigma × channels`` (3);
* every vertex starts with a self-loop carrying all of its incident weight,
  ``c_i = Σ_j w_ij``; weights are normalised so that ``Σ_i c_i = 1``. Selecting edge
  ``(i, j)`` moves ``w_ij`` from both self-loops onto the edge, so the stationary
  distribution of the random walk never changes;
* objective: entropy rate of that random walk plus ``λ'`` × the balancing term
  ``B = H(Z_A) − N_A`` (entropy of the cluster-size distribution minus the number of
  clusters), with ``λ' = λ K · max ΔH / max ΔB`` over the initial edges;
* greedy maximisation over a max-heap of edges with lazy evaluation (submodularity:
  gains only shrink, so only the root's gain is recomputed until it is up to date);
  edges inside a cluster (cycles) are dropped; stop at ``K`` clusters.

Gains, in bits (the formulas of the reference code, derived from the entropy rate
``H = −Σ_i μ_i Σ_j p_ij log p_ij`` with ``μ_i = w_i / w_T``, ``p_ij = w_ij / w_i``):

    ΔH(i,j) = (w + c_i')log(w + c_i') + (w + c_j')log(w + c_j') − c_i'log c_i'
              − c_j'log c_j' − 2 w log w,        c' = self-loop weight minus w,
    ΔB(a,b) = −(S_a + S_b)log(S_a + S_b) + S_a log S_a + S_b log S_b + 1,
              S = cluster size / N.

Checked against a transcription of the reference C++ (same graph, heap and lazy update,
built locally, not shipped): identical labels on all 200 BSDS500 test images at K=400
when both use ``0 log 0 = 0``; with the reference's NaN rule the C++ scores ASA 0.9543 /
BR 0.8335 there (Stutz protocol, r=1, mean over annotations) against 0.9545 / 0.8348
here, in ~0.4 s per image against ~0.25-0.3 s here.

The clusters are trees of selected edges, hence connected; with the 4-connected graph
the count is exactly ``K`` (8-connected clusters are split into 4-connected pieces and
small pieces merged, so the count can move slightly).

:func:`ers_weighted` runs the same greedy on a graph whose edge weights are given (the
horizontal, vertical and optionally diagonal similarities of neighbours) instead of
computed from colours: SEAL's learned pixel affinities drive ERS this way (Tu et al.,
CVPR 2018). :func:`ers` is that path with the Gaussian colour weights above, computed
by :func:`colour_edge_weights`; both give the same labels bit for bit.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ssn.connectivity import enforce_connectivity
from ssn.validation import check_positive

__all__ = [
    "affinity_diagonals",
    "balance_gain",
    "colour_edge_weights",
    "entropy_rate_gain",
    "ers",
    "ers_labels",
    "ers_weighted",
]

_LOG2 = math.log(2.0)


@numba.njit(cache=True)
def _xlogx(x):
    # the limit 0 log 0 = 0; tiny negative round-off of a used-up self-loop counts as 0
    return x * math.log(x) if x > 0.0 else 0.0


@numba.njit(cache=True)
def entropy_rate_gain(w, ci, cj):
    """Gain in entropy rate (bits) of selecting an edge of weight ``w`` whose endpoints
    keep self-loop weights ``ci`` and ``cj`` after the move.

    Uses ``0 log 0 = 0``. (The reference code instead returns 0 for the whole gain when
    any term is NaN, i.e. when an endpoint's self-loop is used up; that edge is then
    ranked by its balancing gain alone. Here its true entropy-rate gain is kept.)
    """
    return (_xlogx(w + ci) + _xlogx(w + cj) - _xlogx(ci) - _xlogx(cj) - 2.0 * _xlogx(w)) / _LOG2


@numba.njit(cache=True)
def balance_gain(n_vertices, si, sj):
    """Gain of the balancing term (bits) of merging clusters of ``si`` and ``sj`` vertices."""
    a = si / n_vertices
    b = sj / n_vertices
    return (-(a + b) * math.log(a + b) + a * math.log(a) + b * math.log(b)) / _LOG2 + 1.0


@numba.njit(cache=True)
def _build_edges(img, conn8):
    h, w, c = img.shape
    ne = (h * (w - 1) + (h - 1) * w) + (2 * (h - 1) * (w - 1) if conn8 else 0)
    ea = np.empty(ne, np.int64)
    eb = np.empty(ne, np.int64)
    ed = np.empty(ne, np.float64)
    sq2 = math.sqrt(2.0)
    m = 0
    for y in range(h):
        for x in range(w):
            p = y * w + x
            if x < w - 1:
                d = 0.0
                for ch in range(c):
                    d += abs(img[y, x, ch] - img[y, x + 1, ch])
                ea[m] = p
                eb[m] = p + 1
                ed[m] = d
                m += 1
            if y < h - 1:
                d = 0.0
                for ch in range(c):
                    d += abs(img[y, x, ch] - img[y + 1, x, ch])
                ea[m] = p
                eb[m] = p + w
                ed[m] = d
                m += 1
            if conn8:
                if x < w - 1 and y < h - 1:
                    d = 0.0
                    for ch in range(c):
                        d += abs(img[y, x, ch] - img[y + 1, x + 1, ch])
                    ea[m] = p
                    eb[m] = p + w + 1
                    ed[m] = sq2 * d
                    m += 1
                if x < w - 1 and y > 0:
                    d = 0.0
                    for ch in range(c):
                        d += abs(img[y, x, ch] - img[y - 1, x + 1, ch])
                    ea[m] = p
                    eb[m] = p - w + 1
                    ed[m] = sq2 * d
                    m += 1
    return ea[:m], eb[:m], ed[:m]


@numba.njit(cache=True)
def _weighted_edges(horizontal, vertical, down_right, up_right, conn8):
    # the edges of _build_edges, in its order (ties in the heap break alike), with the
    # given weights
    h, w1 = horizontal.shape
    w = w1 + 1
    ne = (h * (w - 1) + (h - 1) * w) + (2 * (h - 1) * (w - 1) if conn8 else 0)
    ea = np.empty(ne, np.int64)
    eb = np.empty(ne, np.int64)
    wt = np.empty(ne, np.float64)
    m = 0
    for y in range(h):
        for x in range(w):
            p = y * w + x
            if x < w - 1:
                ea[m] = p
                eb[m] = p + 1
                wt[m] = horizontal[y, x]
                m += 1
            if y < h - 1:
                ea[m] = p
                eb[m] = p + w
                wt[m] = vertical[y, x]
                m += 1
            if conn8:
                if x < w - 1 and y < h - 1:
                    ea[m] = p
                    eb[m] = p + w + 1
                    wt[m] = down_right[y, x]
                    m += 1
                if x < w - 1 and y > 0:
                    ea[m] = p
                    eb[m] = p - w + 1
                    wt[m] = up_right[y - 1, x]
                    m += 1
    return ea[:m], eb[:m], wt[:m]


@numba.njit(cache=True)
def _find(parent, i):
    r = i
    while parent[r] != r:
        r = parent[r]
    while parent[i] != r:  # path compression
        nxt = parent[i]
        parent[i] = r
        i = nxt
    return r


@numba.njit(cache=True)
def _max_heapify(heap, gain, size, i):
    # 1-based binary max-heap of edge ids keyed by gain
    e = heap[i]
    g = gain[e]
    while True:
        left = 2 * i
        if left > size:
            break
        c = left
        if left + 1 <= size and gain[heap[left + 1]] > gain[heap[left]]:
            c = left + 1
        if gain[heap[c]] > g:
            heap[i] = heap[c]
            i = c
        else:
            break
    heap[i] = e


@numba.njit(cache=True)
def _gaussian_similarity(dist, sigma):
    # w = exp(-d² / (2σ²)), the reference code's Gaussian kernel
    two_sigma2 = 2.0 * sigma * sigma
    wt = np.empty(dist.size)
    for e in range(dist.size):
        wt[e] = math.exp(-(dist[e] * dist[e]) / two_sigma2)
    return wt


@numba.njit(cache=True)
def _ers(ea, eb, dist, n_vertices, n_clusters, sigma, lam):
    return _ers_weighted(ea, eb, _gaussian_similarity(dist, sigma), n_vertices, n_clusters, lam)


@numba.njit(cache=True)
def _ers_weighted(ea, eb, weights, n_vertices, n_clusters, lam):
    ne = ea.size
    wt = weights.copy()  # normalised in place below; the caller's array is kept
    loop = np.zeros(n_vertices)
    for e in range(ne):
        loop[ea[e]] += wt[e]
        loop[eb[e]] += wt[e]
    total = 0.0
    for i in range(n_vertices):
        total += loop[i]
    if total > 0:
        for e in range(ne):
            wt[e] /= total
        for i in range(n_vertices):
            loop[i] /= total
    parent = np.arange(n_vertices)
    csize = np.ones(n_vertices, np.int64)
    gain = np.empty(ne)
    max_er = 0.0
    max_b = 1e-20
    b0 = balance_gain(n_vertices, 1.0, 1.0) if n_vertices > 1 else 0.0
    for e in range(ne):
        g = entropy_rate_gain(wt[e], loop[ea[e]] - wt[e], loop[eb[e]] - wt[e])
        gain[e] = g
        if g > max_er:
            max_er = g
    if b0 > max_b:
        max_b = b0
    balancing = lam * max_er / abs(max_b)
    for e in range(ne):
        gain[e] += balancing * b0
    heap = np.empty(ne + 1, np.int64)
    for e in range(ne):
        heap[e + 1] = e
    size = ne
    for i in range(size // 2, 0, -1):
        _max_heapify(heap, gain, size, i)
    cc = n_vertices
    while cc > n_clusters and size > 0:
        e = heap[1]
        heap[1] = heap[size]
        size -= 1
        if size > 0:
            _max_heapify(heap, gain, size, 1)
        a = _find(parent, ea[e])
        b = _find(parent, eb[e])
        if a != b:
            if csize[a] < csize[b]:
                a, b = b, a
            parent[b] = a
            csize[a] += csize[b]
            cc -= 1
            loop[ea[e]] -= wt[e]
            loop[eb[e]] -= wt[e]
        # lazy update: refresh the root until its gain is current
        while size > 0:
            e = heap[1]
            old = gain[e]
            a = _find(parent, ea[e])
            b = _find(parent, eb[e])
            if a == b:
                g = 0.0
            else:
                g = entropy_rate_gain(
                    wt[e], loop[ea[e]] - wt[e], loop[eb[e]] - wt[e]
                ) + balancing * balance_gain(n_vertices, float(csize[a]), float(csize[b]))
            gain[e] = g
            if old == g:
                break
            if g == 0.0:
                heap[1] = heap[size]
                size -= 1
                if size > 0:
                    _max_heapify(heap, gain, size, 1)
            else:
                _max_heapify(heap, gain, size, 1)
    out = np.empty(n_vertices, np.int32)
    for i in range(n_vertices):
        out[i] = _find(parent, i)
    return out


def ers_labels(
    image255: np.ndarray, n_segments: int, *, lam: float = 0.5, sigma: float = 5.0, conn8=False
) -> np.ndarray:
    """ERS on an ``(H, W, C)`` image with values in [0, 255]; labels are cluster roots
    (pixel indices), not yet consecutive."""
    img = np.ascontiguousarray(image255, dtype=np.float64)
    if img.ndim == 2:
        img = img[..., None]
    h, w, c = img.shape
    ea, eb, d = _build_edges(img, bool(conn8))
    roots = _ers(ea, eb, d, h * w, int(n_segments), float(sigma) * c, float(lam) * n_segments)
    return roots.reshape(h, w)


def colour_edge_weights(
    image255: np.ndarray, *, sigma: float = 5.0, connectivity: int = 4
) -> tuple[np.ndarray, ...]:
    """The Gaussian colour similarities :func:`ers` puts on the pixel graph.

    Parameters
    ----------
    image255 : (H, W[, C]) ndarray
        Image with values in [0, 255].
    sigma : float, optional
        Kernel width per channel (``σ = sigma × C``).
    connectivity : {4, 8}, optional
        With 8, the two diagonal weight arrays are returned too.

    Returns
    -------
    horizontal : (H, W-1) ndarray of float64
        Weight of the edge from (y, x) to (y, x+1): ``exp(-d² / (2σ²))``, ``d`` the L1
        distance of the two pixels' values.
    vertical : (H-1, W) ndarray of float64
        Weight of the edge from (y, x) to (y+1, x).
    down_right, up_right : (H-1, W-1) ndarray of float64
        Only with ``connectivity=8``: the edges from (y, x) to (y+1, x+1), and from
        (y+1, x) to (y, x+1) at index (y, x); ``d`` is scaled by √2.
    """
    img = np.ascontiguousarray(image255, dtype=np.float64)
    if img.ndim == 2:
        img = img[..., None]
    h, w, c = img.shape
    conn8 = _check_connectivity(connectivity) == 8
    ea, eb, d = _build_edges(img, conn8)
    wt = _gaussian_similarity(d, float(sigma) * c)
    ya, xa = np.divmod(ea, w)
    yb, xb = np.divmod(eb, w)
    horizontal = np.empty((h, w - 1))
    vertical = np.empty((h - 1, w))
    right, down = (yb == ya) & (xb == xa + 1), (xb == xa) & (yb == ya + 1)
    horizontal[ya[right], xa[right]] = wt[right]
    vertical[ya[down], xa[down]] = wt[down]
    if not conn8:
        return horizontal, vertical
    down_right = np.empty((h - 1, w - 1))
    up_right = np.empty((h - 1, w - 1))
    dr, ur = (yb == ya + 1) & (xb == xa + 1), (yb == ya - 1) & (xb == xa + 1)
    down_right[ya[dr], xa[dr]] = wt[dr]
    up_right[yb[ur], xa[ur]] = wt[ur]  # indexed by the upper row, as ers_weighted reads it
    return horizontal, vertical, down_right, up_right


def affinity_diagonals(horizontal, vertical) -> tuple[np.ndarray, np.ndarray]:
    """Diagonal edge weights from horizontal and vertical affinities, SEAL's rule.

    The edge from ``(y, x)`` to ``(y+1, x+1)`` weighs
    ``min(½(h[y, x] + h[y+1, x]), ½(v[y, x] + v[y, x+1])) / √2``, and so does the one from
    ``(y+1, x)`` to ``(y, x+1)``, the other diagonal of the same 2×2 square: the smaller
    of the mean of the square's two horizontal edges and the mean of its two vertical
    ones, divided by √2 for the longer step.

    Parameters
    ----------
    horizontal : (H, W-1) array_like
        Weights of the edges from (y, x) to (y, x+1).
    vertical : (H-1, W) array_like
        Weights of the edges from (y, x) to (y+1, x).

    Returns
    -------
    down_right, up_right : (H-1, W-1) ndarray of float64
        As :func:`ers_weighted` takes them.
    """
    h = np.asarray(horizontal, dtype=np.float64)
    v = np.asarray(vertical, dtype=np.float64)
    # the authors' order of operations: (1/√2 · 0.5) · (a + b), then the smaller
    scale = 1.0 / math.sqrt(2.0) * 0.5
    diagonal = np.minimum(scale * (h[:-1] + h[1:]), scale * (v[:, :-1] + v[:, 1:]))
    # both diagonals of a 2x2 square go round the same four edges: equal weights
    return diagonal, diagonal.copy()


def _check_connectivity(connectivity) -> int:
    if connectivity not in (4, 8) or isinstance(connectivity, bool):
        raise ValueError(f"connectivity must be 4 or 8, got {connectivity!r}")
    return int(connectivity)


def _weights_array(name: str, value, shape: tuple[int, int]) -> np.ndarray:
    arr = np.asarray(value)
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds NaN or infinite values")
    if arr.size and arr.min() < 0:
        raise ValueError(f"{name} must be non-negative (edge similarities), got {arr.min():g}")
    return arr


def ers_weighted(
    horizontal, vertical, n_segments: int, *, diagonals=None, lam: float = 0.5,
    connectivity: int = 4,
) -> np.ndarray:  # fmt: skip
    """Entropy Rate Superpixels on a pixel graph with given edge weights.

    The greedy of :func:`ers` (the same heap, gains and balancing term ``λ K``) on the
    4- or 8-connected grid whose edges weigh what is given: similarities (larger = more
    alike), such as SEAL's learned affinities. Weights are normalised to sum to one, so
    their scale does not matter.

    Parameters
    ----------
    horizontal : (H, W-1) array_like
        Weight of the edge from pixel (y, x) to (y, x+1).
    vertical : (H-1, W) array_like
        Weight of the edge from pixel (y, x) to (y+1, x).
    n_segments : int
        Number of clusters, in ``[1, H·W]``.
    diagonals : tuple of two (H-1, W-1) array_like, optional
        With ``connectivity=8``: the weights of the edges from (y, x) to (y+1, x+1) and
        from (y+1, x) to (y, x+1), both indexed (y, x); by default
        :func:`affinity_diagonals` (SEAL's rule).
    lam : float, optional
        Balancing weight λ (> 0), scaled by ``n_segments`` as in ERS.
    connectivity : {4, 8}, optional
        The grid's neighbourhood.

    Returns
    -------
    labels : (H, W) ndarray of int
        Cluster labels, each cluster 4-connected. With ``connectivity=4`` there are
        exactly ``n_segments``; with 8, the 8-connected clusters are split into
        4-connected pieces and pieces under a quarter of the mean area merged, so the
        count can move slightly.

    Raises
    ------
    ValueError
        If the arrays' shapes disagree, a weight is negative, NaN or infinite,
        ``n_segments`` is outside ``[1, H·W]``, ``lam`` is not positive, ``connectivity``
        is not 4 or 8, or ``diagonals`` is given with ``connectivity=4``.
    TypeError
        If a weight array is not numeric.

    Examples
    --------
    >>> horizontal = np.ones((6, 9))
    >>> horizontal[:, 3] = 1e-3  # a weak link between columns 3 and 4
    >>> labels = ers_weighted(horizontal, np.ones((5, 10)), 2)
    >>> labels.shape, labels[0]
    ((6, 10), array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1], dtype=int32))
    """
    from ssn.validation import check_n_segments

    from ._common import relabel_consecutive

    lam = check_positive("lam", lam)
    conn8 = _check_connectivity(connectivity) == 8
    h_arr = np.asarray(horizontal)
    if h_arr.ndim != 2:
        raise ValueError(f"horizontal must be 2-D (H, W-1), got shape {h_arr.shape}")
    height, width = h_arr.shape[0], h_arr.shape[1] + 1
    horizontal = _weights_array("horizontal", horizontal, (height, width - 1))
    vertical = _weights_array("vertical", vertical, (height - 1, width))
    n = check_n_segments(n_segments, height, width)
    if diagonals is not None and not conn8:
        raise ValueError("diagonals are the 8-connected graph's: pass connectivity=8")
    if conn8:
        if diagonals is None:
            diagonals = affinity_diagonals(horizontal, vertical)
        if len(diagonals) != 2:
            raise ValueError(f"diagonals must be (down_right, up_right), got {len(diagonals)}")
        shape = (height - 1, width - 1)
        down_right = _weights_array("diagonals[0]", diagonals[0], shape)
        up_right = _weights_array("diagonals[1]", diagonals[1], shape)
    else:
        down_right = up_right = np.zeros((0, 0))
    labels = _weighted_labels(horizontal, vertical, down_right, up_right, n, lam, conn8)
    return relabel_consecutive(labels)[0]


def _weighted_labels(horizontal, vertical, down_right, up_right, n_segments, lam, conn8):
    """Labels of the weighted graph (validated arrays), 4-connected as :func:`ers` makes
    them; cluster roots, not yet consecutive."""
    height, width = horizontal.shape[0], horizontal.shape[1] + 1
    ea, eb, wt = _weighted_edges(horizontal, vertical, down_right, up_right, conn8)
    roots = _ers_weighted(ea, eb, wt, height * width, int(n_segments), float(lam) * n_segments)
    return (
        _split_8_connected(roots.reshape(height, width), n_segments)
        if conn8
        else roots.reshape(height, width)
    )


def _split_8_connected(labels: np.ndarray, n_segments: int) -> np.ndarray:
    # clusters are 8-connected trees: split them into 4-connected pieces and merge the
    # small pieces (below a quarter of the mean area) into a neighbour
    h, w = labels.shape
    min_size = max(1, int(0.25 * h * w / n_segments))
    return enforce_connectivity(labels, n_segments, mode="split", min_size=min_size)


def ers(rgb, n_segments, *, lam=0.5, sigma=5.0, connectivity=4):
    lam = check_positive("lam", lam)
    sigma = check_positive("sigma", sigma)
    _check_connectivity(connectivity)
    # integer-valued for 8-bit input (exact ties, as in the C++ code on uint8 images)
    img = np.round(rgb.astype(np.float64) * 255.0, 4)
    labels = ers_labels(img, n_segments, lam=lam, sigma=sigma, conn8=connectivity == 8)
    if connectivity == 8:
        labels = _split_8_connected(labels, n_segments)
    return labels
