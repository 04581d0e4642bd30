"""SEAL (Tu et al., CVPR 2018): the affinity network against a written-out reference, its
input, the released weights (found, verified, loaded with ``weights_only``), and the
method ``seal`` in the registry. Tests of the real weights skip without
``../shared/weights/successors`` (or ``$SSN_WEIGHTS`` holding them)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import math
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch

from baselines.seal import (
    SEALNet,
    load_seal_net,
    pixel_affinities,
    seal_affinities,
    seal_input,
    seal_labels,
)
from ssn import official
from ssn.data import ChecksumError


# ------------------------------------------------------------- the written-out reference
def _pad_replicate(x: np.ndarray, top: int, bottom: int, left: int, right: int) -> np.ndarray:
    """Replication padding by explicit index clamping: out[y, x] = in[clamp(y), clamp(x)]."""
    channels, height, width = x.shape
    out = np.empty((channels, height + top + bottom, width + left + right))
    for y in range(out.shape[1]):
        for xx in range(out.shape[2]):
            out[:, y, xx] = x[
                :, min(max(y - top, 0), height - 1), min(max(xx - left, 0), width - 1)
            ]
    return out


def _conv(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Valid cross-correlation, one output value at a time: the sum over input channels
    and kernel taps of weight × input, plus the bias."""
    c_out, _, kh, kw = weight.shape
    height, width = x.shape[1] - kh + 1, x.shape[2] - kw + 1
    out = np.empty((c_out, height, width))
    for o in range(c_out):
        for y in range(height):
            for xx in range(width):
                out[o, y, xx] = np.sum(weight[o] * x[:, y : y + kh, xx : xx + kw]) + bias[o]
    return out


