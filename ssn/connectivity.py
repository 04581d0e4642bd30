"""Connectivity enforcement for superpixel labels (compiled, no per-pixel Python).

Three modes; in each every output label is one 4-connected region and labels are
consecutive from 0.

``"official"``
    The post-processing of the official SSN code, itself a copy of scikit-image's SLIC
    ``_enforce_label_connectivity_cython``: 4-connected components are grown by
    breadth-first search in raster order, capped at ``max_size`` pixels; a component
    smaller than ``min_size`` joins the adjacent superpixel last seen during its search,
    any other component gets a new label. Large stray fragments therefore become
    superpixels of their own, which inflates the count (on BSDS500 test images
    SSN_pix at K = 400 gives ~555 instead of 384 grid cells).

``"split"`` (the baselines' post-processing)
    Every 4-connected piece of at least ``min_size`` pixels becomes a superpixel of its
    own; smaller pieces join the adjacent kept superpixel with the longest border.

``"largest"`` (the default of :func:`ssn.segment`)
    Each label keeps only its largest 4-connected piece (if it has at least
    ``min_size`` pixels); every other piece joins the adjacent kept superpixel with
    which it shares the longest border. The count never exceeds the number of input
    labels, so the realised count stays close to the requested one.
"""

from __future__ import annotations

import numba
import numpy as np

from ssn._parallel import keeps_torch_threads

__all__ = ["enforce_connectivity"]


# Neighbour order of scikit-image's implementation (right, left, down, up): in mode
# "official" it decides which adjacent superpixel a small fragment joins.
_DY = (0, 0, 1, -1)
_DX = (1, -1, 0, 0)


@numba.njit(cache=True, nogil=True)
def _grow(labels, out, queue, start, y0, x0, component, max_size):
    """Breadth-first search from ``(y0, x0)`` over the unassigned (-1 in ``out``)
    4-connected pixels of its label, stopping at ``max_size`` pixels.

    Writes ``component`` into ``out`` and the flat pixel indices into
    ``queue[start:]``; returns the size and the component of the last already-assigned
    neighbour of another component met on the way (0 if none).
    """
    height, width = labels.shape
    label = labels[y0, x0]
    out[y0, x0] = component
    queue[start] = y0 * width + x0
    size = 1
    head = 0
    adjacent = 0
    while head < size and size < max_size:
        y = queue[start + head] // width
        x = queue[start + head] % width
        for k in range(4):
            yy = y + _DY[k]
            xx = x + _DX[k]
            if 0 <= yy < height and 0 <= xx < width:
                if labels[yy, xx] == label and out[yy, xx] == -1:
                    out[yy, xx] = component
                    queue[start + size] = yy * width + xx
                    size += 1
                    if size >= max_size:
                        break
                elif out[yy, xx] >= 0 and out[yy, xx] != component:
                    adjacent = out[yy, xx]
        head += 1
    return size, adjacent


