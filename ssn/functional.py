"""Differentiable SLIC and the pixel↔superpixel mappings, as pure tensor functions.

Layout. Every pixel is compared only with the 9 superpixels around its *initial* grid
cell, so all pixels of one cell share the same 9 candidate centres. The functions here
therefore regroup pixels by cell ("cell-blocked" layout, ``(B*M, ..., P)`` with ``P`` the
largest cell size) and express distances and centre updates as batched matrix products.
Memory is O(N·9 + M·C); no dense N×M matrix is ever built.

Neighbour order (the 9 of the association): ``j = 3 * (dy + 1) + (dx + 1)`` for
``dy, dx ∈ {-1, 0, 1}``, as in the official implementation; ``j = 4`` is the pixel's own
initial cell. Superpixel ids are row-major over the ``n_h × n_w`` grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from ssn.cells import cell_starts
from ssn.color import rgb_to_lab

__all__ = [
    "CellGrid",
    "SlicResult",
    "association_to_labels",
    "differentiable_slic",
    "grid_shape",
    "hard_pixel_to_superpixel",
    "hard_superpixel_to_pixel",
    "initial_labels",
    "pixel_to_superpixel",
    "position_features",
    "position_scale",
    "superpixel_to_pixel",
    "xylab_features",
]

NEIGHBOUR_OFFSETS = tuple((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1))
COLOR_SCALE = 0.26
ETA = 2.5


def grid_shape(n_segments: int, height: int, width: int) -> tuple[int, int]:
    """Superpixel grid ``(n_h, n_w)`` for a requested count, as in the official code.

    ``n_w = floor(sqrt(K·W/H))`` and ``n_h = floor(sqrt(K·H/W))``. The realised count
    ``n_h·n_w`` is usually a little below K (481×321, K = 100 gives 12×8 = 96). When
    one side would get no cell (very elongated images or K < aspect ratio), that side
    gets 1 cell and the other ``min(K, length)``, so the count never exceeds K.
    """
    if n_segments < 1:
        raise ValueError(f"n_segments must be at least 1, got {n_segments}")
    n_w = int(math.floor(math.sqrt(n_segments * width / height)))
    n_h = int(math.floor(math.sqrt(n_segments * height / width)))
    if n_h < 1:
        n_h, n_w = 1, min(n_segments, width)
    elif n_w < 1:
        n_h, n_w = min(n_segments, height), 1
    return min(n_h, height), min(n_w, width)


def position_scale(grid: tuple[int, int], height: int, width: int, eta: float = ETA) -> float:
    """Scale of the (y, x) features: ``eta · max(n_w / W, n_h / H)``."""
    n_h, n_w = grid
    return eta * max(n_w / width, n_h / height)


def xylab_features(
    image: Tensor,
    grid: tuple[int, int],
    *,
    color_scale: float = COLOR_SCALE,
    eta: float = ETA,
) -> Tensor:
    """Scaled XYLab pixel features in the official channel order ``(y, x, L, a, b)``.

    Args:
        image: RGB image ``(B, 3, H, W)`` in [0, 1].
        grid: the superpixel grid ``(n_h, n_w)`` that sets the position scale.
        color_scale: factor on the Lab channels (0.26 in the paper).
        eta: position-scale factor (2.5 at test time in the paper).

    Returns:
        Features ``(B, 5, H, W)`` on the device and in the dtype of ``image``.
    """
    positions = position_features(image, grid, eta=eta)
    return torch.cat((positions, rgb_to_lab(image) * color_scale), dim=1)


def position_features(like: Tensor, grid: tuple[int, int], *, eta: float = ETA) -> Tensor:
    """The scaled ``(y, x)`` channels ``(B, 2, H, W)`` of XYLab features for ``like``
    (any ``(B, C, H, W)`` tensor, whose batch, size, dtype and device they take)."""
    batch, _, height, width = like.shape
    scale = position_scale(grid, height, width, eta)
    ys = torch.arange(height, dtype=like.dtype, device=like.device) * scale
    xs = torch.arange(width, dtype=like.dtype, device=like.device) * scale
    yy = ys.view(1, 1, height, 1).expand(batch, 1, height, width)
    xx = xs.view(1, 1, 1, width).expand(batch, 1, height, width)
    return torch.cat((yy, xx), dim=1)


@dataclass(frozen=True)
class CellGrid:
    """Index tables that regroup the pixels of an ``H × W`` image by initial grid cell.

    Pixel ``(y, x)`` starts in cell ``(floor(y·n_h/H), floor(x·n_w/W))``; cells differ in
    size by at most one row/column, so each is padded to ``P = cell_h · cell_w`` slots.
    """

    height: int
    width: int
    n_h: int
    n_w: int
    cell_h: int
    cell_w: int
    slot_pixel: Tensor  # (M*P,) flat pixel index of each slot (padding repeats a pixel)
    slot_valid: Tensor  # (M, P) bool
    pixel_slot: Tensor  # (H*W,) slot index of each pixel
    neighbour_index: Tensor  # (M, 9) superpixel id of each neighbour (0 where invalid)
    neighbour_valid: Tensor  # (M, 9) bool

    @property
    def n_superpixels(self) -> int:
        return self.n_h * self.n_w

    @property
    def slots(self) -> int:
        return self.cell_h * self.cell_w

    @staticmethod
    def build(height: int, width: int, grid: tuple[int, int], device=None) -> CellGrid:
        n_h, n_w = grid
        if not (1 <= n_h <= height and 1 <= n_w <= width):
            raise ValueError(f"grid {grid} does not fit a {height}x{width} image")

        def axis(length: int, cells: int):
            start = torch.tensor(cell_starts(length, cells), device=device)
            size = start[1:] - start[:-1]
            span = int(size.max())
            offset = torch.arange(span, device=device)
            valid = offset[None, :] < size[:, None]  # (cells, span)
            coord = start[:-1, None] + torch.minimum(offset[None, :], size[:, None] - 1)
            owner = torch.arange(length, device=device) * cells // length
            return coord, valid, owner, start, span

        ys, yvalid, ycell, ystart, cell_h = axis(height, n_h)
        xs, xvalid, xcell, xstart, cell_w = axis(width, n_w)
        # slot (cy, cx, a, b) -> pixel (ys[cy, a], xs[cx, b])
        slot_pixel = (ys[:, None, :, None] * width + xs[None, :, None, :]).reshape(-1)
        slot_valid = (yvalid[:, None, :, None] & xvalid[None, :, None, :]).reshape(
            n_h * n_w, cell_h * cell_w
        )
        py = torch.arange(height, device=device)
        px = torch.arange(width, device=device)
        a = py - ystart[ycell]
        b = px - xstart[xcell]
        pixel_slot = (
            ((ycell[:, None] * n_w + xcell[None, :]) * cell_h + a[:, None]) * cell_w + b[None, :]
        ).reshape(-1)

        cy = torch.arange(n_h, device=device).view(n_h, 1, 1)
        cx = torch.arange(n_w, device=device).view(1, n_w, 1)
        dy = torch.tensor([o[0] for o in NEIGHBOUR_OFFSETS], device=device).view(1, 1, 9)
        dx = torch.tensor([o[1] for o in NEIGHBOUR_OFFSETS], device=device).view(1, 1, 9)
        ny, nx = cy + dy, cx + dx
        valid = (ny >= 0) & (ny < n_h) & (nx >= 0) & (nx < n_w)
        index = torch.where(valid, ny * n_w + nx, 0)
        return CellGrid(
            height, width, n_h, n_w, cell_h, cell_w,
            slot_pixel, slot_valid, pixel_slot,
            index.reshape(-1, 9), valid.reshape(-1, 9),
        )  # fmt: skip

    # -- layout conversions ---------------------------------------------------------
    def to_cells(self, x: Tensor) -> Tensor:
        """``(B, D, H, W)`` → ``(B*M, D, P)``; padding slots repeat a pixel of the cell."""
        batch, depth = x.shape[:2]
        cells = x.reshape(batch, depth, -1).index_select(2, self.slot_pixel)
        cells = cells.view(batch, depth, self.n_superpixels, self.slots)
        return cells.transpose(1, 2).reshape(batch * self.n_superpixels, depth, self.slots)

    def from_cells(self, x: Tensor, batch: int) -> Tensor:
        """``(B*M, D, P)`` → ``(B, D, H, W)``, dropping padding slots."""
        depth = x.shape[1]
        flat = x.view(batch, self.n_superpixels, depth, self.slots).transpose(1, 2)
        flat = flat.reshape(batch, depth, self.n_superpixels * self.slots)
        return flat.index_select(2, self.pixel_slot).view(batch, depth, self.height, self.width)

    def gather_neighbours(self, values: Tensor) -> Tensor:
        """Superpixel values ``(B, D, M)`` → ``(B*M, 9, D)`` for each cell's 9 neighbours.

        Invalid (out-of-grid) neighbours read zeros; callers mask them.
        """
        batch, depth = values.shape[:2]
        padded = F.pad(values.view(batch, depth, self.n_h, self.n_w), (1, 1, 1, 1))
        shifted = [
            padded[:, :, 1 + dy : 1 + dy + self.n_h, 1 + dx : 1 + dx + self.n_w]
            for dy, dx in NEIGHBOUR_OFFSETS
        ]
        stacked = torch.stack(shifted, dim=2)  # (B, D, 9, n_h, n_w)
        return stacked.permute(0, 3, 4, 2, 1).reshape(batch * self.n_superpixels, 9, depth)

    def scatter_neighbours(self, partial: Tensor, batch: int) -> Tensor:
        """Per-cell contributions ``(B*M, 9, D)`` to each neighbour → sums ``(B, D, M)``.

        The transpose of :meth:`gather_neighbours`. Written as 9 shifted additions rather
        than ``index_add`` so that it is deterministic on CUDA as well.
        """
        depth = partial.shape[2]
        grid = partial.view(batch, self.n_h, self.n_w, 9, depth).permute(0, 3, 4, 1, 2)
        total = partial.new_zeros(batch, depth, self.n_h + 2, self.n_w + 2)
        for j, (dy, dx) in enumerate(NEIGHBOUR_OFFSETS):
            total[:, :, 1 + dy : 1 + dy + self.n_h, 1 + dx : 1 + dx + self.n_w] += grid[:, j]
        return total[:, :, 1:-1, 1:-1].reshape(batch, depth, self.n_superpixels)


class SlicResult(NamedTuple):
    """Output of :func:`differentiable_slic`.

    Attributes:
        association: soft association ``(B, 9, H, W)``, rows sum to 1 over the 9.
        centres: superpixel centres ``(B, C, M)``, ``M = n_h · n_w``.
        labels: hard labels ``(B, H, W)`` (int64 superpixel ids, before connectivity).
        grid: the superpixel grid ``(n_h, n_w)``.
    """

    association: Tensor
    centres: Tensor
    labels: Tensor
    grid: tuple[int, int]


# Distance added for out-of-grid neighbours (the official layer uses 10000; any value far
# beyond the cutoff excludes them exactly).
_EXCLUDED_DISTANCE = 1e9


def _cutoff(dtype: torch.dtype) -> float:
    # exp(-d) below ~1e-20 (float32) changes no result but turns into denormals, which
    # are very slow on x86; float64 keeps (almost) the exact softmax.
    return -46.0 if dtype in (torch.float32, torch.float16, torch.bfloat16) else -690.0


class _NeighbourSoftmax(torch.autograd.Function):
    """Softmax over the 9 neighbours (dim 1) that flushes weights below the cutoff to
    exactly zero; saves only its output for backward. Excluded (out-of-grid) neighbours
    arrive with a logit of -inf-like size (see :func:`_augment_centres`)."""

    @staticmethod
    def forward(ctx, logits: Tensor) -> Tensor:
        cutoff = _cutoff(logits.dtype)
        # Running maximum: far faster on CPU than amax over a dimension of size 9.
        peak = logits[:, 0]
        for j in range(1, logits.shape[1]):
            peak = torch.maximum(peak, logits[:, j])
        weights = torch.sub(logits, peak.unsqueeze(1)).clamp_(min=cutoff).exp_()
        # Subtracting exp(cutoff) makes clamped (and excluded) weights exactly 0 without
        # a masking pass; the change to the others is below 1e-20 relative.
        weights.sub_(math.exp(cutoff)).clamp_(min=0.0)
        weights /= weights.sum(dim=1, keepdim=True)
        ctx.save_for_backward(weights)
        return weights

    @staticmethod
    def backward(ctx, grad: Tensor):
        (weights,) = ctx.saved_tensors
        return weights * (grad - (weights * grad).sum(dim=1, keepdim=True))


def _association_logits(centres_aug: Tensor, cells_aug: Tensor) -> Tensor:
    # -||f - s||^2 = 2 f·s - ||s||^2 - ||f||^2; the last term is the same for all 9
    # candidates of a pixel and cancels in the softmax, so it is never computed.
    return torch.bmm(centres_aug, cells_aug)


def _augment_centres(neighbours: Tensor, excluded: Tensor) -> Tensor:
    """``(B*M, 9, C)`` → ``(B*M, 9, C+1)`` rows ``[2·s, -||s||²]``.

    ``excluded`` ``(B*M, 9, 1)`` holds a huge value for out-of-grid neighbours, so that
    their logit (the product with a pixel's trailing 1) is far below any real one.
    """
    sq = (neighbours * neighbours).sum(-1, keepdim=True)
    return torch.cat((2.0 * neighbours, -(sq + excluded)), -1)


def _update_centres(
    weights: Tensor, cells_aug_t: Tensor, grid: CellGrid, batch: int, previous: Tensor
) -> Tensor:
    """Centres as the Q-weighted mean of their pixels (column-normalised Q).

    A centre that receives no weight keeps its previous value instead of dividing by 0.
    """
    sums = grid.scatter_neighbours(torch.bmm(weights, cells_aug_t), batch)  # (B, C+1, M)
    mass = sums[:, -1:]
    eps = torch.finfo(sums.dtype).tiny ** 0.5
    return (sums[:, :-1] + eps * previous) / (mass + eps)


def _argmax9(weights: Tensor) -> Tensor:
    """Index of the largest of 9 along dim 1 (first on ties), by running comparisons."""
    best = weights[:, 0]
    index = torch.zeros_like(best, dtype=torch.int64)
    for j in range(1, weights.shape[1]):
        better = weights[:, j] > best
        best = torch.where(better, weights[:, j], best)
        index = torch.where(better, j, index)
    return index


def differentiable_slic(
    features: Tensor,
    grid: tuple[int, int],
    *,
    n_iter: int = 10,
) -> SlicResult:
    """Differentiable SLIC (SSN, Jampani et al. 2018) on per-pixel features.

    Centres start as the mean feature of each initial grid cell. Each iteration
    associates every pixel softly with the 9 superpixels around its initial cell,
    ``Q = softmax(-||f_p - s_i||²)``, and (except after the last association) moves the
    centres to the Q-weighted mean of their pixels. ``n_iter`` associations and
    ``n_iter - 1`` centre updates are made, as in the official implementation.

    Args:
        features: pixel features ``(B, C, H, W)``, float32 or float64, any device.
        grid: superpixel grid ``(n_h, n_w)``, e.g. from :func:`grid_shape`.
        n_iter: number of iterations ``v`` (5 in training, 10 at test time).

    Returns:
        A :class:`SlicResult` of association ``(B, 9, H, W)``, centres ``(B, C, M)``,
        hard labels ``(B, H, W)`` and the grid. Gradients flow through association and
        centres.

    Example:
        >>> feats = torch.rand(2, 5, 30, 40)
        >>> out = differentiable_slic(feats, grid=(3, 4), n_iter=5)
        >>> out.association.shape, out.centres.shape, out.labels.shape
        (torch.Size([2, 9, 30, 40]), torch.Size([2, 5, 12]), torch.Size([2, 30, 40]))
    """
    if features.ndim != 4:
        raise ValueError(f"features must have shape (B, C, H, W), got {tuple(features.shape)}")
    if not features.is_floating_point():
        raise TypeError(f"features must be floating point, got {features.dtype}")
    if n_iter < 1:
        raise ValueError(f"n_iter must be at least 1, got {n_iter}")
    batch, _, height, width = features.shape
    cells = CellGrid.build(height, width, grid, device=features.device)
    valid_slots = cells.slot_valid.to(features.dtype).repeat(batch, 1).unsqueeze(1)
    ones = torch.ones_like(features[:, :1])
    # (B*M, C+1, P): features plus a ones row (for the mass), zero in padding slots.
    cells_aug = cells.to_cells(torch.cat((features, ones), dim=1)) * valid_slots
    cells_aug_t = cells_aug.transpose(1, 2)
    sums = cells_aug.sum(dim=2).view(batch, cells.n_superpixels, -1).transpose(1, 2)
    centres = sums[:, :-1] / sums[:, -1:]
    excluded = (~cells.neighbour_valid).to(features.dtype).repeat(batch, 1).unsqueeze(-1)
    excluded = excluded * _EXCLUDED_DISTANCE

    for it in range(n_iter):
        neighbours = cells.gather_neighbours(centres)
        logits = _association_logits(_augment_centres(neighbours, excluded), cells_aug)
        weights = _NeighbourSoftmax.apply(logits)  # (B*M, 9, P)
        if it < n_iter - 1:
            centres = _update_centres(weights, cells_aug_t, cells, batch, centres)

    with torch.no_grad():
        best = _argmax9(weights)  # (B*M, P)
        ids = torch.gather(cells.neighbour_index.repeat(batch, 1), 1, best)
        labels = cells.from_cells(ids.unsqueeze(1), batch)[:, 0]
    association = cells.from_cells(weights, batch)
    return SlicResult(association, centres, labels, (cells.n_h, cells.n_w))


# -- pixel <-> superpixel mappings ------------------------------------------------------


def _check_association(association: Tensor, grid: tuple[int, int]) -> CellGrid:
    if association.ndim != 4 or association.shape[1] != 9:
        raise ValueError(
            f"association must have shape (B, 9, H, W), got {tuple(association.shape)}"
        )
    return CellGrid.build(association.shape[2], association.shape[3], grid, association.device)


def pixel_to_superpixel(values: Tensor, association: Tensor, grid: tuple[int, int]) -> Tensor:
    """Map pixel values to superpixels with the column-normalised association.

    ``v_i = Σ_p Q_pi x_p / Σ_p Q_pi``.

    Args:
        values: pixel values ``(B, D, H, W)``.
        association: soft association ``(B, 9, H, W)`` from :func:`differentiable_slic`.
        grid: the superpixel grid ``(n_h, n_w)``.

    Returns:
        Superpixel values ``(B, D, M)``; a superpixel with no weight gets 0.
    """
    cells = _check_association(association, grid)
    batch = values.shape[0]
    if values.shape[0] != association.shape[0] or values.shape[2:] != association.shape[2:]:
        raise ValueError(
            f"values {tuple(values.shape)} and association {tuple(association.shape)} "
            "must share batch size and H×W"
        )
    valid_slots = cells.slot_valid.to(values.dtype).repeat(batch, 1).unsqueeze(1)
    ones = torch.ones_like(values[:, :1])
    vals = cells.to_cells(torch.cat((values, ones), dim=1)) * valid_slots  # (BM, D+1, P)
    weights = cells.to_cells(association)  # (BM, 9, P)
    sums = cells.scatter_neighbours(torch.bmm(weights, vals.transpose(1, 2)), batch)
    return sums[:, :-1] / sums[:, -1:].clamp(min=torch.finfo(sums.dtype).tiny)


def superpixel_to_pixel(values: Tensor, association: Tensor, grid: tuple[int, int]) -> Tensor:
    """Map superpixel values to pixels with the row-normalised association.

    ``x_p = Σ_i Q_pi v_i`` over the 9 neighbours of the pixel's cell (rows of ``Q`` sum
    to 1 already).

    Args:
        values: superpixel values ``(B, D, M)``.
        association: soft association ``(B, 9, H, W)``.
        grid: the superpixel grid ``(n_h, n_w)``.

    Returns:
        Pixel values ``(B, D, H, W)``.
    """
    cells = _check_association(association, grid)
    batch = values.shape[0]
    if values.ndim != 3 or values.shape[2] != cells.n_superpixels:
        raise ValueError(
            f"values must have shape (B, D, {cells.n_superpixels}), got {tuple(values.shape)}"
        )
    neighbours = cells.gather_neighbours(values)  # (BM, 9, D)
    weights = cells.to_cells(association)  # (BM, 9, P)
    return cells.from_cells(torch.bmm(neighbours.transpose(1, 2), weights), batch)


def hard_pixel_to_superpixel(values: Tensor, labels: Tensor, n_superpixels: int) -> Tensor:
    """Mean of the pixel values ``(B, D, H, W)`` inside each hard superpixel → ``(B, D, M)``.

    Empty superpixels get 0. Differentiable with respect to ``values``.
    """
    batch, depth = values.shape[:2]
    if labels.shape != (batch, *values.shape[2:]):
        raise ValueError(
            f"labels {tuple(labels.shape)} must have shape (B, H, W) of values {tuple(values.shape)}"
        )
    flat = labels.reshape(batch, 1, -1)
    sums = values.new_zeros(batch, depth, n_superpixels).scatter_add_(
        2, flat.expand(batch, depth, -1), values.reshape(batch, depth, -1)
    )
    counts = values.new_zeros(batch, 1, n_superpixels).scatter_add_(
        2, flat, torch.ones_like(flat, dtype=values.dtype)
    )
    return sums / counts.clamp(min=1)


def hard_superpixel_to_pixel(values: Tensor, labels: Tensor) -> Tensor:
    """Broadcast superpixel values ``(B, D, M)`` to pixels by hard labels ``(B, H, W)``."""
    batch, depth = values.shape[:2]
    flat = labels.reshape(batch, 1, -1).expand(batch, depth, -1)
    return torch.gather(values, 2, flat).view(batch, depth, *labels.shape[1:])


def initial_labels(height: int, width: int, grid: tuple[int, int], device=None) -> Tensor:
    """The initial grid-cell id of every pixel, ``(H, W)`` int64."""
    n_h, n_w = grid
    ys = torch.arange(height, device=device) * n_h // height
    xs = torch.arange(width, device=device) * n_w // width
    return ys[:, None] * n_w + xs[None, :]


def association_to_labels(association: Tensor, grid: tuple[int, int]) -> Tensor:
    """Hard labels ``(B, H, W)`` from an association ``(B, 9, H, W)`` (argmax over the 9)."""
    cells = _check_association(association, grid)
    best = _argmax9(association)  # (B, H, W)
    own = initial_labels(cells.height, cells.width, grid, association.device)
    dy = torch.tensor([o[0] for o in NEIGHBOUR_OFFSETS], device=association.device)
    dx = torch.tensor([o[1] for o in NEIGHBOUR_OFFSETS], device=association.device)
    return own + dy[best] * cells.n_w + dx[best]
