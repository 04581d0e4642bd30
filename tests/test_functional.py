"""Differentiable SLIC and the mappings against dense references, invariants and gradcheck."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from reference import sparse_to_dense
from skimage.color import rgb2lab

from ssn.color import rgb_to_lab
from ssn.functional import (
    Association,
    CellGrid,
    association_to_labels,
    dense_slic_reference,
    differentiable_slic,
    grid_shape,
    hard_pixel_to_superpixel,
    hard_superpixel_to_pixel,
    initial_labels,
    pixel_to_superpixel,
    position_scale,
    superpixel_to_pixel,
    xylab_features,
)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])

# (H, W, grid): divisible and non-divisible sizes, single cell, single row/column of cells.
SHAPES = [(12, 16, (3, 4)), (13, 17, (3, 4)), (7, 9, (1, 1)), (11, 23, (1, 5)), (19, 6, (4, 1))]


def _features(batch, channels, height, width, dtype=torch.float64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(batch, channels, height, width, generator=gen, dtype=dtype) * 3


class TestGrid:
    def test_official_examples(self):
        # 481×321 with K = 100: floor(sqrt(100·481/321)) = 12, floor(sqrt(100·321/481)) = 8.
        assert grid_shape(100, 321, 481) == (8, 12)
        assert grid_shape(400, 321, 481) == (16, 24)

    def test_count_never_exceeds_request_for_elongated_images(self):
        # sqrt(10·1/100) < 1 would give no row of cells: one row of min(K, W) cells.
        assert grid_shape(10, 1, 100) == (1, 10)
        assert grid_shape(10, 100, 1) == (10, 1)
        for k in range(1, 50):
            n_h, n_w = grid_shape(k, 7, 30)
            assert 1 <= n_h * n_w <= k

    def test_position_scale(self):
        # eta · max(n_w / W, n_h / H) = 2.5 · max(12/481, 8/321)
        assert position_scale((8, 12), 321, 481) == pytest.approx(2.5 * max(12 / 481, 8 / 321))

    @pytest.mark.parametrize("height,width,grid", SHAPES)
    def test_cell_layout_round_trip(self, height, width, grid):
        cells = CellGrid.build(height, width, grid)
        x = _features(2, 3, height, width)
        blocked = cells.to_cells(x)
        assert blocked.shape == (2 * grid[0] * grid[1], 3, cells.slots)
        torch.testing.assert_close(cells.from_cells(blocked, 2), x, rtol=0, atol=0)
        # Every pixel sits in the block of its initial cell.
        own = initial_labels(height, width, grid).double()[None, None]
        block_ids = cells.to_cells(own)[:, 0]  # (M, P)
        for m in range(grid[0] * grid[1]):
            assert (block_ids[m][cells.slot_valid[m]] == m).all()
        assert int(cells.slot_valid.sum()) == height * width

    def test_initial_cells_are_nearly_equal(self):
        # Cell sizes differ by at most one row / column (13 rows into 3 cells: 4, 4, 5).
        own = initial_labels(13, 17, (3, 4))
        rows = torch.bincount(own[:, 0] // 4)
        assert sorted(rows.tolist()) == [4, 4, 5]


class TestFeatures:
    def test_lab_matches_scikit_image(self):
        rgb = np.random.default_rng(0).random((9, 11, 3))
        ours = rgb_to_lab(torch.from_numpy(rgb).permute(2, 0, 1)[None])[0].permute(1, 2, 0)
        np.testing.assert_allclose(ours.numpy(), rgb2lab(rgb), atol=1e-8)

    def test_xylab_channel_order_and_scales(self):
        rgb = torch.rand(1, 3, 10, 15, dtype=torch.float64)
        grid = (2, 3)
        feats = xylab_features(rgb, grid)
        scale = 2.5 * max(3 / 15, 2 / 10)
        assert feats.shape == (1, 5, 10, 15)
        torch.testing.assert_close(feats[0, 0, :, 4], torch.arange(10.0).double() * scale)
        torch.testing.assert_close(feats[0, 1, 7, :], torch.arange(15.0).double() * scale)
        torch.testing.assert_close(feats[:, 2:], 0.26 * rgb_to_lab(rgb))


def _outputs(result):
    """The differentiable outputs of differentiable_slic: association weights, centres."""
    return result.association.weights, result.centres


class TestDifferentiableSlic:
    @pytest.mark.parametrize("height,width,grid", SHAPES)
    @pytest.mark.parametrize("n_iter", [1, 4])
    def test_equals_dense_reference(self, height, width, grid, n_iter):
        feats = _features(2, 4, height, width, seed=n_iter)
        ours = differentiable_slic(feats, grid, n_iter=n_iter)
        q_ref, centres_ref = dense_slic_reference(feats, grid, n_iter)
        torch.testing.assert_close(
            sparse_to_dense(ours.association.weights, grid), q_ref, atol=1e-6, rtol=0
        )
        torch.testing.assert_close(ours.centres, centres_ref, atol=1e-6, rtol=0)

    def test_float32_close_to_float64(self):
        feats = _features(1, 5, 40, 50)
        ref = differentiable_slic(feats, (4, 5), n_iter=10)
        ours = differentiable_slic(feats.float(), (4, 5), n_iter=10)
        torch.testing.assert_close(
            ours.association.weights.double(), ref.association.weights, atol=2e-3, rtol=0
        )
        assert (ours.labels != ref.labels).float().mean() < 0.01

    def test_association_rows_and_excluded_neighbours(self):
        feats = _features(1, 3, 13, 17)
        out = differentiable_slic(feats, (3, 4), n_iter=3)
        torch.testing.assert_close(out.association.weights.sum(1), torch.ones(1, 13, 17).double())
        own = initial_labels(13, 17, (3, 4))
        top_row = own // 4 == 0
        # Neighbours j = 0, 1, 2 (dy = -1) of the top row of cells are off the grid.
        assert (out.association.weights[0, :3][:, top_row] == 0).all()
        left = own % 4 == 0
        assert (out.association.weights[0, [0, 3, 6]][:, left] == 0).all()

    def test_labels_are_argmax_of_association(self):
        feats = _features(2, 5, 21, 30)
        out = differentiable_slic(feats, (3, 4), n_iter=5)
        assert out.labels.dtype == torch.int64
        torch.testing.assert_close(association_to_labels(out.association), out.labels)
        dense = sparse_to_dense(out.association.weights, (3, 4))
        assert (dense.argmax(2).view(2, 21, 30) == out.labels).all()

    def test_gradcheck_through_iterations(self):
        feats = _features(1, 2, 5, 6).requires_grad_()
        assert torch.autograd.gradcheck(
            lambda f: _outputs(differentiable_slic(f, (2, 2), n_iter=3)), (feats,)
        )

    def test_gradcheck_fast_mode_larger_batch(self):
        # Random projections of the Jacobian (fast mode) on a batched, ragged-grid case.
        feats = _features(2, 3, 9, 11).requires_grad_()
        assert torch.autograd.gradcheck(
            lambda f: _outputs(differentiable_slic(f, (2, 3), n_iter=4)), (feats,), fast_mode=True
        )

    def test_gradient_matches_dense_reference(self):
        feats = _features(1, 4, 10, 11).requires_grad_()
        weights = torch.rand(1, 10 * 11, 6, dtype=torch.float64)
        out = differentiable_slic(feats, (2, 3), n_iter=3)
        (sparse_to_dense(out.association.weights, (2, 3)) * weights).sum().backward()
        ours = feats.grad.clone()
        feats.grad = None
        q_ref, _ = dense_slic_reference(feats, (2, 3), 3)
        (q_ref * weights).sum().backward()
        torch.testing.assert_close(ours, feats.grad, atol=1e-8, rtol=1e-6)

    def test_batch_items_are_independent(self):
        feats = _features(3, 5, 16, 20)
        batched = differentiable_slic(feats, (2, 2), n_iter=4)
        single = differentiable_slic(feats[1:2], (2, 2), n_iter=4)
        torch.testing.assert_close(batched.association.weights[1:2], single.association.weights)
        assert (batched.labels[1:2] == single.labels).all()

    def test_piecewise_constant_image_recovers_regions(self):
        # Two flat colours split at a column inside the first cell column: pixels must
        # join the superpixel of their own colour, never straddle.
        feats = torch.zeros(1, 3, 20, 20, dtype=torch.float64)
        feats[:, 2, :, 7:] = 20.0
        feats[:, 0] = torch.arange(20.0).view(20, 1) * 0.25
        feats[:, 1] = torch.arange(20.0).view(1, 20) * 0.25
        out = differentiable_slic(feats, (2, 2), n_iter=10)
        left = out.labels[0, :, :7].unique()
        right = out.labels[0, :, 7:].unique()
        assert set(left.tolist()).isdisjoint(right.tolist())

    @pytest.mark.parametrize("device", DEVICES)
    def test_device_and_dtype_follow_input(self, device):
        feats = _features(1, 5, 16, 16, dtype=torch.float32).to(device)
        out = differentiable_slic(feats, (2, 2), n_iter=2)
        for t in (out.association.weights, out.centres):
            assert t.device.type == device and t.dtype == torch.float32
        assert out.labels.device.type == device

    def test_bad_arguments(self):
        with pytest.raises(ValueError, match="shape"):
            differentiable_slic(torch.rand(5, 8, 8), (2, 2))
        with pytest.raises(TypeError, match="floating"):
            differentiable_slic(torch.ones(1, 5, 8, 8, dtype=torch.int64), (2, 2))
        with pytest.raises(ValueError, match="n_iter"):
            differentiable_slic(torch.rand(1, 5, 8, 8), (2, 2), n_iter=0)
        with pytest.raises(ValueError, match="does not fit"):
            differentiable_slic(torch.rand(1, 5, 8, 8), (9, 2))


class TestMappings:
    def _setup(self, height=13, width=17, grid=(3, 4)):
        feats = _features(2, 4, height, width)
        return differentiable_slic(feats, grid, n_iter=3).association.weights, grid

    def test_pixel_to_superpixel_is_column_normalised_q(self):
        association, grid = self._setup()
        values = _features(2, 3, 13, 17, seed=5)
        dense = sparse_to_dense(association, grid)  # (B, N, M)
        ref = values.reshape(2, 3, -1) @ dense / dense.sum(1, keepdim=True)
        torch.testing.assert_close(pixel_to_superpixel(values, Association(association, grid)), ref)

    def test_superpixel_to_pixel_is_row_normalised_q(self):
        association, grid = self._setup()
        values = _features(2, 3, 1, 12, seed=6)[:, :, 0]  # (B, 3, M)
        dense = sparse_to_dense(association, grid)
        ref = (values @ dense.transpose(1, 2)).view(2, 3, 13, 17)
        torch.testing.assert_close(superpixel_to_pixel(values, Association(association, grid)), ref)

    def test_constant_maps_to_constant(self):
        association, grid = self._setup()
        const = torch.full((2, 1, 13, 17), 3.5, dtype=torch.float64)
        sp = pixel_to_superpixel(const, Association(association, grid))
        torch.testing.assert_close(sp, torch.full_like(sp, 3.5))
        torch.testing.assert_close(superpixel_to_pixel(sp, Association(association, grid)), const)

    def test_gradcheck_mappings(self):
        association, grid = self._setup(7, 8, (2, 3))
        association.requires_grad_()
        values = _features(2, 2, 7, 8).requires_grad_()
        sp_values = _features(2, 2, 1, 6)[:, :, 0].requires_grad_()
        assert torch.autograd.gradcheck(
            lambda v, q: pixel_to_superpixel(v, Association(q, grid)), (values, association)
        )
        assert torch.autograd.gradcheck(
            lambda v, q: superpixel_to_pixel(v, Association(q, grid)), (sp_values, association)
        )

    def test_hard_mappings_against_loops(self):
        labels = torch.randint(0, 5, (2, 6, 7))
        values = _features(2, 3, 6, 7)
        means = hard_pixel_to_superpixel(values, labels, 6)
        for b in range(2):
            for i in range(6):
                mask = labels[b] == i
                expected = values[b][:, mask].mean(1) if mask.any() else torch.zeros(3).double()
                torch.testing.assert_close(means[b, :, i], expected)
        back = hard_superpixel_to_pixel(means, labels)
        for b in range(2):
            mask = labels[b] == 2
            expected = means[b, :, 2:3].expand(-1, int(mask.sum()))
            torch.testing.assert_close(back[b][:, mask], expected)

    def test_shape_errors(self):
        association, grid = self._setup()
        with pytest.raises(ValueError, match="share"):
            pixel_to_superpixel(torch.rand(2, 1, 5, 5).double(), Association(association, grid))
        with pytest.raises(ValueError, match=r"\(B, D, 12\)"):
            superpixel_to_pixel(torch.rand(2, 1, 11).double(), Association(association, grid))
        with pytest.raises(ValueError, match=r"\(B, 9, H, W\)"):
            pixel_to_superpixel(torch.rand(2, 1, 5, 5), Association(torch.rand(2, 8, 5, 5), grid))