@numba.njit(cache=True, nogil=True)
def _enforce_2d(labels, min_size, max_size, out, queue):
    height, width = labels.shape
    out[:, :] = -1
    next_label = 0
    for y0 in range(height):
        for x0 in range(width):
            if out[y0, x0] >= 0:
                continue
            size, adjacent = _grow(labels, out, queue, 0, y0, x0, next_label, max_size)
            if size < min_size:
                for i in range(size):
                    out[queue[i] // width, queue[i] % width] = adjacent
            else:
                next_label += 1
    return next_label


@numba.njit(cache=True, nogil=True)
def _components(labels, comp, order, starts, sizes):
    """4-connected components in raster order of their first pixel.

    Fills ``comp`` (component id per pixel), ``order`` (pixels grouped by component)
    and ``starts``/``sizes`` (the run of each component in ``order``); returns the count.
    """
    height, width = labels.shape
    comp[:, :] = -1
    n_comp = 0
    tail = 0
    for y0 in range(height):
        for x0 in range(width):
            if comp[y0, x0] >= 0:
                continue
            starts[n_comp] = tail
            sizes[n_comp], _ = _grow(labels, comp, order, tail, y0, x0, n_comp, height * width + 1)
            tail += sizes[n_comp]
            n_comp += 1
    return n_comp


@numba.njit(cache=True, nogil=True)
def _merge_pieces_2d(labels, n_labels, min_size, keep_all, out, comp, order, starts, sizes):
    """Modes 'largest' (``keep_all`` False) and 'split' (True): choose the pieces that
    stay superpixels, then merge every other piece by longest border."""
    height, width = labels.shape
    n_comp = _components(labels, comp, order, starts, sizes)
    target = np.full(n_comp, -1, np.int64)  # the kept component each one ends in
    if keep_all:
        for c in range(n_comp):
            if sizes[c] >= min_size:
                target[c] = c
    else:
        # The largest piece of each label (first in raster order on ties).
        best = np.full(n_labels, -1, np.int64)
        for c in range(n_comp):
            p = order[starts[c]]
            lab = labels[p // width, p % width]
            if best[lab] < 0 or sizes[c] > sizes[best[lab]]:
                best[lab] = c
        for lab in range(n_labels):
            c = best[lab]
            if c >= 0 and sizes[c] >= min_size:
                target[c] = c
    largest = 0
    for c in range(n_comp):
        if sizes[c] > sizes[largest]:
            largest = c
    target[largest] = largest  # something must survive even if all pieces are small
    nb_comp = np.empty(64, np.int64)
    nb_count = np.empty(64, np.int64)
    progress = True
    while progress:
        # Rounds: a piece touching only other merged pieces waits until they are resolved.
        progress = False
        pending = False
        for c in range(n_comp):
            if target[c] >= 0:
                continue
            n_nb = 0
            for i in range(starts[c], starts[c] + sizes[c]):
                y = order[i] // width
                x = order[i] % width
                for k in range(4):
                    yy = y + _DY[k]
                    xx = x + _DX[k]
                    if 0 <= yy < height and 0 <= xx < width:
                        other = comp[yy, xx]
                        if other == c or target[other] < 0:
                            continue
                        dest = target[other]
                        j = 0
                        while j < n_nb and nb_comp[j] != dest:
                            j += 1
                        if j == n_nb:
                            if n_nb == nb_comp.shape[0]:
                                continue
                            nb_comp[j] = dest
                            nb_count[j] = 0
                            n_nb += 1
                        nb_count[j] += 1
            if n_nb == 0:
                pending = True
                continue
            j_best = 0
            for j in range(1, n_nb):
                if nb_count[j] > nb_count[j_best]:
                    j_best = j
            target[c] = nb_comp[j_best]
            progress = True
        if not pending:
            break
    # Consecutive ids for the kept components, in raster order of their first pixel.
    new_id = np.full(n_comp, -1, np.int64)
    n_out = 0
    for c in range(n_comp):
        if target[c] == c:
            new_id[c] = n_out
            n_out += 1
    for y in range(height):
        for x in range(width):
            out[y, x] = new_id[target[comp[y, x]]]
    return n_out


@numba.njit(cache=True, parallel=True)
def _enforce_batch(labels, n_labels, min_size, max_size, strategy, out):
    batch, height, width = labels.shape
    counts = np.empty(batch, np.int64)
    for b in numba.prange(batch):
        order = np.empty(height * width, np.int64)
        if strategy == 0:
            counts[b] = _enforce_2d(labels[b], min_size, max_size, out[b], order)
        else:
            comp = np.empty((height, width), np.int64)
            starts = np.empty(height * width, np.int64)
            sizes = np.empty(height * width, np.int64)
            counts[b] = _merge_pieces_2d(
                labels[b], n_labels, min_size, strategy == 2, out[b], comp, order, starts, sizes
            )
    return counts


_STRATEGIES = {"official": 0, "largest": 1, "split": 2}


@keeps_torch_threads
def enforce_connectivity(
    labels: np.ndarray,
    n_segments: int,
    *,
    mode: str = "largest",
    min_size_factor: float = 0.06,
    max_size_factor: float = 3.0,
    min_size: int | None = None,
) -> np.ndarray:
    """Make every superpixel one 4-connected region, merging small fragments.

    Parameters
    ----------
    labels : (H, W) or (B, H, W) ndarray of int
        Superpixel labels (any integer ids).
    n_segments : int
        The superpixel count the labels were made for; sets the size thresholds
        ``min_size = min_size_factor·H·W/n_segments`` and
        ``max_size = max_size_factor·H·W/n_segments``.
    mode : {'largest', 'split', 'official'}, optional
        ``'largest'`` keeps each label's largest piece and merges the rest;
        ``'split'`` keeps every piece of at least ``min_size`` pixels as a superpixel
        of its own and merges the smaller ones (the baselines' post-processing);
        ``'official'`` is the SSN/scikit-image post-processing (see the module notes).
    min_size_factor, max_size_factor : float, optional
        The official SSN values are 0.06 and 3 (``max_size`` applies to ``'official'``
        only).
    min_size : int, optional
        An explicit minimum piece size in pixels, instead of ``min_size_factor``.

    Returns
    -------
    out : ndarray of int32, same shape as ``labels``
        Consecutive labels ``0..n-1`` per image, each one 4-connected region.

    Raises
    ------
    ValueError
        If ``labels`` is not 2-D or 3-D, ``n_segments`` < 1 or ``mode`` is unknown.

    Examples
    --------
    >>> lab = np.array([[0, 0, 1], [1, 0, 1], [0, 0, 1]])
    >>> enforce_connectivity(lab, n_segments=2, mode="official", min_size_factor=0)
    array([[0, 0, 1],
           [2, 0, 1],
           [0, 0, 1]], dtype=int32)
    >>> enforce_connectivity(lab, n_segments=2)  # the stray piece of 1 joins label 0
    array([[0, 0, 1],
           [0, 0, 1],
           [0, 0, 1]], dtype=int32)
    """
    arr = np.asarray(labels)
    if arr.ndim not in (2, 3):
        raise ValueError(f"labels must have shape (H, W) or (B, H, W), got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"labels must be integers, got dtype {arr.dtype}")
    if n_segments < 1:
        raise ValueError(f"n_segments must be at least 1, got {n_segments}")
    if mode not in _STRATEGIES:
        raise ValueError(f"mode must be one of {sorted(_STRATEGIES)}, got {mode!r}")
    batch = arr.reshape((-1,) + arr.shape[-2:])
    if batch.size == 0:
        raise ValueError(f"labels are empty (shape {arr.shape})")
    if mode == "largest":
        # Per-label bookkeeping is an array lookup: use the ids directly when they are
        # small non-negative integers (SLIC output), else make them dense.
        lo, hi = int(batch.min()), int(batch.max())
        if lo >= 0 and hi < 4 * batch[0].size:
            n_labels = hi + 1
        else:
            uniq, dense = np.unique(batch, return_inverse=True)
            batch, n_labels = dense.reshape(batch.shape), len(uniq)
    else:
        n_labels = 0
    area = batch.shape[1] * batch.shape[2]
    if min_size is None:
        min_size = int(min_size_factor * area / n_segments)
    max_size = max(int(max_size_factor * area / n_segments), 1)
    out = np.empty(batch.shape, np.int32)
    _enforce_batch(
        np.ascontiguousarray(batch, dtype=np.int64), n_labels, min_size, max_size,
        _STRATEGIES[mode], out,
    )  # fmt: skip
    return out.reshape(arr.shape)
