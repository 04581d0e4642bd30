"""Feature networks, the SSN module, losses and checkpoints."""

from __future__ import annotations

import re

import pytest
import torch

from ssn.checkpoint import (
    compact_checkpoint,
    export_weights,
    load_checkpoint,
    load_model,
    save_checkpoint,
)
from ssn.functional import (
    Association,
    dense_slic_reference,
    differentiable_slic,
    initial_labels,
)
from ssn.losses import compactness_loss, reconstruction, reconstruction_loss
from ssn.models import SSN, SSNConfig, SSNDeep, SSNLinear


class TestFeatureNets:
    @pytest.mark.parametrize("height,width", [(201, 201), (37, 50), (1, 1), (8, 3)])
    def test_deep_shapes_any_size(self, height, width):
        net = SSNDeep().eval()
        x = torch.rand(2, 5, height, width)
        out = net(x)
        assert out.shape == (2, 20, height, width)
        torch.testing.assert_close(out[:, :5], x)  # the XYLab input is passed through

    def test_deep_layout_is_official(self):
        net = SSNDeep()
        convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
        assert len(convs) == 7
        assert [c.out_channels for c in convs] == [64] * 6 + [15]
        assert all(c.kernel_size == (3, 3) and c.bias is not None for c in convs)
        assert convs[-1].in_channels == 5 + 3 * 64  # [input, conv2, up(conv4), up(conv6)]
        bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        assert len(bns) == 6 and not any(b.affine for b in bns)

    def test_linear(self):
        net = SSNLinear()
        x = torch.rand(1, 5, 9, 9)
        assert net(x).shape == (1, 20, 9, 9)
        assert sum(p.numel() for p in net.parameters()) == 15 * 5 * 9 + 15

    def test_pix_has_no_parameters(self):
        net = SSN(SSNConfig(feature_net="pix"))
        assert not list(net.parameters())
        assert net.config.n_features == 5
        with pytest.raises(ValueError, match="SSN_pix's features are its 5 input channels"):
            SSNConfig(feature_net="pix", n_features=20)  # refused, not overwritten

    def test_config_validation(self):
        with pytest.raises(ValueError, match="feature_net"):
            SSNConfig(feature_net="resnet")
        with pytest.raises(ValueError, match="n_features"):
            SSNConfig(feature_net="deep", n_features=5)


class TestSSN:
    @pytest.mark.parametrize("feature_net", ["linear", "deep"])
    def test_gradients_reach_every_parameter(self, feature_net):
        torch.manual_seed(0)
        net = SSN(SSNConfig(feature_net=feature_net)).train()
        image = torch.rand(2, 3, 33, 33)
        out = net(image, n_segments=9)
        target = torch.nn.functional.one_hot(torch.randint(0, 3, (2, 33, 33)), 3)
        loss = reconstruction_loss(target.permute(0, 3, 1, 2).float(), out.association)
        loss.backward()
        for name, p in net.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), name
            assert p.grad.abs().sum() > 0, f"no gradient reaches {name}"

    def test_iterations_are_n_iter_else_n_iter_test_in_any_mode(self):
        net = SSN(SSNConfig(feature_net="pix", n_iter_train=1, n_iter_test=6))
        image = torch.rand(1, 3, 20, 20, dtype=torch.float64)
        feats = net.pixel_features(image, (2, 2), net.config.eta)
        q_ref1, _ = dense_slic_reference(feats, (2, 2), 1)
        q_ref6, _ = dense_slic_reference(feats, (2, 2), 6)
        # explicit: training passes its n_iter; the default is the test-time one
        out_train = net.train()(image, 4, n_iter=net.config.n_iter_train)
        out_eval = net.train()(image, 4)
        own = initial_labels(20, 20, (2, 2)).view(-1)
        # The own-cell weight (j = 4) is the dense entry at each pixel's own superpixel.
        pix = torch.arange(400)
        torch.testing.assert_close(
            out_train.association.weights[0, 4].reshape(-1), q_ref1[0, pix, own]
        )
        torch.testing.assert_close(
            out_eval.association.weights[0, 4].reshape(-1), q_ref6[0, pix, own]
        )

    def test_wrong_extra_channels(self):
        net = SSN(SSNConfig(feature_net="pix"))
        with pytest.raises(ValueError, match="input channels"):
            net(torch.rand(1, 3, 10, 10), 4, next_frame=torch.rand(1, 3, 10, 10))


