"""The CUDA path against the CPU path (skipped without a CUDA device).

``benchmarks/device_check.py`` runs these with ``pytest -m cuda`` on a GPU machine.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ssn
from ssn.functional import differentiable_slic, grid_shape
from ssn.models import SSN, SSNConfig

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
]


def _image(height=97, width=129, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.random((height // 8 + 1, width // 8 + 1, 3))
    return (
        np.kron(base, np.ones((8, 8, 1)))[:height, :width] * 0.8
        + rng.random((height, width, 3)) * 0.2
    )


@pytest.mark.parametrize("model", ["pix", "deep"])
def test_segment_cuda_equals_cpu(model):
    image = _image()
    cpu = ssn.segment(image, 60, model=model, device="cpu", enforce_connectivity=False)
    gpu = ssn.segment(image, 60, model=model, device="cuda", enforce_connectivity=False)
    assert (cpu == gpu).mean() > 0.99


def test_differentiable_slic_forward_backward_cuda_equals_cpu():
    torch.manual_seed(0)
    features = torch.rand(2, 7, 33, 41, dtype=torch.float64)
    grid = grid_shape(20, 33, 41)
    outs = {}
    for device in ("cpu", "cuda"):
        x = features.to(device).requires_grad_(True)
        out = differentiable_slic(x, grid, n_iter=5)
        (
            out.association.weights * torch.arange(9, device=device, dtype=x.dtype)[:, None, None]
        ).sum().backward()
        outs[device] = (out.association.weights.detach().cpu(), x.grad.cpu())
    torch.testing.assert_close(outs["cuda"][0], outs["cpu"][0])
    torch.testing.assert_close(outs["cuda"][1], outs["cpu"][1])


def test_official_caffe_network_cuda_equals_cpu():
    net = SSN(SSNConfig(upsample="caffe")).eval()
    x = torch.rand(1, 3, 65, 81)
    with torch.no_grad():
        cpu = net(x, 50).association.weights
        gpu = net.cuda()(x.cuda(), 50).association.weights.cpu()
    torch.testing.assert_close(gpu, cpu, atol=1e-4, rtol=1e-3)


def test_training_step_with_bf16_autocast_on_cuda():
    from ssn.losses import label_reconstruction_loss

    net = SSN(SSNConfig(feature_net="deep")).cuda().train()
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-4)
    images = torch.rand(2, 3, 65, 65, device="cuda")
    labels = torch.randint(0, 5, (2, 65, 65), device="cuda")
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out = net(images, 16)
    loss = label_reconstruction_loss(labels, out.association, 50)
    loss.backward()
    optimiser.step()
    assert torch.isfinite(loss)
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
