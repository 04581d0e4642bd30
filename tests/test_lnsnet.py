"""LNSNet (issue #27): the network against a slow reference, its seed grid, the dense and
the local assignment, the numpy segmenter and the authors' released weights."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import weights_root

import baselines
from baselines import lnsnet as lnsnet_module
from baselines.lnsnet import lnsnet, load_lnsnet
from baselines.lnsnet_model import (
    LNSNet,
    assign_dense,
    assign_local,
    cell_size,
    grid_centres,
    lnsnet_input,
    seed_positions,
)

CHECKPOINT = weights_root("lnsnet_BSDS_checkpoint.pth", "successors") / "lnsnet_BSDS_checkpoint.pth"
real_weights = pytest.mark.skipif(
    not CHECKPOINT.is_file(), reason=f"LNSNet's released checkpoint is absent ({CHECKPOINT})"
)


def random_state_dict(seed=0) -> dict:
    """A state dict of LNSNet's layout with random weights (affine norms not 1/0)."""
    gen = torch.Generator().manual_seed(seed)
    return {
        name: torch.randn(value.shape, generator=gen, dtype=torch.float64) * 0.5
        + (1.0 if name.endswith("weight") and value.ndim == 1 else 0.0)
        for name, value in LNSNet().state_dict().items()
    }


def random_net(seed=0, **kwargs) -> LNSNet:
    net = LNSNet(**kwargs).double()
    net.load_state_dict(random_state_dict(seed))
    return net.eval()


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """The same regions, whatever the label numbers."""
    from baselines._common import relabel_consecutive

    return np.array_equal(relabel_consecutive(a)[0], relabel_consecutive(b)[0])


# --------------------------------------------------------------- the slow reference
def reflect_pad(x: np.ndarray, p: int) -> np.ndarray:
    """Reflection padding of ``(C, H, W)`` by index arithmetic: -1 → 1, H → H-2."""

    def index(n):
        i = np.arange(-p, n + p)
        i = np.abs(i)
        return np.where(i > n - 1, 2 * (n - 1) - i, i)

    return x[:, index(x.shape[1])][:, :, index(x.shape[2])]


def zero_pad(x: np.ndarray, p: int) -> np.ndarray:
    out = np.zeros((x.shape[0], x.shape[1] + 2 * p, x.shape[2] + 2 * p))
    out[:, p : p + x.shape[1], p : p + x.shape[2]] = x
    return out


def conv(x: np.ndarray, weight, bias, dilation: int = 1) -> np.ndarray:
    """Valid cross-correlation: ``out[o] = b[o] + Σ_c Σ_ky Σ_kx W[o,c,ky,kx]·x[c, y+d·ky, x+d·kx]``."""
    weight, bias = weight.numpy(), bias.numpy()
    k = weight.shape[-1]
    h = x.shape[1] - dilation * (k - 1)
    w = x.shape[2] - dilation * (k - 1)
    out = np.repeat(bias[:, None, None], h, 1).repeat(w, 2).astype(np.float64)
    for ky in range(k):
        for kx in range(k):
            window = x[:, dilation * ky : dilation * ky + h, dilation * kx : dilation * kx + w]
            out += np.einsum("oc,chw->ohw", weight[:, :, ky, kx], window)
    return out


