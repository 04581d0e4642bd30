"""Helpers shared by the baseline methods: label post-processing, colour conversion, grids."""

from __future__ import annotations

import contextlib
import math

import numba
import numpy as np

__all__ = [
    "enforce_connectivity",
    "grid_shape",
    "relabel_consecutive",
    "rgb_to_lab",
    "to_uint8",
]


@contextlib.contextmanager
def opencv_single_thread():
    """Run OpenCV single-threaded inside the block (restores the previous setting).

    Some ximgproc code paths (LSC's connectivity enforcement) give different labels from
    run to run when OpenCV uses several threads.
    """
    import cv2

    previous = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(previous)


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` float RGB in [0, 1] → contiguous uint8 RGB (rounded)."""
    return np.ascontiguousarray(np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8))


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (D65, L in [0, 100]) of a float RGB image in [0, 1], as float64."""
    from skimage.color import rgb2lab

    return np.ascontiguousarray(rgb2lab(rgb.astype(np.float64, copy=False)))


def grid_shape(n_segments: int, height: int, width: int) -> tuple[int, int]:
    """Rows and columns ``(ny, nx)`` of a seed grid with ``ny * nx ≈ n_segments`` cells.

    The cells are as square as the image allows; ``ny <= height`` and ``nx <= width``.
    """
    ny = max(1, min(height, round(math.sqrt(n_segments * height / width))))
    nx = max(1, min(width, round(n_segments / ny)))
    return ny, nx


def grid_seeds(n_segments: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column coordinates (int64) of the centres of a :func:`grid_shape` grid."""
    ny, nx = grid_shape(n_segments, height, width)
    ys = np.floor((np.arange(ny) + 0.5) * height / ny).astype(np.int64)
    xs = np.floor((np.arange(nx) + 0.5) * width / nx).astype(np.int64)
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    return yy.ravel(), xx.ravel()


@numba.njit(cache=True)
def _relabel_consecutive(labels):
    flat = labels.ravel()
    mx = 0
    for i in range(flat.size):
        if flat[i] > mx:
            mx = flat[i]
    lut = np.full(mx + 1, -1, np.int32)
    out = np.empty(flat.size, np.int32)
    n = 0
    for i in range(flat.size):
        v = flat[i]
        if lut[v] < 0:
            lut[v] = n
            n += 1
        out[i] = lut[v]
    return out.reshape(labels.shape), n


def relabel_consecutive(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Relabel to ``0..n-1`` in raster order of first appearance; returns ``(labels, n)``.

    Labels must be non-negative integers.
    """
    labels = np.ascontiguousarray(labels)
    if labels.size and labels.min() < 0:
        raise ValueError("labels must be non-negative")
    return _relabel_consecutive(labels.astype(np.int64, copy=False))


@numba.njit(cache=True)
def _connected_components(labels):
    """4-connected components of equal labels, numbered in raster order."""
    h, w = labels.shape
    out = np.full((h, w), -1, np.int32)
    stack = np.empty(h * w, np.int64)
    n = 0
    for y0 in range(h):
        for x0 in range(w):
            if out[y0, x0] >= 0:
                continue
            lab = labels[y0, x0]
            out[y0, x0] = n
            top = 0
            stack[top] = y0 * w + x0
            top += 1
            while top > 0:
                top -= 1
                p = stack[top]
                y = p // w
                x = p - y * w
                if x > 0 and out[y, x - 1] < 0 and labels[y, x - 1] == lab:
                    out[y, x - 1] = n
                    stack[top] = p - 1
                    top += 1
                if x < w - 1 and out[y, x + 1] < 0 and labels[y, x + 1] == lab:
                    out[y, x + 1] = n
                    stack[top] = p + 1
                    top += 1
                if y > 0 and out[y - 1, x] < 0 and labels[y - 1, x] == lab:
                    out[y - 1, x] = n
                    stack[top] = p - w
                    top += 1
                if y < h - 1 and out[y + 1, x] < 0 and labels[y + 1, x] == lab:
                    out[y + 1, x] = n
                    stack[top] = p + w
                    top += 1
            n += 1
    return out, n


@numba.njit(cache=True)
def _merge_small(comp, n, min_size):
    """Merge components smaller than ``min_size`` into the adjacent component they share
    the longest border with (ties: the smallest label); repeated until none is left,
    processing small components from the smallest up."""
    h, w = comp.shape
    size = np.zeros(n, np.int64)
    for y in range(h):
        for x in range(w):
            size[comp[y, x]] += 1
    parent = np.arange(n)
    # per-component pixel lists (CSR) to find borders quickly
    start = np.zeros(n + 1, np.int64)
    for c in range(n):
        start[c + 1] = start[c] + size[c]
    fill = start[:-1].copy()
    pix = np.empty(h * w, np.int64)
    for y in range(h):
        for x in range(w):
            c = comp[y, x]
            pix[fill[c]] = y * w + x
            fill[c] += 1
    order = np.argsort(size, kind="mergesort")
    flat = comp.ravel()
    cur_size = size.copy()
    counts = np.zeros(n, np.int64)
    touched = np.empty(4 * h * w + 4, np.int64)
    for oi in range(n):
        c = order[oi]
        if size[c] >= min_size:
            break
        # root of c (c itself unless already merged into, which cannot happen: only
        # small components are merged *into* others, and merged ones keep their root)
        rc = c
        while parent[rc] != rc:
            rc = parent[rc]
        if cur_size[rc] >= min_size:
            continue
        nt = 0
        for k in range(start[c], start[c + 1]):
            p = pix[k]
            y = p // w
            x = p - y * w
            for d in range(4):
                if d == 0:
                    if x == 0:
                        continue
                    q = p - 1
                elif d == 1:
                    if x == w - 1:
                        continue
                    q = p + 1
                elif d == 2:
                    if y == 0:
                        continue
                    q = p - w
                else:
                    if y == h - 1:
                        continue
                    q = p + w
                r = flat[q]
                while parent[r] != r:
                    r = parent[r]
                if r != rc:
                    if counts[r] == 0:
                        touched[nt] = r
                        nt += 1
                    counts[r] += 1
        best = -1
        bestc = 0
        for t in range(nt):
            r = touched[t]
            if counts[r] > bestc or (counts[r] == bestc and r < best):
                best = r
                bestc = counts[r]
            counts[r] = 0
        if best >= 0:
            parent[rc] = best
            cur_size[best] += cur_size[rc]
    out = np.empty((h, w), np.int32)
    for y in range(h):
        for x in range(w):
            r = comp[y, x]
            while parent[r] != r:
                r = parent[r]
            out[y, x] = r
    return out


def enforce_connectivity(labels: np.ndarray, min_size: int = 0) -> np.ndarray:
    """Split labels into 4-connected components, merge components smaller than
    ``min_size`` pixels into their most-bordering neighbour, and relabel ``0..n-1``.

    Returns an ``int32`` label image whose regions are all connected.
    """
    labels = np.ascontiguousarray(labels)
    comp, n = _connected_components(labels.astype(np.int64, copy=False))
    if min_size > 1 and n > 1:
        comp = _merge_small(comp, n, int(min_size))
    out, _ = relabel_consecutive(comp)
    return out