class TestLosses:
    def _hard_association(self, height, width, grid):
        # Every pixel fully in its own initial cell (j = 4).
        weights = torch.zeros(1, 9, height, width, dtype=torch.float64)
        weights[:, 4] = 1
        return Association(weights, grid)

    def test_reconstruction_with_hard_association_is_cell_mean(self):
        assoc = self._hard_association(4, 4, (2, 2))
        target = torch.arange(16.0, dtype=torch.float64).view(1, 1, 4, 4)
        recon = reconstruction(target, assoc)
        # Top-left cell holds 0, 1, 4, 5: mean 2.5.
        assert recon[0, 0, 0, 0].item() == pytest.approx(2.5)
        assert recon[0, 0, 3, 3].item() == pytest.approx((10 + 11 + 14 + 15) / 4)

    def test_cross_entropy_hand_value(self):
        assoc = self._hard_association(2, 2, (1, 1))
        # Labels [[0, 0], [0, 1]] in one superpixel: reconstruction (3/4, 1/4) everywhere.
        labels = torch.tensor([[0, 0], [0, 1]])
        target = torch.nn.functional.one_hot(labels, 2).permute(2, 0, 1)[None].double()
        loss = reconstruction_loss(target, assoc)
        expected = -(3 * torch.log(torch.tensor(0.75)) + torch.log(torch.tensor(0.25))) / 4
        assert loss.item() == pytest.approx(expected.item())

    def test_cross_entropy_ignores_unlabelled_pixels(self):
        assoc = self._hard_association(2, 2, (1, 1))
        target = torch.zeros(1, 2, 2, 2, dtype=torch.float64)
        target[0, 0, 0, :] = 1  # top row labelled 0, bottom row ignored (all-zero)
        # Reconstruction of class 0 is 2/4 = 0.5 on the two counted pixels.
        assert reconstruction_loss(target, assoc).item() == pytest.approx(
            -torch.log(torch.tensor(0.5)).item()
        )

    def test_l1_zero_for_flow_constant_per_superpixel(self):
        assoc = self._hard_association(4, 4, (2, 2))
        flow = torch.zeros(1, 2, 4, 4, dtype=torch.float64)
        flow[:, :, :2, :2] = 3.0
        assert reconstruction_loss(flow, assoc, kind="l1").item() == pytest.approx(0.0)
        flow[0, 0, 0, 0] = 7.0  # cell mean 4: |7-4| + 3·|3-4| = 6 over 16 pixels
        assert reconstruction_loss(flow, assoc, kind="l1").item() == pytest.approx(6 / 16)

    def test_compactness_hand_value(self):
        assoc = self._hard_association(2, 2, (1, 1))
        labels = torch.zeros(1, 2, 2, dtype=torch.int64)
        pos = torch.tensor([[[0.0, 0.0], [1.0, 1.0]], [[0.0, 1.0], [0.0, 1.0]]]).double()[None]
        # Centre (0.5, 0.5); each pixel is 0.5² + 0.5² = 0.5 away: sum 2, /(2·B) = 1.
        assert compactness_loss(pos, assoc, labels).item() == pytest.approx(1.0)
        assert compactness_loss(pos, assoc, labels, reduction="mean").item() == pytest.approx(0.25)

    def test_gradcheck_losses(self):
        feats = torch.rand(1, 3, 6, 7, dtype=torch.float64) * 3
        feats.requires_grad_()
        labels = torch.randint(0, 3, (1, 6, 7))
        target = torch.nn.functional.one_hot(labels, 3).permute(0, 3, 1, 2).double()
        flow = torch.randn(1, 2, 6, 7, dtype=torch.float64)

        def total(f):
            out = differentiable_slic(f, (2, 2), n_iter=2)
            return (
                reconstruction_loss(target, out.association)
                + reconstruction_loss(flow, out.association, kind="l1")
                + compactness_loss(f[:, :2], out.association, out.labels)
            )

        assert torch.autograd.gradcheck(total, (feats,))

    def test_bad_kind(self):
        assoc = self._hard_association(2, 2, (1, 1))
        with pytest.raises(ValueError, match="kind"):
            reconstruction_loss(torch.zeros(1, 1, 2, 2).double(), assoc, kind="l2")