def instance_norm(x: np.ndarray, gamma, beta, eps: float = 1e-5) -> np.ndarray:
    """``(x - mean) / sqrt(var + eps) · γ + β`` per channel, biased variance."""
    mean = x.mean(axis=(1, 2), keepdims=True)
    var = ((x - mean) ** 2).mean(axis=(1, 2), keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma.numpy()[:, None, None] + beta.numpy()[
        :, None, None
    ]


def adaptive_average(x: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Bin i of n over a side of length L spans [floor(i·L/n), ceil((i+1)·L/n))."""
    c, h, w = x.shape
    out = np.zeros((c, out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            y0, y1 = (i * h) // out_h, -(-((i + 1) * h) // out_h)
            x0, x1 = (j * w) // out_w, -(-((j + 1) * w) // out_w)
            out[:, i, j] = x[:, y0:y1, x0:x1].mean(axis=(1, 2))
    return out


def relu(x):
    return np.maximum(x, 0.0)


def reference_forward(sd: dict, x: np.ndarray, n_segments: int):
    """Features, head output, seed pixels and soft assignment of one ``(5, H, W)`` input."""
    e = "embedder."
    padded = reflect_pad(x, 1)
    c1 = conv(padded, sd[e + "c1_1.weight"], sd[e + "c1_1.bias"])
    c2 = conv(padded, sd[e + "c1_2.weight"], sd[e + "c1_2.bias"])
    c3 = conv(zero_pad(padded, 1), sd[e + "c1_3.weight"], sd[e + "c1_3.bias"], dilation=2)
    first = np.concatenate([x, c1, c2, c3])
    first = relu(instance_norm(first, sd[e + "c1_4.0.weight"], sd[e + "c1_4.0.bias"]))
    second = conv(reflect_pad(first, 1), sd[e + "c1_4.3.weight"], sd[e + "c1_4.3.bias"])
    second = relu(instance_norm(second, sd[e + "inorm_1.weight"], sd[e + "inorm_1.bias"]))
    third = conv(
        reflect_pad(np.concatenate([second, x]), 1), sd[e + "c2.weight"], sd[e + "c2.bias"]
    )
    features = relu(instance_norm(third, sd[e + "inorm_2.weight"], sd[e + "inorm_2.bias"]))

    g = "generater."
    _, h, w = x.shape
    cell_h, cell_w = cell_size(h, w, n_segments)
    ny, nx = math.ceil(h / cell_h), math.ceil(w / cell_w)
    pooled = adaptive_average(features, ny, nx)
    head = conv(zero_pad(pooled, 1), sd[g + "c3_seeds_1.weight"], sd[g + "c3_seeds_1.bias"])
    head = relu(instance_norm(head, sd[g + "c3_inorm_1.weight"], sd[g + "c3_inorm_1.bias"]))
    head = conv(head, sd[g + "c3_seeds_2.weight"], sd[g + "c3_seeds_2.bias"])

    # official centres: the flat index of ((i0+i1)/2, (j0+j1)/2), read back
    rows, cols = [], []
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    for a, i0 in enumerate(range(0, h, cell_h)):
        for b, j0 in enumerate(range(0, w, cell_w)):
            i1, j1 = min(i0 + cell_h, h) - 1, min(j0 + cell_w, w) - 1
            flat = int((i0 + i1) / 2 * w + (j0 + j1) / 2)
            r0, c0 = flat // w, flat % w
            r = math.floor(r0 + (sigmoid(head[1, a, b]) - 0.5) * 2 * cell_h)
            c = math.floor(c0 + (sigmoid(head[2, a, b]) - 0.5) * 2 * cell_w)
            rows.append(min(max(r, 0), h - 1))
            cols.append(min(max(c, 0), w - 1))
    seeds = features[:, rows, cols]  # (C, K)
    d = ((features[:, :, :, None] - seeds[:, None, None, :]) ** 2).sum(axis=0)  # (H, W, K)
    q = 1.0 / (1.0 + d)  # Student-t, α = 1: (1 + d)^-1
    q = q / q.sum(axis=-1, keepdims=True)
    return features, head, np.array(rows), np.array(cols), np.moveaxis(q, -1, 0)


# Float64 throughout: each output is a sum of at most 315 products of O(1) numbers
# (relative rounding ~315 · 2^-53 ≈ 3.5e-14), and the instance norms divide by standard
# deviations of order 0.1-1, so five layers deep the two orders of summation differ by
# less than 1e-11; float32 arithmetic would differ by ~1e-5, so 1e-9 separates them.
TOL = 1e-9


@pytest.fixture(scope="module")
def small_case():
    rng = np.random.default_rng(0)
    lab = torch.from_numpy(rng.uniform([0, -60, -60], [100, 60, 60], (9, 14, 3)))
    x = lnsnet_input(lab.permute(2, 0, 1)[None])
    return x, 5  # 9 × 14 at K = 5: cells 3 × 8, a 3 × 2 grid


@pytest.mark.parametrize("seed", [0, 1])
def test_forward_equals_the_slow_reference(small_case, seed):
    x, k = small_case
    net = random_net(seed, radius=None)
    sd = random_state_dict(seed)
    features, head, rows, cols, soft = reference_forward(sd, x[0].numpy(), k)
    with torch.no_grad():
        f = net.embedder(x)
        np.testing.assert_allclose(f[0].numpy(), features, rtol=0, atol=TOL)
        h, w = x.shape[-2:]
        cell = cell_size(h, w, k)
        out = net.generater(f, (math.ceil(h / cell[0]), math.ceil(w / cell[1])))
        np.testing.assert_allclose(out[0].numpy(), head, rtol=0, atol=TOL)
        r, c, _ = net.seeds(f, k)
        np.testing.assert_array_equal(r[0].numpy(), rows)
        np.testing.assert_array_equal(c[0].numpy(), cols)
        q = assign_dense(f, r, c, soft=True)
        np.testing.assert_allclose(q[0].numpy(), soft, rtol=0, atol=TOL)
        labels, _, _ = net(x, k)
    np.testing.assert_array_equal(labels[0].numpy(), soft.argmax(axis=0))


def test_input_channels_are_standardised_lab_and_positions():
    lab = torch.rand(1, 3, 4, 6, dtype=torch.float64) * 50
    x = lnsnet_input(lab)
    assert x.shape == (1, 5, 4, 6) and x.dtype == torch.float64
    flat = x.reshape(5, -1)
    np.testing.assert_allclose(flat.mean(1).numpy(), 0, atol=1e-12)
    np.testing.assert_allclose(flat.std(1).numpy(), 1, atol=1e-12)
    rows = (np.arange(4) / 4 - 0.5)[:, None].repeat(6, 1)
    np.testing.assert_allclose(x[0, 3].numpy(), (rows - rows.mean()) / rows.std(ddof=1))
    # a flat channel stays 0 instead of dividing by zero
    flat_lab = torch.zeros(1, 3, 4, 6, dtype=torch.float64)
    assert torch.isfinite(lnsnet_input(flat_lab)).all()
    assert (lnsnet_input(flat_lab)[:, :3] == 0).all()


def test_output_shapes_and_dtypes():
    net = random_net(radius=1)
    x = torch.randn(2, 5, 20, 30, dtype=torch.float64)
    labels, rows, cols = net(x, 12)
    cell = cell_size(20, 30, 12)
    k = math.ceil(20 / cell[0]) * math.ceil(30 / cell[1])
    assert labels.shape == (2, 20, 30) and labels.dtype == torch.int64
    assert rows.shape == cols.shape == (2, k)
    assert 0 <= int(labels.min()) and int(labels.max()) < k
    assert net.embedder(x).shape == (2, 20, 20, 30)
    with pytest.raises(ValueError, match="landscape"):
        net(x.transpose(2, 3), 12)
    with pytest.raises(ValueError, match=r"\(B, 5, H, W\)"):
        net(x[:, :3], 12)


# ----------------------------------------------------------------------- seed grid
@pytest.mark.parametrize(
    ("k", "cell", "grid"),
    [
        # S = 321·481/K; cell height floor(sqrt(S)·321/481), width floor(S / height)
        (100, (26, 59), (13, 9)),  # S = 1544.01, sqrt 39.29 → 26.22; 1544.01/26 = 59.4
        (200, (18, 42), (18, 12)),  # S = 772.00, sqrt 27.78 → 18.54; 772.00/18 = 42.9
        (400, (13, 29), (25, 17)),  # S = 386.00, sqrt 19.65 → 13.11; 386.00/13 = 29.7
        (1200, (7, 18), (46, 27)),  # S = 128.67, sqrt 11.34 → 7.57; 128.67/7 = 18.4
    ],
)
def test_cell_size_and_grid_on_bsds500_sizes(k, cell, grid):
    assert cell_size(321, 481, k) == cell
    assert (math.ceil(321 / cell[0]), math.ceil(481 / cell[1])) == grid
    rows, cols = grid_centres(321, 481, cell)
    assert rows.numel() == grid[0] * grid[1]


def test_cell_size_is_at_least_one_pixel():
    assert cell_size(2, 50, 40) == (1, 2)  # S = 2.5, sqrt·2/50 = 0.06 → 1; 2.5/1 → 2
    assert cell_size(2, 2, 4) == (1, 1)


def test_grid_centres_official_and_centred():
    """4 × 6 in cells of 2 × 3: centres (0.5, 1), (0.5, 4), (2.5, 1), (2.5, 4).

    Centred: their floors. Official: the flat index floor(y·6 + x) read back, which for
    the half-integer rows moves 3 pixels (half the width) along the raster:
    0.5·6 + 1 = 4 → (0, 4); 3 + 4 = 7 → (1, 1); 15 + 1 = 16 → (2, 4); 15 + 4 = 19 → (3, 1).
    """
    rows, cols = grid_centres(4, 6, (2, 3), "centred")
    assert rows.tolist() == [0, 0, 2, 2] and cols.tolist() == [1, 4, 1, 4]
    rows, cols = grid_centres(4, 6, (2, 3), "official")
    assert rows.tolist() == [0, 1, 2, 3] and cols.tolist() == [4, 1, 4, 1]
    # integer centre rows (rows 0-2, 3-5): both agree; columns 0-3 and 4-6 (cut by the
    # border) have centres 1.5 → 1 and 5
    assert (
        [t.tolist() for t in grid_centres(6, 7, (3, 4), "official")]
        == [t.tolist() for t in grid_centres(6, 7, (3, 4), "centred")]
        == [[1, 1, 4, 4], [1, 5, 1, 5]]
    )
    with pytest.raises(ValueError, match="centres"):
        grid_centres(4, 6, (2, 3), "middle")


def test_seed_shifts_move_up_to_one_cell_and_are_clipped():
    # logits: 0 → no shift; +inf → +0.5 · 2 · cell = one cell; -inf → clipped at 0
    head = torch.zeros(1, 3, 2, 2, dtype=torch.float64)
    head[0, 1, 0, 0], head[0, 2, 0, 0] = 50.0, 50.0
    head[0, 1, 1, 1], head[0, 2, 1, 1] = -50.0, -50.0
    rows, cols, prob = seed_positions(head, 4, 6, (2, 3), "centred")
    assert rows.tolist() == [[2, 0, 2, 0]] and cols.tolist() == [[4, 4, 1, 1]]
    np.testing.assert_allclose(prob.numpy(), 0.5)


# ----------------------------------------------------------------------- assignment
def test_local_equals_dense_where_the_nearest_seed_is_a_neighbour():
    """Features = positions, seeds at the centres of square cells: every pixel's
    nearest seed is that of its own or an adjacent cell, so 3 × 3 cells hold it."""
    h, w, cell = 24, 40, (8, 8)
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    features = torch.stack([yy, xx]).double()[None]
    rows, cols = grid_centres(h, w, cell, "centred")
    rows, cols = rows[None], cols[None]
    dense = assign_dense(features, rows, cols)
    local = assign_local(features, rows, cols, cell, radius=1)
    assert torch.equal(dense, local)
    # and it is the Voronoi partition of the seeds
    d = (yy[..., None] - rows[0]) ** 2 + (xx[..., None] - cols[0]) ** 2
    assert torch.equal(dense[0], d.argmin(-1))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_local_over_the_whole_grid_is_bitwise_dense(dtype):
    """A radius spanning the grid makes every seed a candidate: the same distances in
    the same order, ties (two seeds on one pixel) to the lower index as in dense."""
    gen = torch.Generator().manual_seed(3)
    features = torch.randn(2, 20, 30, 45, generator=gen).to(dtype)
    rows = torch.randint(0, 30, (2, 24), generator=gen)
    cols = torch.randint(0, 45, (2, 24), generator=gen)
    rows[:, 5], cols[:, 5] = rows[:, 2], cols[:, 2]  # an exact tie
    dense = assign_dense(features, rows, cols, chunk=500)
    local = assign_local(features, rows, cols, (6, 8), radius=8, chunk=700)
    assert torch.equal(dense, local)
    assert not (dense == 5).any()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_screened_dense_assignment_equals_the_channel_by_channel_one(dtype):
    """Features on a grid of 1/4 make many exact and near ties: the matrix-product
    screen must still return the reference's arg-min, the first index on ties."""
    gen = torch.Generator().manual_seed(7)
    features = (torch.randint(-8, 9, (1, 20, 40, 50), generator=gen) / 4).to(dtype)
    features[..., :10] += 1e3  # large norms: the screen's cancellation error is largest
    rows = torch.randint(0, 40, (1, 60), generator=gen)
    cols = torch.randint(0, 50, (1, 60), generator=gen)
    rows[0, 40:], cols[0, 40:] = rows[0, :20], cols[0, :20]  # duplicated seeds: exact ties
    screened = assign_dense(features, rows, cols, chunk=333)
    reference = assign_dense(features, rows, cols, screen=False)
    assert torch.equal(screened, reference)
    assert not (reference >= 40).any()


def test_cells_without_a_near_seed_take_the_nearest_ring():
    """All seeds in one corner: the far cells widen their search instead of failing."""
    features = torch.randn(1, 4, 30, 30, generator=torch.Generator().manual_seed(0)).double()
    rows, cols = torch.tensor([[0, 1, 2]]), torch.tensor([[0, 2, 1]])
    local = assign_local(features, rows, cols, (5, 5), radius=1)
    assert torch.equal(local, assign_dense(features, rows, cols))


def test_soft_assignment_sums_to_one_and_peaks_at_the_labels():
    gen = torch.Generator().manual_seed(1)
    features = torch.randn(1, 20, 12, 16, generator=gen, dtype=torch.float64)
    rows, cols = (
        torch.randint(0, 12, (1, 7), generator=gen),
        torch.randint(0, 16, (1, 7), generator=gen),
    )
    q = assign_dense(features, rows, cols, soft=True)
    assert q.shape == (1, 7, 12, 16)
    np.testing.assert_allclose(q.sum(1).numpy(), 1, atol=1e-12)
    assert torch.equal(q.argmax(1), assign_dense(features, rows, cols))
    # each seed pixel has similarity (1 + 0)^-1 = 1 before normalisation: its own maximum
    assert torch.equal(assign_dense(features, rows, cols)[0, rows[0], cols[0]], torch.arange(7))


# ------------------------------------------------------------------ numpy segmenter
def test_portrait_images_are_transposed_and_back():
    sd = {k: v.float() for k, v in random_state_dict(2).items()}
    rng = np.random.default_rng(5)
    image = rng.random((24, 36, 3)).astype(np.float32)
    image[:, 18:] *= 0.3
    labels = lnsnet(image, 10, model=sd, device="cpu")
    assert labels.shape == (24, 36) and labels.dtype == np.int32
    transposed = lnsnet(image.transpose(1, 0, 2), 10, model=sd, device="cpu")
    assert transposed.shape == (36, 24)
    assert same_partition(transposed, labels.T)


def test_segmenter_output_contract_and_input_checks():
    sd = {k: v.float() for k, v in random_state_dict(4).items()}
    rng = np.random.default_rng(0)
    rgb8 = (rng.random((20, 30, 3)) * 255).astype(np.uint8)
    labels = lnsnet(rgb8, 8, model=sd, device="cpu")
    n = int(labels.max()) + 1
    assert np.array_equal(np.unique(labels), np.arange(n))
    np.testing.assert_array_equal(lnsnet(rgb8.astype(np.float64) / 255, 8, model=sd), labels)
    np.testing.assert_array_equal(
        lnsnet(np.moveaxis(rgb8, -1, 0), 8, model=sd, channel_axis=0), labels
    )
    gray = rgb8[..., 0]
    np.testing.assert_array_equal(
        lnsnet(gray, 8, model=sd), lnsnet(np.repeat(gray[..., None], 3, -1), 8, model=sd)
    )
    assert (lnsnet(rgb8, 1, model=sd) == 0).all()
    with pytest.raises(ValueError, match="at least 2 pixels"):
        lnsnet(rgb8[:1], 4, model=sd)
    with pytest.raises(ValueError, match="n_segments"):
        lnsnet(rgb8, 0, model=sd)
    with pytest.raises(ValueError, match="assignment"):
        lnsnet(rgb8, 4, model=sd, assignment="sparse")
    with pytest.raises(ValueError, match="connectivity"):
        lnsnet(rgb8, 4, model=sd, connectivity="all")
    with pytest.raises(ValueError, match="centres"):
        lnsnet(rgb8, 4, model=sd, centres="middle")
    with pytest.raises(ValueError, match="state dict"):
        lnsnet(rgb8, 4, model=42)
    with pytest.raises(FileNotFoundError, match="no such LNSNet checkpoint"):
        lnsnet(rgb8, 4, model="/nonexistent/lnsnet.pth")


def test_a_checkpoint_of_another_network_is_refused(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"conv.weight": torch.zeros(3, 3)}, path)
    with pytest.raises(ValueError, match="not an LNSNet checkpoint"):
        load_lnsnet(path, device="cpu")
    state = random_state_dict()
    state["embedder.c2.weight"] = state["embedder.c2.weight"][:, :5]
    with pytest.raises(ValueError, match="not an LNSNet checkpoint"):
        load_lnsnet(state, device="cpu")


class _Payload:
    """Not a tensor: a pickle that would run code on loading without weights_only."""


def test_a_checkpoint_with_pickled_objects_or_garbage_is_refused(tmp_path):
    path = tmp_path / "tampered.pth"
    torch.save({**random_state_dict(), "extra": _Payload()}, path)
    with pytest.raises(ValueError, match="weights_only=True"):
        load_lnsnet(path, device="cpu")
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="weights_only=True"):
        load_lnsnet(path, device="cpu")