def _instance_norm_running(x: np.ndarray, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """InstanceNorm in eval mode with running statistics: per channel, the stored mean
    and variance (not the image's own), eps = 1e-5, no affine."""
    out = np.empty_like(x)
    for c in range(x.shape[0]):
        out[c] = (x[c] - mean[c]) / math.sqrt(var[c] + 1e-5)
    return out


def _relu(x):
    return np.maximum(x, 0.0)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _reference(state: dict, x: np.ndarray) -> np.ndarray:
    """SEAL's forward pass of one ``(4, H, W)`` input from the README's description, in
    float64 numpy: the affinity of every pixel to its right neighbour, ``(H, W)``."""
    s = {k: v.detach().double().numpy() for k, v in state.items()}

    def conv(name, t):
        return _conv(t, s[f"{name}.weight"], s[f"{name}.bias"])

    def norm(name, t):
        return _instance_norm_running(t, s[f"{name}.running_mean"], s[f"{name}.running_var"])

    pad = s["conv1.weight"].shape[-1] // 2
    out = _relu(norm("in1", conv("conv1", _pad_replicate(x[:3], 0, 0, pad, pad))))
    for block in ("res2", "res3", "res4"):
        inner = _relu(norm(f"{block}.in1", conv(f"{block}.conv1", _pad_replicate(out, 1, 1, 1, 1))))
        inner = norm(f"{block}.in2", conv(f"{block}.conv2", _pad_replicate(inner, 1, 1, 1, 1)))
        out = _relu(inner + out)
    out = _sigmoid(norm("in5", conv("conv5", out)))
    out = np.concatenate((out, x[3:4]), 0)
    out = _relu(norm("in6", conv("conv6", out)))
    return _sigmoid(norm("in7", conv("conv7", out)))[0]


def _random_net(channels=4, seed=0) -> SEALNet:
    """A small SEALNet in float64 with random weights and running statistics (so that
    every normalisation matters), in eval mode."""
    torch.manual_seed(seed)
    net = SEALNet(channels=channels).double().eval()
    with torch.no_grad():
        for name, tensor in net.state_dict().items():
            if name.endswith("running_mean"):
                tensor.uniform_(-0.5, 0.5)
            elif name.endswith("running_var"):
                tensor.uniform_(0.5, 2.0)
            elif name.endswith("weight"):  # unit gain: no sigmoid saturates
                tensor.normal_(0.0, 1.0 / math.sqrt(tensor[0].numel()))
            else:
                tensor.normal_(0.0, 0.1)
    return net


# The tolerance: in float64 each output is a chain of 10 layers; each layer's value is a
# sum of at most n = 9·C + 1 products (37 for C = 4, 1153 for the released C = 128), and
# two summation orders differ by at most n·u·Σ|terms| (u = 2⁻⁵³, Higham's γ_n). With the
# terms O(1) and the layers' gains O(10) that is below 1e4·n·u per layer, 1e5·n·u = 1e-8
# for n = 1153 after all ten and the sigmoids' slope of at most 1/4: far above the
# observed ~1e-15, and far below any real discrepancy (a wrong pad or statistic moves
# affinities by > 1e-3).
def _tolerance(channels: int) -> float:
    return 1e5 * (9 * channels + 1) * 2.0**-53


_EXPECTED_KEYS = [
    *(f"conv1.{p}" for p in ("weight", "bias")),
    *(f"in1.{p}" for p in ("running_mean", "running_var")),
    *(
        f"{block}.{layer}.{p}"
        for block in ("res2", "res3", "res4")
        for conv, norm in (("conv1", "in1"), ("conv2", "in2"))
        for layer, params in ((conv, ("weight", "bias")), (norm, ("running_mean", "running_var")))
        for p in params
    ),
    *(
        f"{layer}.{p}"
        for i in (5, 6, 7)
        for layer, params in ((f"conv{i}", ("weight", "bias")), (f"in{i}", ("running_mean", "running_var")))
        for p in params
    ),
]  # fmt: skip


class TestNetwork:
    def test_state_dict_has_the_released_keys_in_order(self):
        assert list(SEALNet().state_dict()) == _EXPECTED_KEYS and len(_EXPECTED_KEYS) == 40

    @pytest.mark.parametrize("shape", [(5, 6), (3, 8), (7, 4)])
    def test_forward_equals_the_written_out_reference(self, shape):
        net = _random_net()
        x = torch.rand(
            1, 4, *shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1)
        )
        with torch.no_grad():
            got = net(x)[0, 0].numpy()
        ref = _reference(net.state_dict(), x[0].numpy())
        np.testing.assert_allclose(got, ref, rtol=0, atol=_tolerance(4))

    def test_vertical_affinity_is_the_net_on_the_transposed_input(self):
        net = _random_net(seed=2)
        x = torch.rand(2, 4, 5, 7, dtype=torch.float64)
        with torch.no_grad():
            both = pixel_affinities(net, x)
        assert both.shape == (2, 2, 5, 7)
        for b in range(2):
            ref_x = _reference(net.state_dict(), x[b].numpy())
            ref_y = _reference(net.state_dict(), x[b].numpy().transpose(0, 2, 1)).T
            np.testing.assert_allclose(both[b, 0].numpy(), ref_x, rtol=0, atol=_tolerance(4))
            np.testing.assert_allclose(both[b, 1].numpy(), ref_y, rtol=0, atol=_tolerance(4))

    def test_eval_mode_normalises_with_the_running_statistics(self):
        """An image's affinities do not depend on the others in its batch, and differ
        from those of the image's own statistics (what train mode would use)."""
        import copy

        net = _random_net(seed=3)
        x = torch.rand(1, 4, 6, 6, dtype=torch.float64)
        with torch.no_grad():
            alone = net(x)
            batched = net(torch.cat((x, torch.rand_like(x)), 0))[:1]
            own_statistics = copy.deepcopy(net).train()(x)
        torch.testing.assert_close(batched, alone, rtol=0, atol=1e-14)
        assert (own_statistics - alone).abs().max() > 1e-3

    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    def test_output_shape_range_dtype_and_device_follow_the_input(self, dtype):
        net = _random_net(seed=4).to(dtype)
        x = torch.rand(3, 4, 9, 11, dtype=dtype)
        with torch.no_grad():
            out = pixel_affinities(net, x)
        assert out.shape == (3, 2, 9, 11) and out.dtype == dtype and out.device == x.device
        assert out.min() > 0 and out.max() < 1

    def test_tiny_inputs(self):
        net = _random_net(seed=5)
        for shape in [(1, 1), (1, 9), (9, 1), (2, 2)]:
            with torch.no_grad():
                out = pixel_affinities(net, torch.rand(1, 4, *shape, dtype=torch.float64))
            assert out.shape == (1, 2, *shape)

    def test_repr_lists_the_arguments(self):
        assert repr(SEALNet(channels=8, kernel_width=5)) == "SEALNet(channels=8, kernel_width=5)"


