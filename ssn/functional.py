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
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor

from ssn.cells import CUTOFF32, CUTOFF64, EXCLUDED_DISTANCE, cell_starts
from ssn.color import rgb_to_lab

__all__ = [
    "Association",
    "CellGrid",
    "SlicResult",
    "association_to_labels",
    "dense_slic_reference",
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

    Parameters
    ----------
    image : Tensor
        RGB image ``(B, 3, H, W)`` in [0, 1].
    grid : tuple[int, int]
        The superpixel grid ``(n_h, n_w)`` that sets the position scale.
    color_scale : float, optional
        Factor on the Lab channels (0.26 in the paper).
    eta : float, optional
        Position-scale factor (2.5 at test time in the paper).

    Returns
    -------
    Tensor
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
            starts = cell_starts(length, cells)
            # the span from the Python list: reading it from a tensor would make the GPU
            # wait for everything queued before (a host sync per forward pass)
            span = max(b - a for a, b in zip(starts[:-1], starts[1:], strict=True))
            start = torch.tensor(starts, device=device)
            size = start[1:] - start[:-1]
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


@dataclass(frozen=True)
class Association:
    """The soft pixel–superpixel association Q of differentiable SLIC, with its grid.

    ``weights[b, j, y, x]`` is the weight of pixel ``(y, x)`` for the ``j``-th of the 9
    superpixels around its initial cell (module notes); they sum to 1 over ``j``. The
    grid travels with the weights, so the mappings below cannot be given another one.

    Attributes
    ----------
    weights : Tensor
        ``(B, 9, H, W)`` tensor (differentiable).
    grid : tuple[int, int]
        The superpixel grid ``(n_h, n_w)``.
    """

    weights: Tensor
    grid: tuple[int, int]
    _cells: CellGrid | None = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        if self.weights.ndim != 4 or self.weights.shape[1] != 9:
            raise ValueError(
                f"association must have shape (B, 9, H, W), got {tuple(self.weights.shape)}"
            )
        cells = self._cells
        if cells is not None and (
            (cells.height, cells.width) != tuple(self.weights.shape[2:])
            or (cells.n_h, cells.n_w) != tuple(self.grid)
        ):
            raise ValueError(
                f"cells of a {cells.height}x{cells.width} image and grid "
                f"{(cells.n_h, cells.n_w)} do not fit association {tuple(self.weights.shape)} "
                f"with grid {tuple(self.grid)}"
            )

    def cells(self) -> CellGrid:
        """The cell layout of the image the association covers, built once: every
        mapping and loss of the same forward pass shares its index tables."""
        if self._cells is None:
            height, width = self.weights.shape[2:]
            cells = CellGrid.build(height, width, self.grid, self.weights.device)
            object.__setattr__(self, "_cells", cells)  # a cache, not a new state
        return self._cells

    def to_superpixels(self, values: Tensor) -> Tensor:
        """Pixel values ``(B, D, H, W)`` → superpixels ``(B, D, M)``; see
        :func:`pixel_to_superpixel`."""
        return pixel_to_superpixel(values, self)

    def to_pixels(self, values: Tensor) -> Tensor:
        """Superpixel values ``(B, D, M)`` → pixels ``(B, D, H, W)``; see
        :func:`superpixel_to_pixel`."""
        return superpixel_to_pixel(values, self)

    def hard_labels(self) -> Tensor:
        """Hard labels ``(B, H, W)``: the superpixel of largest weight (first on ties)."""
        return association_to_labels(self)


@dataclass(frozen=True)
class SlicResult:
    """Output of :func:`differentiable_slic`.

    Attributes
    ----------
    association : Association
        The soft :class:`Association` (weights ``(B, 9, H, W)`` and grid).
    centres : Tensor
        Superpixel centres ``(B, C, M)``, ``M = n_h · n_w``.
    labels : Tensor
        Hard labels ``(B, H, W)`` (int64 superpixel ids, before connectivity).
    """

    association: Association
    centres: Tensor
    labels: Tensor

    @property
    def grid(self) -> tuple[int, int]:
        """The superpixel grid ``(n_h, n_w)``."""
        return self.association.grid


def _cutoff(dtype: torch.dtype) -> float:
    return CUTOFF64 if dtype == torch.float64 else CUTOFF32


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


def _augment_centres(neighbours: Tensor, excluded: Tensor) -> Tensor:
    """``(B*M, 9, C)`` → ``(B*M, 9, C+1)`` rows ``[2·s, -||s||²]``.

    ``excluded`` ``(B*M, 9, 1)`` holds a huge value for out-of-grid neighbours, so that
    their logit (the product with a pixel's trailing 1) is far below any real one.
    """
    sq = (neighbours * neighbours).sum(-1, keepdim=True)
    return torch.cat((2.0 * neighbours, -(sq + excluded)), -1)


def differentiable_slic(
    features: Tensor,
    grid: tuple[int, int],
    *,
    n_iter: int = 10,
) -> SlicResult:
    """Differentiable SLIC (SSN, Jampani et al. 2018, Algorithm 1) on per-pixel features.

    1. initial centres: the mean feature of each initial grid cell;
    2. for each of ``n_iter`` iterations: the distances of every pixel to the 9
       superpixels around its cell, the soft association
       ``Q = softmax(-||f_p - s_i||²)`` over those 9, and (but after the last
       association) the centres moved to the Q-weighted mean of their pixels
       (column-normalised Q), as in the official implementation;
    3. hard labels: each pixel's superpixel of largest weight.

    :func:`dense_slic_reference` is the same algorithm written with dense N×M matrices:
    its executable specification for small images. Here pixels are grouped by cell, so
    memory is O(N·9) (module notes).

    Parameters
    ----------
    features : Tensor
        Pixel features ``(B, C, H, W)``, float32 or float64, any device.
    grid : tuple[int, int]
        Superpixel grid ``(n_h, n_w)``, e.g. from :func:`grid_shape`.
    n_iter : int, optional
        Number of iterations ``v`` (5 in training, 10 at test time).

    Returns
    -------
    SlicResult
        A :class:`SlicResult`: the :class:`Association` (weights ``(B, 9, H, W)`` and
        grid), centres ``(B, C, M)`` and hard labels ``(B, H, W)``. Gradients flow
        through the association and the centres.

    Examples
    --------
    >>> feats = torch.rand(2, 5, 30, 40)
    >>> out = differentiable_slic(feats, grid=(3, 4), n_iter=5)
    >>> out.association.weights.shape, out.centres.shape, out.labels.shape
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
    pixels = _CellPixels(features, cells)

    centres = pixels.cell_means()
    for it in range(n_iter):
        logits = pixels.negative_distances(centres)  # (B*M, 9, P), up to a per-pixel term
        weights = _NeighbourSoftmax.apply(logits)  # soft association Q
        if it < n_iter - 1:
            centres = pixels.weighted_centres(weights, centres)

    with torch.no_grad():
        best = _argmax9(weights)  # (B*M, P)
        ids = torch.gather(cells.neighbour_index.repeat(batch, 1), 1, best)
        labels = cells.from_cells(ids.unsqueeze(1), batch)[:, 0]
    association = Association(cells.from_cells(weights, batch), (cells.n_h, cells.n_w), cells)
    return SlicResult(association, centres, labels)


class _CellPixels:
    """The pixels of a batch grouped by initial cell, with what every step reuses.

    Each cell holds its ``P`` pixel slots as columns ``[f_p; 1]`` (features plus a ones
    row, zero in padding slots), so that distances and weighted sums become batched
    matrix products.
    """

    def __init__(self, features: Tensor, cells: CellGrid):
        self.cells, self.batch = cells, features.shape[0]
        dtype = features.dtype
        valid = cells.slot_valid.to(dtype).repeat(self.batch, 1).unsqueeze(1)
        ones = torch.ones_like(features[:, :1])
        self.columns = cells.to_cells(torch.cat((features, ones), dim=1)) * valid  # (BM, C+1, P)
        self.rows = self.columns.transpose(1, 2)
        # out-of-grid neighbours: a distance far beyond the softmax cutoff
        excluded = (~cells.neighbour_valid).to(dtype).repeat(self.batch, 1).unsqueeze(-1)
        self.excluded = excluded * EXCLUDED_DISTANCE

    def cell_means(self) -> Tensor:
        """The initial centres ``(B, C, M)``: the mean feature of every cell."""
        sums = self.columns.sum(dim=2).view(self.batch, self.cells.n_superpixels, -1)
        sums = sums.transpose(1, 2)
        return sums[:, :-1] / sums[:, -1:]

    def negative_distances(self, centres: Tensor) -> Tensor:
        """``-||f_p - s_i||²`` for the 9 neighbours ``i`` of every pixel's cell, without
        the ``-||f_p||²`` term shared by the 9 (it cancels in the softmax)."""
        neighbours = self.cells.gather_neighbours(centres)
        return torch.bmm(_augment_centres(neighbours, self.excluded), self.columns)

    def weighted_centres(self, weights: Tensor, previous: Tensor) -> Tensor:
        """Centres as the Q-weighted mean of their pixels (column-normalised Q).

        A centre that receives no weight keeps its previous value instead of dividing by 0.
        """
        sums = self.cells.scatter_neighbours(torch.bmm(weights, self.rows), self.batch)
        mass = sums[:, -1:]
        eps = torch.finfo(sums.dtype).tiny ** 0.5
        return (sums[:, :-1] + eps * previous) / (mass + eps)


def dense_slic_reference(
    features: Tensor, grid: tuple[int, int], n_iter: int
) -> tuple[Tensor, Tensor]:
    """Algorithm 1 with dense ``N × M`` matrices: the specification of
    :func:`differentiable_slic` (tested equal to it), for small images only.

    Returns the dense association ``(B, N, M)`` (zero outside each pixel's 9
    neighbours) and the centres ``(B, C, M)``.
    """
    batch, channels, height, width = features.shape
    n_h, n_w = grid
    own = initial_labels(height, width, grid, features.device).reshape(-1)  # (N,)
    ids = torch.arange(n_h * n_w, device=features.device)
    allowed = ((own[:, None] // n_w - ids[None] // n_w).abs() <= 1) & (
        (own[:, None] % n_w - ids[None] % n_w).abs() <= 1
    )  # (N, M): the 9 superpixels around each pixel's cell
    flat = features.reshape(batch, channels, -1)  # (B, C, N)
    members = F.one_hot(own, n_h * n_w).to(features.dtype)  # (N, M)
    centres = flat @ members / members.sum(0)  # cell means
    for it in range(n_iter):
        distances = ((flat[:, :, :, None] - centres[:, :, None, :]) ** 2).sum(1)  # (B, N, M)
        q = torch.softmax(-distances.masked_fill(~allowed, math.inf), dim=2)
        if it < n_iter - 1:
            centres = flat @ q / q.sum(1, keepdim=True)
    return q, centres


def _argmax9(weights: Tensor) -> Tensor:
    """Index of the largest of 9 along dim 1 (first on ties), by running comparisons."""
    best = weights[:, 0]
    index = torch.zeros_like(best, dtype=torch.int64)
    for j in range(1, weights.shape[1]):
        better = weights[:, j] > best
        best = torch.where(better, weights[:, j], best)
        index = torch.where(better, j, index)
    return index


# -- pixel <-> superpixel mappings ------------------------------------------------------


def pixel_to_superpixel(values: Tensor, association: Association) -> Tensor:
    """Map pixel values to superpixels with the column-normalised association.

    ``v_i = Σ_p Q_pi x_p / Σ_p Q_pi``.

    Parameters
    ----------
    values : Tensor
        Pixel values ``(B, D, H, W)``.
    association : Association
        From :func:`differentiable_slic` (``SlicResult.association``).

    Returns
    -------
    Tensor
        Superpixel values ``(B, D, M)``; a superpixel with no weight gets 0.
    """
    weights = association.weights
    if values.shape[0] != weights.shape[0] or values.shape[2:] != weights.shape[2:]:
        raise ValueError(
            f"values {tuple(values.shape)} and association {tuple(weights.shape)} "
            "must share batch size and H×W"
        )
    cells, batch = association.cells(), values.shape[0]
    valid_slots = cells.slot_valid.to(values.dtype).repeat(batch, 1).unsqueeze(1)
    ones = torch.ones_like(values[:, :1])
    vals = cells.to_cells(torch.cat((values, ones), dim=1)) * valid_slots  # (BM, D+1, P)
    sums = cells.scatter_neighbours(torch.bmm(cells.to_cells(weights), vals.transpose(1, 2)), batch)
    return sums[:, :-1] / sums[:, -1:].clamp(min=torch.finfo(sums.dtype).tiny)


def superpixel_to_pixel(values: Tensor, association: Association) -> Tensor:
    """Map superpixel values to pixels with the row-normalised association.

    ``x_p = Σ_i Q_pi v_i`` over the 9 neighbours of the pixel's cell (rows of ``Q`` sum
    to 1 already).

    Parameters
    ----------
    values : Tensor
        Superpixel values ``(B, D, M)``.
    association : Association
        From :func:`differentiable_slic`.

    Returns
    -------
    Tensor
        Pixel values ``(B, D, H, W)``.
    """
    cells, batch = association.cells(), values.shape[0]
    if values.ndim != 3 or values.shape[2] != cells.n_superpixels:
        raise ValueError(
            f"values must have shape (B, D, {cells.n_superpixels}), got {tuple(values.shape)}"
        )
    neighbours = cells.gather_neighbours(values)  # (BM, 9, D)
    weights = cells.to_cells(association.weights)  # (BM, 9, P)
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


def association_to_labels(association: Association) -> Tensor:
    """Hard labels ``(B, H, W)`` of an association (argmax over the 9, first on ties)."""
    weights, (n_h, n_w) = association.weights, association.grid
    best = _argmax9(weights)  # (B, H, W)
    own = initial_labels(weights.shape[2], weights.shape[3], (n_h, n_w), weights.device)
    dy = torch.tensor([o[0] for o in NEIGHBOUR_OFFSETS], device=weights.device)
    dx = torch.tensor([o[1] for o in NEIGHBOUR_OFFSETS], device=weights.device)
    return own + dy[best] * n_w + dx[best]