def test_the_bsds500_weights_come_from_the_catalog_sha256_checked(tmp_path, monkeypatch):
    from ssn.data.checksum import ChecksumError

    monkeypatch.setenv("SSN_WEIGHTS", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="lnsnet_BSDS_checkpoint.pth"):
        load_lnsnet("bsds500", device="cpu")
    torch.save(random_state_dict(), tmp_path / "lnsnet_BSDS_checkpoint.pth")  # not theirs
    with pytest.raises(ChecksumError, match="lnsnet-bsds500"):
        load_lnsnet("bsds500", device="cpu")


@real_weights
def test_the_released_weights_load_by_name(monkeypatch):
    monkeypatch.setenv("SSN_WEIGHTS", str(CHECKPOINT.parent))
    net = load_lnsnet("bsds500", device="cpu")
    state = torch.load(CHECKPOINT, weights_only=True, map_location="cpu")
    assert all(torch.equal(net.state_dict()[k], v) for k, v in state.items())


def test_registered_as_a_baseline_with_its_parameters():
    method = baselines.get_method("lnsnet")
    assert method.params == {"model": "bsds500", "device": None, "assignment": "dense",
                             "connectivity": "largest", "centres": "official"}  # fmt: skip
    with pytest.raises(ValueError, match="connectivity"):
        method.build(connectivity="all")
    with pytest.raises(ValueError, match="unknown parameter"):
        baselines.segment(np.zeros((8, 8, 3)), 4, method="lnsnet", n_iter=3)