class TestCheckpoint:
    def test_round_trip(self, tmp_path):
        torch.manual_seed(0)
        net = SSN(SSNConfig(feature_net="linear"))
        path = tmp_path / "model.pt"
        save_checkpoint(path, net, step=7)
        loaded = load_model(path)
        assert loaded.config == net.config
        for a, b in zip(net.state_dict().values(), loaded.state_dict().values(), strict=True):
            torch.testing.assert_close(a, b)
        assert load_checkpoint(path)["step"] == 7
        assert not list(tmp_path.glob(".*tmp"))

    def test_export_drops_training_state(self, tmp_path):
        net = SSN(SSNConfig(feature_net="linear"))
        full = tmp_path / "full.pt"
        save_checkpoint(full, net, optimizer={"state": {}}, iter=3, rng={"x": torch.zeros(1)})
        small = export_weights(full, tmp_path / "w" / "small.pt", test_asa=0.9)
        state = load_checkpoint(small)
        assert set(state) == {"model_args", "model", "iter", "test_asa"}
        assert load_model(small).config == net.config

    def test_compact_checkpoint_resumes_adam_to_bfloat16_rounding(self, tmp_path):
        torch.manual_seed(0)
        net = SSN(SSNConfig(feature_net="deep"))
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
        for _ in range(2):
            optimizer.zero_grad()
            sum(p.square().sum() for p in net.parameters()).backward()
            optimizer.step()
        full = tmp_path / "full.pt"
        save_checkpoint(full, net, optimizer=optimizer.state_dict(), iter=2)
        small = compact_checkpoint(full, tmp_path / "small.pt")
        assert small.stat().st_size < 0.7 * full.stat().st_size
        state = load_checkpoint(small)
        assert state["iter"] == 2 and state["model_args"] == load_checkpoint(full)["model_args"]
        resumed = load_model(small)
        for a, b in zip(net.state_dict().values(), resumed.state_dict().values(), strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=0)  # the weights are exact
        again = torch.optim.Adam(resumed.parameters(), lr=1e-3)
        again.load_state_dict(state["optimizer"])
        for param, original in zip(resumed.parameters(), net.parameters(), strict=True):
            mine, theirs = again.state[param], optimizer.state[original]
            assert mine["step"] == theirs["step"]
            for key in ("exp_avg", "exp_avg_sq"):
                assert mine[key].dtype == torch.float32
                torch.testing.assert_close(mine[key], theirs[key], rtol=2**-8, atol=0)

    def test_export_keeps_the_training_cost(self, tmp_path):
        net = SSN(SSNConfig(feature_net="linear"))
        full = tmp_path / "full.pt"
        save_checkpoint(full, net, optimizer={"state": {}}, iter=3, train_seconds=12.5,
                        train_device="AMD EPYC (2 logical CPUs); NVIDIA H200")  # fmt: skip
        state = load_checkpoint(export_weights(full, tmp_path / "small.pt"))
        assert state["train_seconds"] == 12.5
        assert state["train_device"] == "AMD EPYC (2 logical CPUs); NVIDIA H200"
        assert "optimizer" not in state

    def test_refuses_bad_files(self, tmp_path):
        with pytest.raises(FileNotFoundError):
            load_model(tmp_path / "missing.pt")
        junk = tmp_path / "junk.pt"
        junk.write_bytes(b"not a checkpoint")
        with pytest.raises(ValueError, match="not a readable SSN checkpoint"):
            load_model(junk)
        other = tmp_path / "other.pt"
        torch.save({"weights": torch.zeros(3)}, other)
        with pytest.raises(ValueError, match="not an SSN checkpoint"):
            load_model(other)
        mismatched = tmp_path / "mismatch.pt"
        torch.save({"model_args": SSNConfig(feature_net="deep").to_dict(), "model": {}}, mismatched)
        with pytest.raises(ValueError, match="does not match"):
            load_model(mismatched)

    @pytest.mark.parametrize(
        "key,index,value,what",
        [
            (
                "feature_net.conv3.0.weight",
                (5, 2, 1, 0),
                float("nan"),
                r"non-finite \(NaN or Inf\)",
            ),
            ("feature_net.conv7.bias", (3,), float("-inf"), r"non-finite \(NaN or Inf\)"),
            ("feature_net.conv2.1.running_var", (7,), -0.5, "negative BatchNorm variance"),
        ],
    )
    def test_weights_no_network_has_are_refused_naming_the_tensor(
        self, tmp_path, key, index, value, what
    ):
        net = SSN(SSNConfig(feature_net="deep"))
        with torch.no_grad():
            net.state_dict()[key][index] = value
        path = tmp_path / "flipped.pt"
        save_checkpoint(path, net)
        match = rf"flipped.pt: {key} holds 1 {what} value\(s\) of \d+ \(the first at index "
        with pytest.raises(ValueError, match=match + re.escape(f"{index}: {value}")):
            load_model(path)

    def test_pickled_code_is_refused(self, tmp_path):
        # weights_only=True: a checkpoint that would run code on load is rejected.
        evil = tmp_path / "evil.pt"
        torch.save({"model_args": {}, "model": {}, "payload": SSNConfig()}, evil)
        with pytest.raises(ValueError, match="not a readable SSN checkpoint"):
            load_checkpoint(evil)

    def test_refused_pickle_does_not_invite_weights_only_false(self, tmp_path):
        """Issue #12 (14): PyTorch's advice to pass weights_only=False is not repeated."""
        evil = tmp_path / "evil.pt"
        torch.save({"model_args": {}, "model": {}, "payload": SSNConfig()}, evil)
        with pytest.raises(ValueError, match="could run code") as err:
            load_checkpoint(evil)
        assert "weights_only" not in str(err.value) and "\n" not in str(err.value)


