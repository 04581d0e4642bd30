"""The fused CPU kernels compute the same function as the PyTorch reference path."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage as ndi

from ssn._kernels import _exp_poly, rgb_to_lab_features, slic_labels
from ssn.functional import differentiable_slic, grid_shape, position_scale, xylab_features

SHAPES = [(13, 17, (3, 4)), (40, 31, (5, 4)), (9, 9, (1, 1)), (6, 50, (1, 7))]


@pytest.mark.parametrize("height,width,grid", SHAPES)
@pytest.mark.parametrize("n_iter", [1, 2, 6])
def test_float64_kernel_equals_torch_path(height, width, grid, n_iter):
    feats = np.random.default_rng(n_iter).random((5, height, width)) * 4
    ref = differentiable_slic(torch.from_numpy(feats)[None], grid, n_iter=n_iter)
    labels, centres = slic_labels(feats, grid, n_iter, fast_exp=False)
    np.testing.assert_array_equal(labels, ref.labels[0].numpy())
    np.testing.assert_allclose(centres, ref.centres[0].numpy().T, atol=1e-12)


def _smooth_image(seed=0, shape=(90, 120)):
    rgb = ndi.gaussian_filter(np.random.default_rng(seed).random(shape + (3,)), (3, 3, 0))
    return ((rgb - rgb.min()) / (rgb.max() - rgb.min())).astype(np.float32)


def test_float32_fast_kernel_close_to_float64_reference():
    rgb = _smooth_image()
    grid = grid_shape(60, *rgb.shape[:2])
    feats = xylab_features(torch.from_numpy(rgb).permute(2, 0, 1)[None].double(), grid)
    ref = differentiable_slic(feats, grid, n_iter=10)
    labels, centres = slic_labels(feats[0].float().numpy(), grid, 10)
    assert (labels != ref.labels[0].numpy()).mean() < 1e-3
    np.testing.assert_allclose(centres, ref.centres[0].numpy().T, atol=1e-2)


def test_polynomial_exp_accuracy():
    x = np.linspace(-46, 0, 100001).astype(np.float32)
    approx = np.array([_exp_poly(v) for v in x[::97]], np.float64)
    exact = np.exp(x[::97].astype(np.float64))
    assert np.max(np.abs(approx / exact - 1)) < 2e-5


def test_lab_features_match_torch_features():
    rgb = _smooth_image(1, (21, 34))
    grid = (3, 5)
    scale = position_scale(grid, 21, 34)
    ours = rgb_to_lab_features(rgb, scale, 0.26)
    ref = xylab_features(torch.from_numpy(rgb).permute(2, 0, 1)[None].double(), grid)[0]
    np.testing.assert_allclose(ours, ref.numpy(), atol=1e-4)


def test_rejects_integer_features():
    with pytest.raises(TypeError, match="float32 or float64"):
        slic_labels(np.zeros((5, 4, 4), np.int64), (2, 2))


@pytest.mark.parametrize("feature_net", ["pix", "deep"])
def test_segment_cpu_path_agrees_with_torch_module(feature_net):
    from ssn.inference import _labels_cpu
    from ssn.models import SSN, SSNConfig

    torch.manual_seed(0)
    net = SSN(SSNConfig(feature_net=feature_net)).eval()
    rgb = _smooth_image(2, (64, 80))
    grid = grid_shape(40, 64, 80)
    with torch.no_grad():
        fast = _labels_cpu(net, rgb, grid, 10)
        ref = net(torch.from_numpy(rgb).permute(2, 0, 1)[None], 40, n_iter=10).labels[0]
    assert (fast != ref.numpy()).mean() < 2e-3


_THREADS_AFTER_EACH_KERNEL = """
import sys
import numpy as np
import torch

torch.set_num_threads(1)  # as a training process with threads=1, before ssn is imported
import ssn
from ssn._kernels import rgb_to_lab_features, slic_labels
from ssn.connectivity import enforce_connectivity

counts = [torch.get_num_threads()]
rgb = np.random.default_rng(0).random((40, 50, 3)).astype(np.float32)
features = rgb_to_lab_features(rgb, 0.1, 0.26)
counts.append(torch.get_num_threads())
labels, _ = slic_labels(features, (4, 5), 3)
counts.append(torch.get_num_threads())
enforce_connectivity(labels, 20)
counts.append(torch.get_num_threads())
ssn.segment(rgb, n_segments=20)
counts.append(torch.get_num_threads())
print(counts)
"""


def test_kernels_leave_torchs_thread_count_as_it_was():
    """numba's OpenMP launches share torch's runtime (they raised a training process's
    1 thread to 2, issue 16); torch must keep its own count. In a fresh interpreter:
    the order of the first calls matters."""
    import subprocess
    import sys

    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one numba thread: its launches cannot raise torch's thread count")
    run = subprocess.run([sys.executable, "-c", _THREADS_AFTER_EACH_KERNEL],
                         capture_output=True, text=True, check=True)  # fmt: skip
    assert run.stdout.splitlines()[-1] == "[1, 1, 1, 1, 1]"


@pytest.mark.parametrize("dtype,scale", [(np.float32, 1e20), (np.float64, 1e160)])
def test_finite_features_whose_squares_overflow_never_raise_inside_numba(dtype, scale):
    """||s||² overflows to inf, every logit of a pixel is NaN, its weights sum to 0: the
    normalisation 1 / total was a ZeroDivisionError inside numba (a SystemError)."""
    feats = (np.random.default_rng(0).random((5, 12, 12)) * scale).astype(dtype)
    assert np.isfinite(feats).all() and feats.max() > np.sqrt(np.finfo(dtype).max)
    labels, centres = slic_labels(feats, (3, 3), 3)
    assert labels.shape == (12, 12) and 0 <= labels.min() and labels.max() < 9
    assert centres.shape == (9, 5)


def test_nan_features_give_labels_of_the_grid():
    """No centre wins a NaN pixel: it keeps its own cell's label, never -1 (off-grid)."""
    labels, _ = slic_labels(np.full((5, 12, 12), np.nan, np.float32), (3, 3), 3)
    assert 0 <= labels.min() and labels.max() < 9