# ------------------------------------------------------------- the released weights
@real_weights
def test_released_checkpoint_loads_strictly_with_weights_only():
    state = torch.load(CHECKPOINT, weights_only=True, map_location="cpu")
    assert len(state) == 24
    net = LNSNet()
    assert not net.load_state_dict(state, strict=True).missing_keys
    assert sum(k.startswith("grm.") for k in state) == 2  # training-only, kept unused
    assert load_lnsnet(CHECKPOINT, device="cpu") is load_lnsnet(CHECKPOINT, device="cpu")


@pytest.fixture(scope="module")
def bsds_image(bsds_root):
    from ssn.io import read_image

    return read_image(sorted((bsds_root / "images" / "test").glob("*.jpg"))[0])


@real_weights
@pytest.mark.realdata
def test_released_weights_on_a_bsds500_image(bsds_image):
    from ssn.methods import load_segmenter

    segmenter = load_segmenter("lnsnet", model=str(CHECKPOINT), device="cpu")
    labels = segmenter(bsds_image, 100)
    assert labels.shape == bsds_image.shape[:2]
    # 117 grid cells; the official post-processing keeps large stray pieces
    assert 100 <= int(labels.max()) + 1 <= 250
    # the arg-max before post-processing: local (3 × 3 cells) and dense nearly agree
    rgb = bsds_image.astype(np.float32) / 255
    raw = [
        lnsnet_module.segment_rgb(rgb, 100, load_lnsnet(CHECKPOINT, device="cpu",
                                  assignment=assignment), connectivity="none")
        for assignment in ("local", "dense")
    ]  # fmt: skip
    assert np.mean(raw[0] == raw[1]) > 0.97
    transposed = segmenter(bsds_image.transpose(1, 0, 2), 100)
    assert same_partition(transposed, labels.T)
