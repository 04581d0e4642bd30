"""Fused, compiled CPU kernels for SSN inference (no autograd).

The pure-PyTorch implementation in :mod:`ssn.functional` is the reference and the
training path; these numba kernels compute the same function for inference on the CPU,
several times faster, because one parallel pass over the grid cells per iteration does
the distances, the softmax and the weighted sums without materialising any
``9 × H × W`` tensor. Each cell writes its own ``9 × (C+1)`` partial sums (no atomics);
a cheap second pass reduces them into the centres. Inner loops run along image rows,
so LLVM vectorises them.

Tests check that these kernels agree with :func:`ssn.functional.differentiable_slic`
(to rounding in float64, to float32 accuracy in float32).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ssn._parallel import keeps_torch_threads
from ssn.cells import CUTOFF32, CUTOFF64, EXCLUDED_DISTANCE, cell_starts
from ssn.color import (
    LAB_LINEAR_SLOPE,
    LAB_THRESHOLD,
    RGB_TO_XYZ,
    SRGB_THRESHOLD,
    WHITE_D65,
)

# ssn.color's table as scalars, which numba compiles in as constants
(_X_R, _X_G, _X_B), (_Y_R, _Y_G, _Y_B), (_Z_R, _Z_G, _Z_B) = RGB_TO_XYZ
_WHITE_X, _WHITE_Y, _WHITE_Z = WHITE_D65

__all__ = ["rgb_to_lab_features", "slic_labels"]


@numba.njit(cache=True, inline="always", fastmath=True)
def _exp_poly(x):
    """exp(x) for x in [-46, 0] with float multiplies only (vectorisable).

    exp(x) = exp(x/128)^128: a degree-7 Taylor polynomial on [-0.36, 0] (relative error
    < 1e-8), then 7 squarings; the result is within ~1e-5 relative of exp(x) in float32.
    """
    u = x * (1.0 / 128.0)
    p = 1.0 + u * (
        1.0
        + u
        * (
            0.5
            + u
            * (
                1.0 / 6.0
                + u * (1.0 / 24.0 + u * (1.0 / 120.0 + u * (1.0 / 720.0 + u * (1.0 / 5040.0))))
            )
        )
    )
    for _ in range(7):
        p = p * p
    return p


# error_model="numpy": a division by zero gives inf/NaN instead of raising inside numba
# (a SystemError "returned a result with an exception set"); the normalisations below are
# guarded as well, so finite features never reach one.
@numba.njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def _cell_pass(blocked, count, around, nb, m, partial, best, last, fast_exp, cutoff):
    """Association of the pixels of cell ``m`` (features ``blocked[m]``, ``count[m]``
    of them) with the centres ``around[j]`` of its 9 neighbours ``nb[m, j]``: partial
    sums of the centre update, or the final argmax."""
    channels = blocked.shape[1]
    n = count[m]
    feats = blocked[m]
    one = feats[0, 0] * 0 + 1
    a = np.empty((9, channels), blocked.dtype)  # 2·s_j
    b = np.empty(9, blocked.dtype)  # -||s_j||² (huge negative when excluded)
    for j in range(9):
        k = nb[m, j]
        if k < 0:
            for c in range(channels):
                a[j, c] = 0
            b[j] = -EXCLUDED_DISTANCE * one
        else:
            sq = 0 * one
            for c in range(channels):
                a[j, c] = 2 * around[j, c]
                sq += around[j, c] * around[j, c]
            b[j] = -sq
    logits = np.empty((9, n), blocked.dtype)
    for j in range(9):
        for i in range(n):
            logits[j, i] = b[j]
        for c in range(channels):
            coef = a[j, c]
            for i in range(n):
                logits[j, i] += coef * feats[c, i]
    if last:
        for i in range(n):
            top = logits[0, i]
            arg = 0
            for j in range(1, 9):
                if logits[j, i] > top:
                    top = logits[j, i]
                    arg = j
            # an off-grid neighbour wins only if every logit is NaN (features so large
            # that their squares overflow): the cell's own superpixel, never -1
            best[m, i] = nb[m, arg] if nb[m, arg] >= 0 else nb[m, 4]
        return
    peak = logits[0, :n].copy()
    for j in range(1, 9):
        for i in range(n):
            peak[i] = max(peak[i], logits[j, i])
    total = np.zeros(n, blocked.dtype)
    # A flag rather than a function argument: numba's on-disk cache cannot key on a
    # function-typed argument, and the branch is hoisted out of the loops.
    if fast_exp:
        floor = _exp_poly(cutoff * one)
        for j in range(9):
            for i in range(n):
                w = max(_exp_poly(max(logits[j, i] - peak[i], cutoff)) - floor, 0)
                logits[j, i] = w
                total[i] += w
    else:
        floor = math.exp(cutoff * one)
        for j in range(9):
            for i in range(n):
                w = max(math.exp(max(logits[j, i] - peak[i], cutoff)) - floor, 0)
                logits[j, i] = w
                total[i] += w
    for i in range(n):
        # >= 1 - floor when the logits are finite; 0 (or NaN) once ||s||² overflows
        total[i] = 1 / total[i] if total[i] > 0 else 0 * one
    for j in range(9):
        mass = 0 * one
        for i in range(n):
            logits[j, i] *= total[i]
            mass += logits[j, i]
        partial[m, j, channels] = mass
        for c in range(channels):
            acc = 0 * one
            for i in range(n):
                acc += logits[j, i] * feats[c, i]
            partial[m, j, c] = acc


@numba.njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def _updated_centre(partial, centres, k, n_h, n_w, eps, out):
    """Centre ``k`` after a pass: the association-weighted mean of the partial sums that
    the 9 cells around it wrote for it (cell ``k - offset_j`` in its slot ``j``),
    regularised towards the centre ``centres[k]`` of that pass."""
    channels = centres.shape[1]
    cy, cx = k // n_w, k % n_w
    mass = 0.0
    sums = np.zeros(channels, np.float64)
    for j in range(9):
        sy, sx = cy - (j // 3 - 1), cx - (j % 3 - 1)
        if 0 <= sy < n_h and 0 <= sx < n_w:
            src = sy * n_w + sx
            mass += partial[src, j, channels]
            for c in range(channels):
                sums[c] += partial[src, j, c]
    if not mass + eps > 0:  # no pixel's weight (overflowed features): keep the centre
        for c in range(channels):
            out[c] = centres[k, c]
        return
    for c in range(channels):
        out[c] = (sums[c] + eps * centres[k, c]) / (mass + eps)


@numba.njit(cache=True, parallel=True, fastmath=True, error_model="numpy")
def _slic(feats, n_h, n_w, ystart, xstart, n_iter, fast_exp, cutoff):
    channels, height, width = feats.shape
    n_sp = n_h * n_w
    # Neighbour table: nb[m, j] = superpixel id of neighbour j of cell m, -1 off-grid.
    nb = np.empty((n_sp, 9), np.int64)
    for m in range(n_sp):
        cy, cx = m // n_w, m % n_w
        for j in range(9):
            ny, nx = cy + j // 3 - 1, cx + j % 3 - 1
            nb[m, j] = ny * n_w + nx if 0 <= ny < n_h and 0 <= nx < n_w else -1
    # Cell-blocked copy of the features: the pixels of a cell contiguous, so that every
    # inner loop runs over a whole cell and vectorises.
    cell_h = np.max(ystart[1:] - ystart[:-1])
    cell_w = np.max(xstart[1:] - xstart[:-1])
    blocked = np.empty((n_sp, channels, cell_h * cell_w), feats.dtype)
    count = np.empty(n_sp, np.int64)
    centres = np.empty((n_sp, channels), feats.dtype)
    for m in numba.prange(n_sp):
        cy, cx = m // n_w, m % n_w
        n = 0
        for y in range(ystart[cy], ystart[cy + 1]):
            for x in range(xstart[cx], xstart[cx + 1]):
                for c in range(channels):
                    blocked[m, c, n] = feats[c, y, x]
                n += 1
        count[m] = n
        for c in range(channels):
            acc = 0.0  # initial centre: the mean feature of the cell
            for i in range(n):
                acc += blocked[m, c, i]
            centres[m, c] = acc / max(n, 1)  # cells are never empty (cell_starts)
    # One parallel region per iteration: each cell first updates the centres of its 9
    # neighbours from the partial sums of the previous pass (a few hundred flops, done
    # by every cell that needs them) instead of a separate region for the update. On a
    # shared machine each region waits for its slowest thread, so fewer regions keep the
    # speed when another process takes a core. Partial sums and centres alternate
    # between two buffers: a pass reads the previous pass's while it writes its own.
    partial = np.empty((2, n_sp, 9, channels + 1), feats.dtype)
    centre_buffers = np.empty((2, n_sp, channels), feats.dtype)
    centre_buffers[0] = centres
    around = np.empty((n_sp, 9, channels), feats.dtype)
    best = np.empty((n_sp, cell_h * cell_w), np.int32)
    labels = np.empty((height, width), np.int32)
    eps = math.sqrt(np.finfo(feats.dtype).tiny)
    for it in range(n_iter):
        last = it == n_iter - 1
        now, before = it % 2, 1 - it % 2
        for m in numba.prange(n_sp):
            for j in range(9):
                k = nb[m, j]
                if k < 0:
                    continue
                if it == 0:
                    around[m, j] = centre_buffers[0, k]
                else:
                    _updated_centre(partial[before], centre_buffers[before], k, n_h, n_w, eps,
                                    around[m, j])  # fmt: skip
            if it > 0:
                centre_buffers[now, m] = around[m, 4]  # j = 4: the cell's own superpixel
            _cell_pass(blocked, count, around[m], nb, m, partial[now], best, last, fast_exp,
                       cutoff)  # fmt: skip
            if last:  # the cell's labels back into the image, in the same region
                cy, cx = m // n_w, m % n_w
                n = 0
                for y in range(ystart[cy], ystart[cy + 1]):
                    for x in range(xstart[cx], xstart[cx + 1]):
                        labels[y, x] = best[m, n]
                        n += 1
    centres = centre_buffers[(n_iter - 1) % 2]
    return labels, centres


@keeps_torch_threads
def slic_labels(
    features: np.ndarray, grid: tuple[int, int], n_iter: int = 10, *, fast_exp: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Hard labels of differentiable SLIC on the CPU, without autograd.

    Parameters
    ----------
    features : (C, H, W) ndarray of float32 or float64
        Pixel features (e.g. scaled XYLab).
    grid : (int, int)
        Superpixel grid ``(n_h, n_w)``.
    n_iter : int
        Iterations: ``n_iter - 1`` centre updates, then the final association.
    fast_exp : bool
        Use the vectorisable polynomial exp (float32 accuracy); ``False`` uses the
        library exp (for exact comparisons in float64).

    Returns
    -------
    labels : (H, W) ndarray of int32
        Superpixel ids before connectivity enforcement (argmax of the association).
    centres : (M, C) ndarray
        The centres used in the final association.
    """
    feats = np.ascontiguousarray(features)
    if feats.dtype not in (np.float32, np.float64):
        raise TypeError(f"features must be float32 or float64, got {feats.dtype}")
    _, height, width = feats.shape
    n_h, n_w = grid
    cutoff = CUTOFF32 if feats.dtype == np.float32 else CUTOFF64
    return _slic(
        feats, n_h, n_w, np.asarray(cell_starts(height, n_h)), np.asarray(cell_starts(width, n_w)),
        n_iter, bool(fast_exp and feats.dtype == np.float32), cutoff,
    )  # fmt: skip


