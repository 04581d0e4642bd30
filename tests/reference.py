"""Slow, obviously-correct reference implementations used only by the tests."""

from __future__ import annotations

import numpy as np
import torch

from ssn.functional import initial_labels


def sparse_to_dense(association: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """``(B, 9, H, W)`` association → dense ``(B, N, M)`` by explicit loops over the 9."""
    batch, _, height, width = association.shape
    n_h, n_w = grid
    own = initial_labels(height, width, grid).reshape(-1)
    dense = association.new_zeros(batch, height * width, n_h * n_w)
    pixels = torch.arange(height * width)
    for j, (dy, dx) in enumerate((a, b) for a in (-1, 0, 1) for b in (-1, 0, 1)):
        cy, cx = own // n_w + dy, own % n_w + dx
        ok = (cy >= 0) & (cy < n_h) & (cx >= 0) & (cx < n_w)
        dense[:, pixels[ok], (cy * n_w + cx)[ok]] = association[:, j].reshape(batch, -1)[:, ok]
    return dense


def asa(superpixels: np.ndarray, ground_truth: np.ndarray) -> float:
    """Achievable segmentation accuracy by a loop over superpixels."""
    total = 0
    for s in np.unique(superpixels):
        _, counts = np.unique(ground_truth[superpixels == s], return_counts=True)
        total += counts.max()
    return total / superpixels.size


def onehot(segments, max_segments: int = 50):
    """The official one-hot encoding of segment indices (-1: an all-zero vector), channels
    first; numpy in, numpy float32 out, torch in, torch float32 out."""
    as_torch = torch.is_tensor(segments)
    indices = np.asarray(segments.cpu() if as_torch else segments)
    out = np.zeros((*indices.shape[:-2], max_segments, *indices.shape[-2:]), np.float32)
    for channel in range(max_segments):
        out[..., channel, :, :] = indices == channel
    return torch.from_numpy(out) if as_torch else out