class TestLabelReconstructionLoss:
    @pytest.mark.parametrize(
        "height,width,grid", [(13, 17, (3, 4)), (8, 8, (1, 1)), (11, 23, (2, 5))]
    )
    def test_equals_one_hot_cross_entropy_value_and_gradient(self, height, width, grid):
        from ssn.losses import label_reconstruction_loss

        torch.manual_seed(0)
        feats = (torch.rand(2, 4, height, width, dtype=torch.float64) * 3).requires_grad_()
        labels = torch.randint(-1, 5, (2, height, width))  # -1: ignored pixels
        valid = torch.rand(2, height, width) > 0.2
        onehot = torch.nn.functional.one_hot(labels.clamp(min=0), 5).permute(0, 3, 1, 2)
        onehot = (onehot * (labels >= 0).unsqueeze(1)).double()

        def losses(f):
            out = differentiable_slic(f, grid, n_iter=3)
            dense = reconstruction_loss(onehot, out.association, valid=valid & (labels >= 0))
            sparse = label_reconstruction_loss(labels, out.association, 5, valid=valid)
            return dense, sparse

        dense, sparse = losses(feats)
        torch.testing.assert_close(sparse, dense)
        (g_dense,) = torch.autograd.grad(dense, feats)
        (g_sparse,) = torch.autograd.grad(losses(feats)[1], feats)
        torch.testing.assert_close(g_sparse, g_dense)

    def test_gradcheck(self):
        from ssn.losses import label_reconstruction_loss

        feats = (torch.rand(1, 3, 6, 7, dtype=torch.float64) * 3).requires_grad_()
        labels = torch.randint(0, 3, (1, 6, 7))

        def loss(f):
            out = differentiable_slic(f, (2, 2), n_iter=2)
            return label_reconstruction_loss(labels, out.association, 3)

        assert torch.autograd.gradcheck(loss, (feats,))

    def test_shape_error(self):
        from ssn.losses import label_reconstruction_loss

        with pytest.raises(ValueError, match=r"\(B, H, W\)"):
            label_reconstruction_loss(
                torch.zeros(1, 4, 4, dtype=torch.int64),
                Association(torch.rand(1, 9, 5, 5), (1, 1)),
                2,
            )


def test_fold_for_inference_keeps_the_function():
    """Issue #13 (2): BatchNorm folded into the convolutions and channels-last give the
    same features (to float rounding) and the same superpixels; kept models are folded."""
    import copy

    import numpy as np

    from ssn.inference import segment

    torch.manual_seed(0)
    plain = SSN(SSNConfig(feature_net="deep"))
    for module in plain.modules():  # BatchNorm statistics that are not the identity
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 2.0)
    plain.eval()
    folded = copy.deepcopy(plain).fold_for_inference()
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    x = torch.rand(1, 5, 37, 53)
    with torch.no_grad():
        torch.testing.assert_close(
            folded.feature_net(x), plain.feature_net(x), atol=1e-5, rtol=1e-4
        )
    image = (np.random.default_rng(0).random((37, 53, 3)) * 255).astype(np.uint8)
    a = segment(image, 20, model=plain, device="cpu")
    b = segment(image, 20, model=folded, device="cpu")
    assert (a == b).mean() > 0.999


@pytest.mark.parametrize("upsample", ["resize", "caffe"])
def test_conv7_per_part_equals_conv7_of_the_concatenation(upsample):
    """SSNDeep runs conv7 as a sum of one convolution per input part: the same
    function, and the same gradients, as conv7 on the concatenated input."""
    torch.manual_seed(0)
    net = SSNDeep(5, 20, width=8, upsample=upsample).double()
    torch.nn.init.normal_(net.conv7.weight, std=0.1)
    torch.nn.init.normal_(net.conv7.bias, std=0.1)
    x = torch.randn(2, 5, 17, 23, dtype=torch.float64)
    parts = (x, torch.randn(2, 8, 17, 23, dtype=torch.float64),
             torch.randn(2, 8, 17, 23, dtype=torch.float64),
             torch.randn(2, 8, 17, 23, dtype=torch.float64))  # fmt: skip
    split = net._conv7(parts)
    whole = net.conv7(torch.cat(parts, dim=1))
    torch.testing.assert_close(split, whole, rtol=1e-12, atol=1e-12)
    grad_split = torch.autograd.grad(split.square().sum(), net.conv7.weight)[0]
    grad_whole = torch.autograd.grad(whole.square().sum(), net.conv7.weight)[0]
    torch.testing.assert_close(grad_split, grad_whole, rtol=1e-12, atol=1e-12)