@numba.njit(cache=True, parallel=True, fastmath=True)
def _lab_features(rgb, pos_scale, color_scale, out):
    height, width = rgb.shape[:2]
    for y in numba.prange(height):
        for x in range(width):
            lin = np.empty(3, np.float32)
            for c in range(3):
                v = rgb[y, x, c]
                lin[c] = ((v + 0.055) / 1.055) ** 2.4 if v > SRGB_THRESHOLD else v / 12.92
            fx = (_X_R * lin[0] + _X_G * lin[1] + _X_B * lin[2]) / _WHITE_X
            fy = (_Y_R * lin[0] + _Y_G * lin[1] + _Y_B * lin[2]) / _WHITE_Y
            fz = (_Z_R * lin[0] + _Z_G * lin[1] + _Z_B * lin[2]) / _WHITE_Z
            fx = fx ** (1.0 / 3.0) if fx > LAB_THRESHOLD else LAB_LINEAR_SLOPE * fx + 16.0 / 116.0
            fy = fy ** (1.0 / 3.0) if fy > LAB_THRESHOLD else LAB_LINEAR_SLOPE * fy + 16.0 / 116.0
            fz = fz ** (1.0 / 3.0) if fz > LAB_THRESHOLD else LAB_LINEAR_SLOPE * fz + 16.0 / 116.0
            out[0, y, x] = y * pos_scale
            out[1, y, x] = x * pos_scale
            out[2, y, x] = (116.0 * fy - 16.0) * color_scale
            out[3, y, x] = 500.0 * (fx - fy) * color_scale
            out[4, y, x] = 200.0 * (fy - fz) * color_scale


@keeps_torch_threads
def rgb_to_lab_features(rgb: np.ndarray, pos_scale: float, color_scale: float) -> np.ndarray:
    """Scaled XYLab features ``(5, H, W)`` float32 of an ``(H, W, 3)`` RGB image in [0, 1].

    The same values as :func:`ssn.functional.xylab_features` (scikit-image's Lab), to
    float32 rounding.
    """
    rgb = np.ascontiguousarray(rgb, dtype=np.float32)
    out = np.empty((5,) + rgb.shape[:2], np.float32)
    _lab_features(rgb, np.float32(pos_scale), np.float32(color_scale), out)
    return out
