"""The LNSNet network (Zhu et al., CVPR 2021) in PyTorch: features, seeds, assignment.

Written from the paper [1]_ and the facts of the released BSDS500 checkpoint (the
authors' repository has no licence: none of its code is copied here). The module and
parameter names are those of the checkpoint, so that its state dict loads with
``strict=True``; ``generater`` (sic) and ``grm`` are its spellings.

The pipeline on a ``(B, 5, H, W)`` input (:func:`lnsnet_input`) with ``H <= W``:

1. :class:`Embedder`: 20-d features per pixel.
2. :class:`SeedHead`: the features average-pooled to a grid of cells
   (:func:`cell_size`), then a seed logit and a row and column shift per cell
   (:func:`seed_positions`): one seed pixel per cell.
3. Assignment: each pixel joins the seed of largest Student-t similarity
   :func:`student_t` (α = 1, normalised over the seeds), i.e. the seed nearest in
   feature space: against every seed (:func:`assign_dense`, N·K distances, by one
   matrix product and an exact check of near ties) or against the seeds lying in the
   (2r+1)×(2r+1) cells around the pixel's cell (:func:`assign_local`, N·(2r+1)²·m
   distances with m seeds per cell at most; a different arg-max on 4-15 % of the
   pixels of BSDS500 images at r = 1, as the learnt features let pixels join distant
   seeds).

Connectivity is enforced afterwards, on the numpy side (:mod:`baselines.lnsnet`).

References
----------
.. [1] L. Zhu, Q. She, B. Zhang, Y. Lu, Z. Lu, D. Li, J. Hu. Learning the superpixel
   in a non-iterative and lifelong manner. CVPR 2021. arXiv:2103.10681
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "CENTRES",
    "Embedder",
    "LNSNet",
    "SeedHead",
    "assign_dense",
    "assign_local",
    "cell_size",
    "grid_centres",
    "lnsnet_input",
    "seed_positions",
    "student_t",
]

#: how a cell's unshifted seed pixel is placed (see :func:`grid_centres`)
CENTRES = ("official", "centred")

# Below this the standard deviation of an input channel is taken as this: a constant
# channel (a grayscale image's a and b, the row position of a 1-row image) would
# otherwise be divided by zero, and a channel of rounding noise blown up to unit
# variance. It is 1/1000 of the scaled Lab range: real images' channels are far above.
_MIN_STD = 1e-3


def lnsnet_input(lab: Tensor) -> Tensor:
    """LNSNet's input: Lab and positions, each channel standardised over the image.

    Parameters
    ----------
    lab : Tensor
        CIE-Lab image ``(B, 3, H, W)`` (L in [0, 100], scikit-image's ``rgb2lab``).

    Returns
    -------
    Tensor
        ``(B, 5, H, W)``: ``L/128, a/256, b/256, y/H - 0.5, x/W - 0.5``, each channel
        then shifted and scaled to mean 0 and (unbiased) standard deviation 1 over the
        image, as the authors' preprocessing does; device and dtype of ``lab``.

    Notes
    -----
    The standardisation cancels the per-channel scales; they are kept to state the
    authors' recipe. A standard deviation below ``1e-3`` is taken as ``1e-3`` (a flat
    channel stays 0 instead of dividing by zero).
    """
    if lab.ndim != 4 or lab.shape[1] != 3:
        raise ValueError(f"lab must have shape (B, 3, H, W), got {tuple(lab.shape)}")
    b, _, h, w = lab.shape
    scale = torch.tensor((128.0, 256.0, 256.0), device=lab.device, dtype=lab.dtype)
    rows = torch.arange(h, device=lab.device, dtype=lab.dtype) / h - 0.5
    cols = torch.arange(w, device=lab.device, dtype=lab.dtype) / w - 0.5
    x = torch.cat(
        [
            lab / scale.view(1, 3, 1, 1),
            rows.view(1, 1, h, 1).expand(b, 1, h, w),
            cols.view(1, 1, 1, w).expand(b, 1, h, w),
        ],
        dim=1,
    )
    mean = x.mean(dim=(2, 3), keepdim=True)
    std = x.std(dim=(2, 3), keepdim=True) if h * w > 1 else torch.zeros_like(mean)
    return (x - mean) / std.clamp(min=_MIN_STD)


class Embedder(nn.Module):
    """Feature embedder: ``(B, 5, H, W)`` → ``(B, 20, H, W)``, ``H, W >= 2``.

    Three 3×3 convolutions of the reflection-padded input (the third dilated by 2, with
    one more pixel of zeros), concatenated after the input (35 channels) →
    InstanceNorm → ReLU → reflection pad → conv 35→10 (``c1_4``) → InstanceNorm →
    ReLU; concatenated before the input (15 channels) → reflection pad → conv 15→20 →
    InstanceNorm → ReLU. Every InstanceNorm is affine and uses the image's own
    statistics.
    """

    def __init__(self):
        super().__init__()
        self.c1_1 = nn.Conv2d(5, 10, 3)
        self.c1_2 = nn.Conv2d(5, 10, 3)
        # padding 1 on top of the reflection pad: a dilated 3×3 needs 2 on each side
        self.c1_3 = nn.Conv2d(5, 10, 3, padding=1, dilation=2)
        self.c1_4 = nn.Sequential(
            nn.InstanceNorm2d(35, affine=True),
            nn.ReLU(),
            nn.ReflectionPad2d(1),
            nn.Conv2d(35, 10, 3),
        )
        self.inorm_1 = nn.InstanceNorm2d(10, affine=True)
        self.c2 = nn.Conv2d(15, 20, 3)
        self.inorm_2 = nn.InstanceNorm2d(20, affine=True)

    def forward(self, x: Tensor) -> Tensor:
        padded = F.pad(x, (1, 1, 1, 1), mode="reflect")
        first = torch.cat([x, self.c1_1(padded), self.c1_2(padded), self.c1_3(padded)], dim=1)
        second = F.relu(self.inorm_1(self.c1_4(first)))
        third = F.pad(torch.cat([second, x], dim=1), (1, 1, 1, 1), mode="reflect")
        return F.relu(self.inorm_2(self.c2(third)))


class SeedHead(nn.Module):
    """Per grid cell: a seed logit, a row shift and a column shift.

    ``(B, 20, H, W)`` features and a ``(ny, nx)`` grid → ``(B, 3, ny, nx)``: adaptive
    average pooling to the grid → conv 3×3 (zero padding) → InstanceNorm (affine) →
    ReLU → conv 1×1.
    """

    def __init__(self):
        super().__init__()
        self.c3_seeds_1 = nn.Conv2d(20, 20, 3, padding=1)
        self.c3_inorm_1 = nn.InstanceNorm2d(20, affine=True)
        self.c3_seeds_2 = nn.Conv2d(20, 3, 1)

    def forward(self, features: Tensor, grid: tuple[int, int]) -> Tensor:
        pooled = F.adaptive_avg_pool2d(features, grid)
        return self.c3_seeds_2(F.relu(self.c3_inorm_1(self.c3_seeds_1(pooled))))


class _Reconstruction(nn.Module):
    """The training-only gradient-rescaling module's reconstruction conv (20→5, 1×1).

    Kept so that the released state dict loads with ``strict=True``; inference never
    calls it (the module rescales gradients only, its forward leaves the features
    unchanged).
    """

    def __init__(self):
        super().__init__()
        self.recons = nn.Conv2d(20, 5, 1)


def cell_size(height: int, width: int, n_segments: int) -> tuple[int, int]:
    """The seed cell ``(height, width)`` in pixels, for an image with ``height <= width``.

    With ``S = H·W/K``: cell height ``floor(sqrt(S) / (W/H))``, cell width
    ``floor(S / cell height)``, each at least 1 (the authors' formula; its cells are
    flatter than square: 26 × 59 on 321 × 481 at K = 100, giving a 13 × 9 grid).

    Examples
    --------
    >>> cell_size(321, 481, 100)
    (26, 59)
    """
    area = height * width / n_segments
    cell_h = max(1, math.floor(math.sqrt(area) / (width / height)))
    cell_w = max(1, math.floor(area / cell_h))
    return cell_h, cell_w


def grid_centres(
    height: int, width: int, cell: tuple[int, int], centres: str = "official"
) -> tuple[Tensor, Tensor]:
    """Row and column (int64, raster order of the cells) of each cell's unshifted seed.

    Cells start every ``cell`` pixels from the top-left corner; the last row and column
    of cells are cut by the image border. A cell spanning rows ``[i0, i1]`` and
    columns ``[j0, j1]`` has its centre at ``((i0+i1)/2, (j0+j1)/2)``.

    ``centres="centred"`` takes the pixel ``(floor((i0+i1)/2), floor((j0+j1)/2))``.
    ``centres="official"`` takes it as the authors' code does: the flat index
    ``floor((i0+i1)/2 · W + (j0+j1)/2)``, read back as a row and a column. When the
    centre row is a half-integer (an even cell height) this lands ``W/2`` pixels
    further along the raster, i.e. half an image width to the right (wrapping to the
    next row): the released model was run, and its published figures made, this way.
    """
    if centres not in CENTRES:
        raise ValueError(f"centres must be one of {CENTRES}, got {centres!r}")
    cell_h, cell_w = cell
    # doubled coordinates (i0 + i1, j0 + j1) keep everything in integers
    top = torch.arange(0, height, cell_h)
    left = torch.arange(0, width, cell_w)
    rows2 = top + (top + cell_h).clamp(max=height) - 1
    cols2 = left + (left + cell_w).clamp(max=width) - 1
    rows2, cols2 = torch.meshgrid(rows2, cols2, indexing="ij")
    rows2, cols2 = rows2.reshape(-1), cols2.reshape(-1)
    if centres == "centred":
        return rows2 // 2, cols2 // 2
    flat = (rows2 * width + cols2) // 2  # floor((i0+i1)/2·W + (j0+j1)/2)
    return flat // width, flat % width


def seed_positions(
    head: Tensor, height: int, width: int, cell: tuple[int, int], centres: str = "official"
) -> tuple[Tensor, Tensor, Tensor]:
    """Seed pixels from the seed head's output.

    Parameters
    ----------
    head : Tensor
        ``(B, 3, ny, nx)``: seed logit, row shift and column shift of each cell.
    height, width : int
        The image size.
    cell : (int, int)
        The cell size (:func:`cell_size`); ``ny, nx`` must be the grid it gives.
    centres : {"official", "centred"}
        See :func:`grid_centres`.

    Returns
    -------
    rows, cols : Tensor
        ``(B, K)`` int64 seed coordinates, ``K = ny·nx``: the cell's centre moved by
        ``(sigmoid(shift) - 0.5) · 2 · cell`` (up to one cell each way), floored and
        clipped to the image.
    prob : Tensor
        ``(B, K)`` the seed probability ``sigmoid(logit)`` (used in training only).
    """
    b, _, ny, nx = head.shape
    rows0, cols0 = grid_centres(height, width, cell, centres)
    if rows0.numel() != ny * nx:
        raise ValueError(f"the head's grid {ny}x{nx} is not that of cells {cell}")
    rows0 = rows0.to(device=head.device, dtype=head.dtype)
    cols0 = cols0.to(device=head.device, dtype=head.dtype)
    flat = head.reshape(b, 3, ny * nx)
    shift = torch.sigmoid(flat[:, 1:]) - 0.5
    rows = torch.floor(rows0 + shift[:, 0] * (2 * cell[0])).clamp(0, height - 1)
    cols = torch.floor(cols0 + shift[:, 1] * (2 * cell[1])).clamp(0, width - 1)
    return rows.long(), cols.long(), torch.sigmoid(flat[:, 0])


def _squared_distances(pixels: Tensor, seeds: Tensor, index: Tensor | None = None) -> Tensor:
    """Squared feature distances of ``(C, P)`` pixels to ``(C, K)`` seeds: ``(P, K)``,
    or with ``index`` ``(P, L)`` to the seeds ``index[p]`` only: ``(P, L)``.

    Accumulated channel by channel in a fixed order, so that the dense and the local
    assignment get bit-identical distances for the same (pixel, seed) pair, and only
    one ``(P, L)`` block is held at a time.
    """
    total = None
    for c in range(seeds.shape[0]):
        others = seeds[c] if index is None else seeds[c][index]
        term = (pixels[c].unsqueeze(-1) - others) ** 2
        total = term if total is None else total.add_(term)
    return total


def student_t(squared_distance: Tensor, alpha: float = 1.0, dim: int = -1) -> Tensor:
    """The Student-t similarity ``(1 + d/α)^(-(α+1)/2)``, normalised to sum 1 over ``dim``."""
    q = (1.0 + squared_distance / alpha) ** (-(alpha + 1.0) / 2.0)
    return q / q.sum(dim=dim, keepdim=True)


def _seed_features(features: Tensor, rows: Tensor, cols: Tensor) -> Tensor:
    """``(B, C, K)`` features of the seed pixels."""
    b, c, h, w = features.shape
    index = (rows * w + cols).unsqueeze(1).expand(b, c, rows.shape[1])
    return features.reshape(b, c, h * w).gather(2, index)


def _nearest(pixels: Tensor, seeds: Tensor) -> Tensor:
    """Index of the nearest of ``(C, K)`` seeds for ``(C, P)`` pixels, as the arg-min of
    :func:`_squared_distances` (first on ties), at matrix-multiply speed.

    A screen ranks the seeds of each pixel by ``‖s‖² - 2 f·s`` (the distance less the
    pixel's own ``‖f‖²``), one matrix product in float64. Its error and that of the
    reference sum are both below ``margin = 4(C+2)·u·(‖f‖² + max‖s‖²)`` (u: the unit
    roundoff of each), so the reference minimum lies among the seeds screened within
    ``2·margin`` of the screened minimum; only those few pairs are computed exactly, in
    the reference's order.
    """
    c, n = pixels.shape
    k = seeds.shape[1]
    # MPS has no float64: screen in float32 there (the margin grows with its u)
    wide = torch.float32 if pixels.device.type == "mps" else torch.float64
    f, s = pixels.to(wide), seeds.to(wide)
    s2 = (s * s).sum(0)
    screen = torch.mm(f.T, s).mul_(-2.0).add_(s2)
    u = torch.finfo(wide).eps / 2 + torch.finfo(pixels.dtype).eps / 2
    margin = 4 * (c + 2) * u * ((f * f).sum(0) + s2.max())
    keep = screen <= (screen.min(dim=1).values + 2 * margin).unsqueeze(1)
    p, j = keep.nonzero(as_tuple=True)
    d = _squared_distances(pixels[:, p], seeds[:, j].unsqueeze(-1)).squeeze(-1)
    best = torch.full((n,), math.inf, device=d.device, dtype=d.dtype)
    best = best.scatter_reduce(0, p, d, reduce="amin")
    first = d == best[p]  # the ties at the minimum: the lowest seed index wins
    label = torch.full((n,), k, device=j.device, dtype=j.dtype)
    return label.scatter_reduce(0, p[first], j[first], reduce="amin")


def assign_dense(
    features: Tensor,
    rows: Tensor,
    cols: Tensor,
    *,
    soft: bool = False,
    screen: bool = True,
    chunk: int | None = None,
) -> Tensor:
    """Each pixel's seed among all K: the arg-max of the Student-t assignment.

    Parameters
    ----------
    features : Tensor
        ``(B, C, H, W)`` pixel features.
    rows, cols : Tensor
        ``(B, K)`` int64 seed pixels.
    soft : bool
        Return the soft assignment ``(B, K, H, W)`` (:func:`student_t` of the squared
        feature distances, α = 1, summing to 1 over the seeds) instead of labels.
    screen : bool
        Find the nearest seeds through a matrix-product screen and an exact check of
        the near ties (same labels, much faster); ``False`` computes every distance
        channel by channel (the reference).
    chunk : int, optional
        Pixels per block (default: about 2^18 distances per block, which stay in cache).

    Returns
    -------
    Tensor
        ``(B, H, W)`` int64 seed indices (``soft=False``), or the soft assignment.

    Notes
    -----
    The kernel decreases strictly with the distance and its normalisation is a
    positive per-pixel factor, so the arg-max is the nearest seed in feature space
    (the first on ties); it is taken on the distances, which no rounding of the
    kernel can tie.
    """
    b, c, h, w = features.shape
    k = rows.shape[1]
    chunk = chunk or max(64, (1 << 18) // k)
    seeds = _seed_features(features, rows, cols)
    flat = features.reshape(b, c, h * w)
    out = []
    for i in range(b):
        blocks = []
        for start in range(0, h * w, chunk):
            pixels = flat[i, :, start : start + chunk]
            if soft:
                blocks.append(student_t(_squared_distances(pixels, seeds[i])).T)
            elif screen:
                blocks.append(_nearest(pixels, seeds[i]))
            else:
                blocks.append(_squared_distances(pixels, seeds[i]).argmin(dim=1))
        out.append(torch.cat(blocks, dim=-1))
    return torch.stack(out).reshape((b, k, h, w) if soft else (b, h, w))


def _candidates(
    rows: Tensor, cols: Tensor, cell: tuple[int, int], grid: tuple[int, int], radius: int
) -> Tensor:
    """``(ny·nx, L)`` seed indices (ascending, padded with K) of the seeds lying in the
    ``(2·radius+1)²`` cells around each cell, for one image's ``(K,)`` seeds.

    A cell with no seed that near (the learnt shifts can leave a few cells without
    one) takes the seeds of the nearest ring of cells that holds any.
    """
    ny, nx = grid
    k = rows.shape[0]
    bucket = (rows // cell[0]).clamp(max=ny - 1) * nx + (cols // cell[1]).clamp(max=nx - 1)
    order = torch.argsort(bucket, stable=True)
    counts = torch.bincount(bucket, minlength=ny * nx)
    per_cell = int(counts.max())
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.arange(k, device=rows.device) - starts[bucket[order]]
    table = torch.full((ny * nx, per_cell), k, dtype=torch.long, device=rows.device)
    table[bucket[order], rank] = order
    table = table.reshape(ny, nx, per_cell).permute(2, 0, 1)
    chosen = None
    for r in range(radius, max(radius + 1, ny, nx)):
        # the lists of the (2r+1)² cells around, side by side; outside the grid: padding
        padded = F.pad(table, (r, r, r, r), value=k)
        size = 2 * r + 1
        shifted = [
            padded[:, dy : dy + ny, dx : dx + nx] for dy in range(size) for dx in range(size)
        ]
        # ascending seed order: the first of equally near seeds wins, as in assign_dense
        lists = torch.cat(shifted, dim=0).reshape(-1, ny * nx).T.sort(dim=1).values
        if chosen is None:
            chosen = lists
        else:  # widen only the cells still without a seed
            width = max(chosen.shape[1], lists.shape[1])
            chosen = F.pad(chosen, (0, width - chosen.shape[1]), value=k)
            lists = F.pad(lists, (0, width - lists.shape[1]), value=k)
            chosen = torch.where((chosen[:, :1] < k), chosen, lists)
        if bool((chosen[:, 0] < k).all()):
            break
    used = int((chosen < k).sum(dim=1).max())
    return chosen[:, :used]


def assign_local(
    features: Tensor,
    rows: Tensor,
    cols: Tensor,
    cell: tuple[int, int],
    *,
    radius: int = 1,
    chunk: int = 1 << 16,
) -> Tensor:
    """Each pixel's nearest seed among those in the cells around its own.

    The seeds are put into the cell of the grid that contains them (a seed may have
    been shifted out of its own cell); a pixel in cell ``(i, j)`` is compared with the
    seeds in cells ``(i±radius, j±radius)`` (or, where none lies there, in the nearest
    ring of cells that holds one). Equal to :func:`assign_dense` wherever the nearest
    seed lies there.

    Parameters
    ----------
    features : Tensor
        ``(B, C, H, W)`` pixel features.
    rows, cols : Tensor
        ``(B, K)`` int64 seed pixels.
    cell : (int, int)
        The cell size (:func:`cell_size`).
    radius : int
        Rings of cells searched: 1 → 3×3 cells, 2 → 5×5.
    chunk : int
        Pixels per block.

    Returns
    -------
    Tensor
        ``(B, H, W)`` int64 seed indices.
    """
    if radius < 0:
        raise ValueError(f"radius must be >= 0, got {radius}")
    b, c, h, w = features.shape
    grid = (math.ceil(h / cell[0]), math.ceil(w / cell[1]))
    seeds = _seed_features(features, rows, cols)
    # a padding slot: infinitely far, never chosen while a real candidate exists
    inf = torch.full((c, 1), math.inf, device=features.device, dtype=features.dtype)
    cell_of = (
        (torch.arange(h, device=features.device) // cell[0]).unsqueeze(1) * grid[1]
        + (torch.arange(w, device=features.device) // cell[1]).unsqueeze(0)
    ).reshape(-1)
    flat = features.reshape(b, c, h * w)
    out = []
    for i in range(b):
        lists = _candidates(rows[i], cols[i], cell, grid, radius)
        table = torch.cat([seeds[i], inf], dim=1)  # (C, K + 1)
        labels = []
        for start in range(0, h * w, chunk):
            pixels = flat[i, :, start : start + chunk]
            cand = lists[cell_of[start : start + chunk]]  # (P, L)
            d = _squared_distances(pixels, table, cand)
            labels.append(cand.gather(1, d.argmin(dim=1, keepdim=True)).squeeze(1))
        out.append(torch.cat(labels))
    return torch.stack(out).reshape(b, h, w)


class LNSNet(nn.Module):
    """LNSNet with the released checkpoint's layout: features, seeds, assignment.

    ``forward(x, n_segments)`` on the ``(B, 5, H, W)`` input of :func:`lnsnet_input`
    (``2 <= H <= W``; transpose portrait images first) returns ``(labels, rows, cols)``:
    ``(B, H, W)`` int64 seed indices before connectivity enforcement, and the ``(B, K)``
    seed pixels.

    Parameters
    ----------
    radius : int or None
        The assignment: ``None`` compares every pixel with every seed
        (:func:`assign_dense`); ``r`` only with the seeds in the ``(2r+1)²`` cells
        around its own (:func:`assign_local`).
    centres : {"official", "centred"}
        Where a cell's unshifted seed lies (:func:`grid_centres`).

    Shape:
        - Input: ``(B, 5, H, W)``
        - Output: ``(B, H, W)``, ``(B, K)``, ``(B, K)``

    Examples
    --------
    >>> net = LNSNet()  # K = 6 on 32 × 48: cells of 10 × 25, a 4 × 2 grid
    >>> labels, rows, cols = net(torch.randn(1, 5, 32, 48), 6)
    >>> labels.shape, rows.shape
    (torch.Size([1, 32, 48]), torch.Size([1, 8]))
    """

    def __init__(self, *, radius: int | None = None, centres: str = "official"):
        super().__init__()
        if centres not in CENTRES:
            raise ValueError(f"centres must be one of {CENTRES}, got {centres!r}")
        if radius is not None and (not isinstance(radius, int) or radius < 0):
            raise ValueError(f"radius must be None or an integer >= 0, got {radius!r}")
        self.radius = radius
        self.centres = centres
        self.embedder = Embedder()
        self.generater = SeedHead()  # the checkpoint's spelling
        self.grm = _Reconstruction()  # training only

    def extra_repr(self) -> str:
        return f"radius={self.radius}, centres={self.centres!r}"

    def seeds(self, features: Tensor, n_segments: int) -> tuple[Tensor, Tensor, Tensor]:
        """``(rows, cols, prob)`` of the seeds for ``n_segments`` (:func:`seed_positions`)."""
        _, _, h, w = features.shape
        cell = cell_size(h, w, n_segments)
        head = self.generater(features, (math.ceil(h / cell[0]), math.ceil(w / cell[1])))
        return seed_positions(head, h, w, cell, self.centres)

    def forward(self, x: Tensor, n_segments: int) -> tuple[Tensor, Tensor, Tensor]:
        if x.ndim != 4 or x.shape[1] != 5:
            raise ValueError(f"x must have shape (B, 5, H, W), got {tuple(x.shape)}")
        _, _, h, w = x.shape
        if not 2 <= h <= w:
            raise ValueError(f"x must be landscape with H >= 2 (H <= W), got H={h}, W={w}")
        features = self.embedder(x)
        rows, cols, _ = self.seeds(features, n_segments)
        if self.radius is None:
            labels = assign_dense(features, rows, cols)
        else:
            labels = assign_local(features, rows, cols, cell_size(h, w, n_segments),
                                  radius=self.radius)  # fmt: skip
        return labels, rows, cols