# ------------------------------------------------------------------------------- input
class TestInput:
    def test_bgr_in_unit_range_and_one_minus_canny(self):
        import cv2

        bgr = np.zeros((20, 30, 3), np.uint8)
        bgr[:, 15:] = (10, 200, 90)
        x = seal_input(bgr)
        assert x.shape == (4, 20, 30) and x.dtype == np.float32
        np.testing.assert_array_equal(x[:3, 0, 29], np.array([10, 200, 90], np.float32) / 255)
        np.testing.assert_array_equal(x[3], 1 - cv2.Canny(bgr, 50, 100).astype(np.float32) / 255)
        assert x[3, :, 14:16].min() == 0 and x[3, :, :10].min() == 1  # an edge, then none

    def test_refuses_what_is_not_8_bit_bgr(self):
        with pytest.raises(ValueError, match=r"\(H, W, 3\) uint8 image, got float64"):
            seal_input(np.zeros((4, 4, 3)))

    def test_the_network_sees_bgr_of_the_rgb_image(self):
        seen = []

        class Spy(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.weight = torch.nn.Parameter(torch.zeros(1))

            def forward(self, x):
                seen.append(x.clone())
                return torch.full_like(x[:, :1], 0.5)

        rgb = np.zeros((6, 8, 3), np.float32)
        rgb[..., 0] = 1.0  # red
        out = seal_affinities(rgb, Spy())
        assert out.shape == (2, 6, 8) and out.dtype == np.float32
        assert seen[0][0, 2].min() == 1 and seen[0][0, :2].max() == 0  # R is BGR's last
        assert seen[1].shape == (1, 4, 8, 6)  # the second pass: the transposed input


# ---------------------------------------------------------------------------- superpixels
def test_labels_cut_where_the_affinity_is_low():
    a = np.full((2, 10, 12), 0.9)
    a[0, :, 5] = 0.01  # between columns 5 and 6
    labels = seal_labels(a, 2)
    assert labels.dtype == np.int32
    assert (labels[:, :6] == 0).all() and (labels[:, 6:] == 1).all()


def test_seal_labels_are_the_split_of_the_raw_ers_clusters():
    """The benchmark scores both from one ERS run; seal_labels must be their split."""
    from baselines._common import relabel_consecutive
    from baselines.ers import _ers_weighted, _split_8_connected, _weighted_edges, affinity_diagonals

    a = np.random.default_rng(0).uniform(0.05, 0.95, (2, 16, 20))
    h, v = a[0, :, :-1].copy(), a[1, :-1].copy()
    ea, eb, wt = _weighted_edges(h, v, *affinity_diagonals(h, v), True)
    roots = _ers_weighted(ea, eb, wt, 16 * 20, 12, 0.5 * 12).reshape(16, 20)
    expected = relabel_consecutive(_split_8_connected(roots, 12))[0]
    np.testing.assert_array_equal(seal_labels(a, 12), expected)


# ------------------------------------------------------------------------------- weights
def _state_bytes(state) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


@pytest.fixture
def fake_seal(monkeypatch, tmp_path):
    """seal-bsds500 as a small random SEALNet's state dict in $SSN_WEIGHTS, its digest
    pinned in the catalog; returns (folder, bytes, state)."""
    state = SEALNet(channels=4).state_dict()
    data = _state_bytes(state)
    folder = tmp_path / "weights"
    folder.mkdir()
    (folder / "seal_bsds500.pkl").write_bytes(data)
    model = official.OFFICIAL_MODELS["seal-bsds500"]
    pinned = dataclasses.replace(model, sha256=hashlib.sha256(data).hexdigest())
    monkeypatch.setitem(official.OFFICIAL_MODELS, "seal-bsds500", pinned)
    monkeypatch.setenv("SSN_WEIGHTS", str(folder))
    monkeypatch.setenv("SSN_HOME", str(tmp_path / "home"))
    return folder, data, state


class TestWeights:
    def test_catalog_entries(self):
        for name, file, task in [("seal-bsds500", "seal_bsds500.pkl", "bsds500"),
                                 ("seal-cityscapes", "seal_cityscapes.pkl", "cityscapes")]:  # fmt: skip
            model = official.OFFICIAL_MODELS[name]
            assert (model.file, model.task, model.network) == (file, task, "seal")
            assert model.url.startswith(
                "https://raw.githubusercontent.com/wctu/SEAL/66317a95d8e545fb431ae9e26b762fa1e5a132b0/test/"
            )
            assert "CC BY-NC-SA 4.0" in model.licence and "NVIDIA" in model.licence
            assert not official.is_official(name)  # not a name ssn.segment(model=) takes

    def test_get_state_dict_verifies_then_loads(self, fake_seal):
        _, _, state = fake_seal
        loaded = official.get_state_dict("seal-bsds500")
        assert list(loaded) == list(state)
        for key in state:
            torch.testing.assert_close(loaded[key], state[key], rtol=0, atol=0)

    def test_a_tampered_file_is_refused_before_it_is_unpickled(self, fake_seal, monkeypatch):
        folder, data, _ = fake_seal
        tampered = bytearray(data)
        tampered[len(tampered) // 2] ^= 1
        (folder / "seal_bsds500.pkl").write_bytes(bytes(tampered))
        loads = []
        monkeypatch.setattr(torch, "load", lambda *a, **k: loads.append(a))
        with pytest.raises(ChecksumError, match=r"seal-bsds500 from SSN_WEIGHTS: sha256 "
                           r"mismatch .*; replace it with a good copy of seal_bsds500\.pkl"):  # fmt: skip
            official.get_state_dict("seal-bsds500")
        with pytest.raises(ChecksumError):
            load_seal_net("bsds500", "cpu")
        assert loads == []

    def test_weights_only_refuses_a_pickle_that_would_run_code(self, fake_seal, monkeypatch):
        """Even a file with the pinned digest is unpickled with weights_only=True."""
        folder, _, _ = fake_seal

        class Payload:
            def __reduce__(self):
                return (print, ("this ran",))

        data = pickle.dumps({"conv1.weight": Payload()}, protocol=2)
        (folder / "seal_bsds500.pkl").write_bytes(data)
        pinned = dataclasses.replace(
            official.OFFICIAL_MODELS["seal-bsds500"], sha256=hashlib.sha256(data).hexdigest()
        )
        monkeypatch.setitem(official.OFFICIAL_MODELS, "seal-bsds500", pinned)
        with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
            official.get_state_dict("seal-bsds500")

    def test_load_refuses_a_seal_model_and_get_state_dict_an_ssn_one(self):
        with pytest.raises(ValueError, match="seal-bsds500 is a seal model, not an SSN"):
            official.load("seal-bsds500")
        with pytest.raises(ValueError, match="official-bsds500 is a Caffe model"):
            official.get_state_dict("official-bsds500")

    def test_a_state_dict_of_another_net_is_a_value_error(self, tmp_path):
        path = tmp_path / "other.pt"
        torch.save({"fc.weight": torch.zeros(2, 2)}, path)
        with pytest.raises(ValueError, match=r"other.pt is not a SEAL state dict: 40 keys missing "
                           r"\(conv1.weight, conv1.bias, \.\.\.\), 1 unexpected \(fc.weight\)$"):  # fmt: skip
            load_seal_net(path, "cpu")

    def test_a_saved_state_dict_path_loads(self, tmp_path):
        net = _random_net(channels=128, seed=6).float()
        path = tmp_path / "mine.pt"
        torch.save(net.state_dict(), path)
        loaded = load_seal_net(path, "cpu")
        for key, value in net.state_dict().items():
            torch.testing.assert_close(loaded.state_dict()[key], value, rtol=0, atol=0)
        assert not loaded.training

    def test_a_file_that_is_no_state_dict_is_a_value_error(self, tmp_path):
        path = tmp_path / "noise.pkl"
        path.write_bytes(bytes(range(256)))
        with pytest.raises(ValueError, match=r"noise.pkl is not a SEAL state dict: "):
            load_seal_net(path, "cpu")
        runs = tmp_path / "runs.pkl"
        runs.write_bytes(pickle.dumps(print, protocol=2))  # a global that is not allowed
        with pytest.raises(ValueError, match=r"runs.pkl is not a SEAL state dict: Weights only"):
            load_seal_net(runs, "cpu")

    @pytest.mark.parametrize("model", [None, 3, ["bsds500"]])
    def test_bad_model_values(self, model):
        with pytest.raises(ValueError, match=r"model must be 'bsds500', 'cityscapes' or the path"):
            load_seal_net(model, "cpu")

    def test_unknown_name_is_not_found(self):
        with pytest.raises(FileNotFoundError, match="'bsd500' is neither 'bsds500' nor"):
            load_seal_net("bsd500", "cpu")

    def test_offline_without_the_file_says_how_to_fetch_it(self, monkeypatch, tmp_path):
        monkeypatch.delenv("SSN_WEIGHTS", raising=False)
        monkeypatch.setenv("SSN_HOME", str(tmp_path))
        with pytest.raises(FileNotFoundError, match=r"run `ssn models fetch seal-cityscapes` "
                           r"\(downloads seal_cityscapes.pkl from the authors' link, CC BY-NC"):  # fmt: skip
            load_seal_net("cityscapes", "cpu")


# ------------------------------------------------------------------- the released weights
class TestReleasedWeights:
    @pytest.mark.parametrize(("name", "entries"), [("seal-bsds500", 40), ("seal-cityscapes", 40),
                                                   ("lnsnet-bsds500", 24)])  # fmt: skip
    def test_found_verified_and_loaded_weights_only(
        self, monkeypatch, successor_weights, name, entries
    ):
        monkeypatch.setenv("SSN_WEIGHTS", str(successor_weights))
        model = official.OFFICIAL_MODELS[name]
        assert official.locate(name) == successor_weights / model.file
        state = official.get_state_dict(name)
        assert len(state) == entries
        if model.network == "seal":
            assert list(state) == _EXPECTED_KEYS
            SEALNet().load_state_dict(state, strict=True)

    def test_the_released_net_equals_the_reference(self, monkeypatch, successor_weights):
        """The real weights (C = 128) through the written-out reference, in float64."""
        monkeypatch.setenv("SSN_WEIGHTS", str(successor_weights))
        net = load_seal_net("bsds500", "cpu").double()
        x = torch.rand(1, 4, 4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
        with torch.no_grad():
            got = net(x)[0, 0].numpy()
        np.testing.assert_allclose(got, _reference(net.state_dict(), x[0].numpy()), rtol=0,
                                   atol=_tolerance(128))  # fmt: skip

    @pytest.mark.realdata
    def test_segments_a_bsds500_image_near_the_count(self, monkeypatch, successor_weights,
                                                     bsds_root):  # fmt: skip
        from ssn.io import read_image
        from ssn.methods import load_segmenter

        monkeypatch.setenv("SSN_WEIGHTS", str(successor_weights))
        image = read_image(sorted((bsds_root / "images" / "test").glob("*.jpg"))[0])[:160, :200]
        segmenter = load_segmenter("seal", model="bsds500", device="cpu")
        affinities = seal_affinities(
            image.astype(np.float32) / 255, load_seal_net("bsds500", "cpu")
        )
        assert affinities.min() > 0 and affinities.max() < 1
        labels = segmenter(image, 100)
        assert labels.shape == (160, 200) and abs(int(labels.max()) + 1 - 100) <= 15

    def test_cli_segment_with_the_cityscapes_model(self, successor_weights, tmp_path):
        from PIL import Image

        image = (np.random.default_rng(0).random((30, 40, 3)) * 255).astype(np.uint8)
        Image.fromarray(image).save(tmp_path / "in.png")
        env = {**__import__("os").environ, "SSN_WEIGHTS": str(successor_weights)}
        result = subprocess.run(
            [sys.executable, "-m", "ssn.cli", "segment", str(tmp_path / "in.png"), "-k", "12",
             "--method", "seal", "--model", "cityscapes", "--device", "cpu",
             "--out", str(tmp_path / "labels.npy")],
            capture_output=True, text=True, check=False, env=env,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "method seal" in result.stdout
        assert np.load(tmp_path / "labels.npy").shape == (30, 40)


def test_cli_model_for_a_method_without_models_is_an_error(tmp_path, capsys):
    from PIL import Image

    from ssn.cli import main

    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "in.png")
    code = main(["segment", str(tmp_path / "in.png"), "-k", "2", "--method", "slic",
                 "--model", "cityscapes", "--out", str(tmp_path / "l.npy")])  # fmt: skip
    assert code == 2
    assert "--model is not an option of method 'slic'" in capsys.readouterr().err


class TestAffinityCache:
    """The workflow segments one image at several K in separate jobs: the affinities
    are kept on disk, keyed by the weights and the image, and are exactly the computed
    ones."""

    @staticmethod
    def _counting(net):
        calls = []

        def compute(image):
            calls.append(image.shape)
            return seal_affinities(image, net)

        return compute, calls

    def test_kept_affinities_are_the_computed_ones_and_computed_once(self, tmp_path):
        from baselines.seal import AffinityCache

        net = _random_net(channels=4, seed=1).float()
        rgb = np.random.default_rng(0).random((9, 11, 3)).astype(np.float32)
        cache = AffinityCache(tmp_path, net)
        compute, calls = self._counting(net)
        first = cache.get(rgb, compute)
        again = AffinityCache(tmp_path, net).get(rgb.copy(), compute)  # another process
        assert len(calls) == 1 and again.dtype == np.float32
        np.testing.assert_array_equal(again, seal_affinities(rgb, net))
        np.testing.assert_array_equal(first, again)
        assert [p.suffix for p in tmp_path.iterdir()] == [".npy"]  # no temporary left

    def test_another_image_or_other_weights_never_read_these(self, tmp_path):
        from baselines.seal import AffinityCache

        net = _random_net(channels=4, seed=1).float()
        other_net = _random_net(channels=4, seed=2).float()
        rgb = np.random.default_rng(0).random((9, 11, 3)).astype(np.float32)
        changed = rgb.copy()
        changed[4, 5, 1] += 1e-3
        paths = {AffinityCache(tmp_path, net).path(rgb),
                 AffinityCache(tmp_path, net).path(changed),
                 AffinityCache(tmp_path, net).path(rgb.reshape(11, 9, 3)),
                 AffinityCache(tmp_path, other_net).path(rgb),
                 AffinityCache(tmp_path, net.double()).path(rgb)}  # fmt: skip
        assert len(paths) == 5

    def test_a_file_cut_short_is_computed_again(self, tmp_path):
        from baselines.seal import AffinityCache

        net = _random_net(channels=4, seed=1).float()
        rgb = np.random.default_rng(0).random((9, 11, 3)).astype(np.float32)
        cache = AffinityCache(tmp_path, net)
        cache.path(rgb).write_bytes(np.lib.format.MAGIC_PREFIX)  # a crash mid-write
        compute, calls = self._counting(net)
        np.testing.assert_array_equal(cache.get(rgb, compute), seal_affinities(rgb, net))
        assert len(calls) == 1
        np.testing.assert_array_equal(np.load(cache.path(rgb)), seal_affinities(rgb, net))

    def test_the_segmenter_gives_the_same_labels_with_and_without_it(self, tmp_path):
        from ssn.methods import load_segmenter

        net = _random_net(channels=128, seed=6).float()
        torch.save(net.state_dict(), tmp_path / "mine.pt")
        image = (np.random.default_rng(3).random((24, 30, 3)) * 255).astype(np.uint8)
        plain = load_segmenter("seal", model=tmp_path / "mine.pt", device="cpu")
        kept = load_segmenter("seal", model=tmp_path / "mine.pt", device="cpu",
                              affinity_cache=tmp_path / "cache")  # fmt: skip
        for k in (6, 12):
            np.testing.assert_array_equal(kept(image, k), plain(image, k))
        assert len(list((tmp_path / "cache").glob("*.npy"))) == 1
