"""The paper's released models: the Caffe reader, the official network semantics
(ceil-mode pooling, Interp + Crop), the frame-pair input of the Sintel model, and how a
user gets the models (SSN_WEIGHTS, models config, cache, download, names)."""

from __future__ import annotations

import hashlib
import math
import os
import re
import struct
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import ssn
from ssn import official
from ssn.caffe import CaffeFormatError, caffe_to_state_dict, convert, read_caffemodel
from ssn.checkpoint import load_model, save_checkpoint
from ssn.data import ChecksumError
from ssn.models import SSN, SSNConfig, SSNDeep, caffe_interp_crop


# ------------------------------------------------- a protobuf writer, independent of the reader
def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _blob(array: np.ndarray, *, packed=True, legacy=False) -> bytes:
    array = np.asarray(array, dtype="<f4")
    if legacy:  # num / channels / height / width varints, as written before BlobShape
        dims = (list(array.shape) + [1, 1, 1, 1])[:4] if array.ndim < 4 else array.shape
        head = b"".join(
            _varint(f << 3) + _varint(d) for f, d in zip((1, 2, 3, 4), dims, strict=True)
        )
    else:
        dims = b"".join(_varint(d) for d in array.shape)
        head = _field(7, _field(1, dims))
    if packed:
        data = _field(5, array.tobytes())
    else:
        data = b"".join(_varint(5 << 3 | 5) + struct.pack("<f", v) for v in array.ravel())
    return head + data


def _layer(name: str, type_: str, blobs=(), **blob_kw) -> bytes:
    body = _field(1, name.encode()) + _field(2, type_.encode())
    body += _varint(10 << 3) + _varint(0)  # a varint field the reader skips (phase)
    for b in blobs:
        body += _field(7, _blob(b, **blob_kw))
    return _field(100, body)


def _fake_ssn(rng, in_channels=5, factor=999.98, weights=None, **blob_kw):
    """An SSN_deep .caffemodel with random weights, and the state dict it must give.

    ``weights`` maps a convolution's number (1-7) to the weight array to write instead.
    """
    net, state = _field(1, b"fake-ssn"), {}
    weights = weights or {}
    cin = in_channels
    for i in range(1, 7):
        w = weights.get(i, rng.normal(size=(64, cin, 3, 3)).astype(np.float32))
        b = rng.normal(size=64).astype(np.float32)
        mean = rng.normal(size=64).astype(np.float32)
        var = rng.uniform(0.5, 2, size=64).astype(np.float32)
        f = np.array([factor], np.float32)
        net += _layer(f"Convolution{i}", "Convolution", (w, b), **blob_kw)
        net += _layer(f"BatchNorm{i}", "BatchNorm", (mean, var, f), **blob_kw)
        net += _layer(f"ReLU{i}", "ReLU")
        k = f"feature_net.conv{i}"
        state.update({f"{k}.0.weight": w, f"{k}.0.bias": b})
        scale = 0 if factor == 0 else 1
        state[f"{k}.1.running_mean"] = mean / f[0] * scale if factor else mean * 0
        state[f"{k}.1.running_var"] = var / f[0] * scale if factor else var * 0
        cin = 64
    w7 = weights.get(7, rng.normal(size=(15, 5 + 3 * 64, 3, 3)).astype(np.float32))
    b7 = rng.normal(size=15).astype(np.float32)
    net += _layer("Convolution7", "Convolution", (w7, b7), **blob_kw)
    net += _layer("recon_feat_50", "Convolution", (rng.normal(size=(50, 9, 1, 1)),), **blob_kw)
    state.update({"feature_net.conv7.weight": w7, "feature_net.conv7.bias": b7})
    return net, state


# --------------------------------------------------------------------------- reader
class TestCaffeReader:
    @pytest.mark.parametrize(
        "blob_kw", [{}, {"packed": False}, {"legacy": True}], ids=["packed", "unpacked", "legacy"]
    )
    def test_reads_every_blob_exactly(self, tmp_path, blob_kw):
        data, expected = _fake_ssn(np.random.default_rng(1), **blob_kw)
        path = tmp_path / "fake.caffemodel"
        path.write_bytes(data)
        state, in_channels, n_features = caffe_to_state_dict(read_caffemodel(path))
        assert (in_channels, n_features) == (5, 20)
        assert state.keys() == expected.keys()
        for key, value in expected.items():
            np.testing.assert_array_equal(state[key].reshape(value.shape), value, err_msg=key)

    def test_batchnorm_factor_zero_gives_zero_statistics(self, tmp_path):
        data, _ = _fake_ssn(np.random.default_rng(2), factor=0.0)
        path = tmp_path / "zero.caffemodel"
        path.write_bytes(data)
        state, _, _ = caffe_to_state_dict(read_caffemodel(path))
        assert not state["feature_net.conv3.1.running_mean"].any()
        assert not state["feature_net.conv3.1.running_var"].any()

    def test_converted_bsds500_equals_the_caffe_made_npz(self, official_weights):
        """Every conv weight and bias, every BatchNorm mean and variance, bit for bit."""
        layers = read_caffemodel(official_weights / "ssn_bsds_model.caffemodel")
        state, _, _ = caffe_to_state_dict(layers)
        npz = np.load(
            official_weights / "ssn_bsds_model.caffemodel.npz",
            allow_pickle=True,
            encoding="latin1",
        )
        convs, bns = list(npz["arr_0"]), list(npz["arr_1"])
        assert len(convs) == 14 and len(bns) == 12
        for i in range(7):
            prefix = f"feature_net.conv{i + 1}" + (".0" if i < 6 else "")
            np.testing.assert_array_equal(state[f"{prefix}.weight"], convs[2 * i])
            np.testing.assert_array_equal(state[f"{prefix}.bias"], convs[2 * i + 1].ravel())
        for i in range(6):
            prefix = f"feature_net.conv{i + 1}.1"
            np.testing.assert_array_equal(state[f"{prefix}.running_mean"], bns[2 * i])
            np.testing.assert_array_equal(state[f"{prefix}.running_var"], bns[2 * i + 1])

    def test_truncated_file_is_one_clear_error(self, tmp_path, official_weights):
        data = (official_weights / "ssn_bsds_model.caffemodel").read_bytes()
        path = tmp_path / "cut.caffemodel"
        path.write_bytes(data[: len(data) // 2])
        with pytest.raises(CaffeFormatError, match=r"not a readable Caffe model: .*truncated"):
            read_caffemodel(path)

    def test_random_bytes_are_one_clear_error(self, tmp_path):
        path = tmp_path / "noise.caffemodel"
        path.write_bytes(np.random.default_rng(3).integers(0, 256, 5000, np.uint8).tobytes())
        with pytest.raises(CaffeFormatError, match=r"noise.caffemodel is not a .*Caffe model"):
            read_caffemodel(path)

    def test_another_network_is_one_clear_error(self, tmp_path):
        rng = np.random.default_rng(4)
        net = _layer("conv1_1", "Convolution", (rng.normal(size=(8, 3, 3, 3)), np.zeros(8)))
        net += _layer("fc8", "InnerProduct", (rng.normal(size=(10, 8)), np.zeros(10)))
        path = tmp_path / "vgg.caffemodel"
        path.write_bytes(net)
        with pytest.raises(CaffeFormatError, match=r"not an SSN_deep Caffe model.*conv1_1, fc8"):
            convert(path)

    @pytest.mark.parametrize("layer", [1, 2, 7])
    @pytest.mark.parametrize("shape", [(576,), ()], ids=["1-D", "0-D"])
    def test_a_convolution_weight_that_is_not_4d_is_one_clear_error(self, tmp_path, layer, shape):
        weight = np.ones(shape, np.float32)
        path = tmp_path / "flat.caffemodel"
        path.write_bytes(_fake_ssn(np.random.default_rng(6), weights={layer: weight})[0])
        match = f"flat.caffemodel: Convolution{layer}'s weight blob has shape {shape}, not the 4-D"
        with pytest.raises(CaffeFormatError, match=re.escape(match)):
            convert(path)

    def test_a_non_finite_weight_is_refused_naming_the_tensor(self, tmp_path):
        weight = np.random.default_rng(7).normal(size=(64, 64, 3, 3)).astype(np.float32)
        weight[1, 2, 0, 0] = np.inf  # as one bit flipped in the exponent gives
        path = tmp_path / "flip.caffemodel"
        path.write_bytes(_fake_ssn(np.random.default_rng(6), weights={4: weight})[0])
        with pytest.raises(ValueError, match=r"flip.caffemodel: feature_net.conv4.0.weight "
                           r"holds 1 non-finite \(NaN or Inf\) value\(s\) of 36864"):  # fmt: skip
            convert(path)

    def test_a_negative_batchnorm_variance_is_refused(self, tmp_path):
        path = tmp_path / "negative.caffemodel"
        path.write_bytes(_fake_ssn(np.random.default_rng(6), factor=-1.0)[0])
        with pytest.raises(ValueError, match=r"feature_net.conv1.1.running_var holds 64 "
                           "negative BatchNorm variance"):  # fmt: skip
            convert(path)

    def test_dims_overflowing_int64_are_one_clear_error(self, tmp_path):
        """dims (2^61 + 1, 8) multiply to 2^64 + 8: 8 values in int64 arithmetic."""
        dims = _field(7, _field(1, _varint(2**61 + 1) + _varint(8)))
        blob = dims + _field(5, np.ones(8, "<f4").tobytes())
        path = tmp_path / "huge.caffemodel"
        path.write_bytes(_field(100, _field(1, b"Convolution1") + _field(7, blob)))
        with pytest.raises(CaffeFormatError, match=r"huge.caffemodel is not a readable Caffe "
                           r"model: blob of shape \(2305843009213693953, 8\) holds 8 values"):  # fmt: skip
            read_caffemodel(path)

    def test_empty_protobuf_is_one_clear_error(self, tmp_path):
        path = tmp_path / "empty.caffemodel"
        path.write_bytes(b"")
        with pytest.raises(CaffeFormatError, match="holds no layers"):
            read_caffemodel(path)

    def test_cli_convert_writes_a_weights_only_checkpoint(self, tmp_path, official_weights):
        out = tmp_path / "bsds.pt"
        result = subprocess.run(
            [sys.executable, "-m", "ssn.cli", "models", "convert",
             str(official_weights / "ssn_bsds_model.caffemodel"), str(out)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        payload = torch.load(out, weights_only=True)
        assert payload["model_args"]["upsample"] == "caffe"
        assert payload["model_args"]["feature_net"] == "deep"
        assert payload["source_sha256"] == official.OFFICIAL_MODELS["official-bsds500"].sha256
        model = load_model(out)
        assert model.config.in_channels == 5 and model.config.frame_pair is None

    def test_cli_convert_of_random_bytes_is_one_line(self, tmp_path):
        path = tmp_path / "noise.caffemodel"
        path.write_bytes(bytes(range(256)) * 10)
        result = subprocess.run(
            [sys.executable, "-m", "ssn.cli", "models", "convert", str(path), str(tmp_path / "o.pt")],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1 and "not a readable Caffe model" in result.stderr


# ------------------------------------------------------------------- ssn models convert
def _models_cli(capsys, *args) -> tuple[int, str]:
    """``ssn models ARGS`` in this process: the exit code and the error lines."""
    from ssn.cli import main

    code = main(["models", *map(str, args)])
    return code, capsys.readouterr().err


@pytest.fixture
def fake_caffemodel(tmp_path):
    path = tmp_path / "mine.caffemodel"
    path.write_bytes(_fake_ssn(np.random.default_rng(5))[0])
    return path


class TestConvertCommand:
    def test_refuses_to_write_over_its_source(self, capsys, fake_caffemodel):
        before = fake_caffemodel.read_bytes()
        for force in ((), ("--force",)):  # not even with --force
            code, err = _models_cli(capsys, "convert", fake_caffemodel, fake_caffemodel, *force)
            assert code == 2 and err.count("\n") == 1
            assert "is the source .caffemodel; it would be replaced" in err
        assert fake_caffemodel.read_bytes() == before

    def test_refuses_a_link_to_its_source(self, capsys, fake_caffemodel):
        link = fake_caffemodel.with_name("link.pt")
        link.symlink_to(fake_caffemodel)
        code, err = _models_cli(capsys, "convert", fake_caffemodel, link, "--force")
        assert code == 2 and "is the source .caffemodel" in err

    def test_refuses_an_existing_file_without_force(self, capsys, fake_caffemodel):
        run = fake_caffemodel.parent / "run" / "last.pt"
        run.parent.mkdir()
        run.write_bytes(b"a training run's resumable checkpoint")
        code, err = _models_cli(capsys, "convert", fake_caffemodel, run)
        assert code == 2 and err.count("\n") == 1
        assert f"{run} already exists; write to another path, or replace it with --force" in err
        assert run.read_bytes() == b"a training run's resumable checkpoint"
        assert _models_cli(capsys, "convert", fake_caffemodel, run, "--force")[0] == 0
        assert load_model(run).config.feature_net == "deep"

    def test_a_file_of_your_own_is_not_recorded_as_released(self, capsys, fake_caffemodel):
        out = fake_caffemodel.with_name("mine.pt")
        assert _models_cli(capsys, "convert", fake_caffemodel, out)[0] == 0
        payload = torch.load(out, weights_only=True)
        assert "released_as" not in payload
        assert payload["source_sha256"] == hashlib.sha256(fake_caffemodel.read_bytes()).hexdigest()

    def test_a_released_file_name_with_another_digest_is_refused(self, capsys, fake_caffemodel):
        named = fake_caffemodel.rename(fake_caffemodel.with_name("ssn_bsds_model.caffemodel"))
        out = named.with_name("bsds.pt")
        code, err = _models_cli(capsys, "convert", named, out)
        assert code == 2 and err.count("\n") == 1
        assert "named as the released official-bsds500 model but its sha256" in err
        assert "ssn models fetch official-bsds500" in err and not out.exists()

    def test_a_caffemodel_given_as_a_checkpoint_points_to_convert(self, fake_caffemodel):
        """--model x.caffemodel and init_from=x.caffemodel said the file could run code."""
        with pytest.raises(ValueError, match=r"mine.caffemodel is a Caffe model, not an SSN "
                           r"checkpoint: convert it first with `ssn models convert .*mine.pt`"):  # fmt: skip
            ssn.segment(np.zeros((20, 20, 3)), 4, model=fake_caffemodel, device="cpu")

    def test_the_sintel_models_missing_frame_names_the_cli_option(self, capsys, tmp_path):
        from PIL import Image

        from ssn.cli import main

        net = SSN(SSNConfig(feature_net="deep", in_channels=15, frame_pair="official"))
        save_checkpoint(tmp_path / "flow.pt", net)
        Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(tmp_path / "f.png")
        args = ["segment", tmp_path / "f.png", "-k", "6", "--model", tmp_path / "flow.pt"]
        code = main([*map(str, args), "--out", str(tmp_path / "l.png"), "--device", "cpu"])
        err = capsys.readouterr().err
        assert code == 2 and "ssn segment --next-frame FRAME2" in err

    def test_the_released_file_is_recorded_with_its_model_name(
        self, capsys, tmp_path, official_weights
    ):
        out = tmp_path / "voc.pt"
        code, _ = _models_cli(capsys, "convert", official_weights / "ssn_voc_model.caffemodel", out)
        assert code == 0
        assert torch.load(out, weights_only=True)["released_as"] == "official-voc2012"


# ----------------------------------------------------------- official network semantics
def _interp_reference(x: np.ndarray, zoom: int) -> np.ndarray:
    """Caffe Interp by zoom_factor, written out: out = (n-1)·zoom + 1 samples, output
    sample i reads input position i·(n_in-1)/(n_out-1), bilinear, upper index clamped."""
    channels, h, w = x.shape
    ho, wo = (h - 1) * zoom + 1, (w - 1) * zoom + 1
    rh = (h - 1) / (ho - 1) if ho > 1 else 0.0
    rw = (w - 1) / (wo - 1) if wo > 1 else 0.0
    out = np.zeros((channels, ho, wo))
    for i in range(ho):
        y = rh * i
        y0 = int(math.floor(y))
        y1 = min(y0 + 1, h - 1)
        fy = y - y0
        for j in range(wo):
            xx = rw * j
            x0 = int(math.floor(xx))
            x1 = min(x0 + 1, w - 1)
            fx = xx - x0
            out[:, i, j] = (
                (1 - fy) * (1 - fx) * x[:, y0, x0]
                + (1 - fy) * fx * x[:, y0, x1]
                + fy * (1 - fx) * x[:, y1, x0]
                + fy * fx * x[:, y1, x1]
            )
    return out


def _caffe_pool_size(n: int) -> int:
    """Caffe's MAX pooling 3x3 / 2 / pad 1 output size: ceil, minus a window in the pad."""
    out = math.ceil((n + 2 - 3) / 2) + 1
    if (out - 1) * 2 >= n + 1:
        out -= 1
    return out


def _interp_by_matrices(x: np.ndarray, zoom: int) -> np.ndarray:
    """:func:`_interp_reference` as two matrix products (fast enough for large images):
    row i of each matrix holds the bilinear weights of output sample i."""

    def matrix(n: int) -> np.ndarray:
        n_out = (n - 1) * zoom + 1
        position = np.arange(n_out) * ((n - 1) / (n_out - 1) if n_out > 1 else 0.0)
        low = np.floor(position).astype(int)
        weights = np.zeros((n_out, n))
        np.add.at(weights, (np.arange(n_out), low), 1 - (position - low))
        np.add.at(weights, (np.arange(n_out), np.minimum(low + 1, n - 1)), position - low)
        return weights

    return matrix(x.shape[1]) @ x @ matrix(x.shape[2]).T


def _random_caffe_net(**options) -> SSNDeep:
    """An SSN_deep of the official semantics in float64, with random weights and
    non-trivial BatchNorm statistics (so that BatchNorm matters)."""
    torch.manual_seed(0)
    net = SSNDeep(upsample="caffe", **options).eval()
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 2.0)
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.normal_(m.weight, std=0.1)
    return net.double().requires_grad_(False)


def _caffe_net_reference(net: SSNDeep, x: torch.Tensor, interp) -> torch.Tensor:
    """``net(x)`` written out layer by layer, with Caffe's pooling sizes and ``interp``
    for its Interp layers."""
    height, width = x.shape[-2:]

    def block(seq, t):
        conv, bn, _ = seq
        t = F.conv2d(t, conv.weight, conv.bias, padding=1)
        t = (t - bn.running_mean[:, None, None]) / torch.sqrt(bn.running_var[:, None, None] + 1e-5)
        return t.clamp_min(0)

    c2 = block(net.conv2, block(net.conv1, x))
    p1 = F.max_pool2d(c2, 3, 2, 1, ceil_mode=True)
    c4 = block(net.conv4, block(net.conv3, p1))
    c6 = block(net.conv6, block(net.conv5, F.max_pool2d(c4, 3, 2, 1, ceil_mode=True)))
    assert p1.shape[-2:] == (_caffe_pool_size(height), _caffe_pool_size(width))
    up4 = torch.from_numpy(interp(c4[0].numpy(), 2))[None, :, :height, :width]
    up6 = torch.from_numpy(interp(c6[0].numpy(), 4))[None, :, :height, :width]
    c7 = F.conv2d(torch.cat((x, c2, up4, up6), 1), net.conv7.weight, net.conv7.bias, padding=1)
    return torch.cat((x, c7.clamp_min(0)), 1)


class TestOfficialSemantics:
    @pytest.mark.parametrize("side", [9, 17, 41, 481, 321])
    def test_sizes_meet_exactly_for_8x_plus_1(self, side):
        p1 = _caffe_pool_size(side)
        p2 = _caffe_pool_size(p1)
        assert (p1 - 1) * 2 + 1 == side and (p2 - 1) * 4 + 1 == side
        x = torch.zeros(1, 1, side, 3)
        pooled = F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True)
        assert pooled.shape[-2] == p1
        assert caffe_interp_crop(pooled, 2, (side, 3)).shape[-2:] == (side, 3)

    @pytest.mark.parametrize("h,w", [(9, 17), (5, 5), (4, 6), (12, 7), (436, 11)])
    @pytest.mark.parametrize("zoom", [2, 4])
    def test_interp_crop_equals_the_written_out_reference(self, h, w, zoom):
        x = torch.rand(2, h, w, dtype=torch.float64)
        ref = _interp_reference(x.numpy(), zoom)
        size = ((h - 1) * zoom + 1 - (1 if h > 2 else 0), (w - 1) * zoom + 1 - (2 if w > 3 else 0))
        got = caffe_interp_crop(x[None], zoom, size)[0]
        np.testing.assert_allclose(got.numpy(), ref[:, : size[0], : size[1]], atol=1e-12)

    def test_interp_refuses_a_crop_larger_than_its_output(self):
        with pytest.raises(ValueError, match="smaller than the crop size"):
            caffe_interp_crop(torch.zeros(1, 1, 3, 3), 2, (6, 5))

    @pytest.mark.parametrize("h,w", [(481, 321), (436, 1024), (375, 500), (512, 1024), (8, 8)])
    def test_caffe_network_any_size(self, h, w):
        """The official net is built at the image's own size: Interp always covers the
        input (ceil-mode pooling), Crop takes the top-left part; at each size it equals
        the layer-by-layer reference (Interp by interpolation matrices; 4 channels wide,
        for time: the width does not change the semantics)."""
        net = _random_caffe_net(width=4)
        x = torch.rand(1, 5, h, w, dtype=torch.float64)
        torch.testing.assert_close(net(x), _caffe_net_reference(net, x, _interp_by_matrices))

    def test_caffe_network_equals_a_layer_by_layer_reference(self):
        net = _random_caffe_net()
        x = torch.rand(1, 5, 20, 13, dtype=torch.float64)
        torch.testing.assert_close(net(x), _caffe_net_reference(net, x, _interp_reference))
        torch.testing.assert_close(net(x), _caffe_net_reference(net, x, _interp_by_matrices))

    def test_resize_mode_is_unchanged_by_default(self):
        assert SSNConfig().upsample == "resize"
        with pytest.raises(ValueError, match="upsample must be one of"):
            SSNConfig(upsample="nearest")


# --------------------------------------------------------------------------- frame pairs
class TestFramePairs:
    def test_official_layout_is_xylab1_xylab2_difference(self):
        net = SSN(SSNConfig(in_channels=15, carried_channels=5, frame_pair="official")).eval()
        a, b = torch.rand(1, 3, 17, 25), torch.rand(1, 3, 17, 25)
        x = net.input_features(a, (3, 4), b)
        eta = net.config.eta
        xa, xb = net.pixel_features(a, (3, 4), eta), net.pixel_features(b, (3, 4), eta)
        torch.testing.assert_close(x, torch.cat((xa, xb, xa - xb), 1))
        assert not x[:, 10:12].any()  # the position channels of the difference are zero

    def test_only_the_first_frame_is_carried(self):
        net = SSN(SSNConfig(in_channels=15, carried_channels=5, frame_pair="official")).eval()
        a, b = torch.rand(1, 3, 17, 25), torch.rand(1, 3, 17, 25)
        features = net.feature_net(net.input_features(a, (3, 4), b))
        assert features.shape[1] == 20
        torch.testing.assert_close(features[:, :5], net.pixel_features(a, (3, 4), net.config.eta))
        assert net.feature_net.conv7.in_channels == 5 + 3 * 64

    def test_frame_pair_and_channels_must_agree(self):
        with pytest.raises(ValueError, match="needs in_channels=15"):
            SSNConfig(in_channels=5, frame_pair="official")
        assert SSNConfig.from_dict({"in_channels": 8}).frame_pair == "lab"  # checkpoints of before
        with pytest.raises(ValueError, match="needs in_channels=5"):  # refused, not guessed
            SSNConfig(in_channels=8)
        assert SSNConfig(frame_pair="official").in_channels == 15  # derived

    def test_sintel_weights_show_the_layout(self, official_weights):
        """Evidence from the weights: conv1's inputs 10 and 11 (y, x of XYLab₁ − XYLab₂,
        always 0) never received a gradient, so they are still the Gaussian init (std
        0.001); inputs 0/5 and 1/6 (y, x of both frames, always equal) received equal
        gradients, so their difference is the init's difference (norm √(2·576)·0.001)."""
        w = read_caffemodel(official_weights / "ssn_sintel_model.caffemodel")
        w = {layer.name: layer for layer in w}["Convolution1"].blobs[0]
        assert w.shape == (64, 15, 3, 3)
        init = 0.001
        for c in (10, 11):
            assert abs(w[:, c].std() - init) < 0.1 * init
        for c in [2, 3, 4, 7, 8, 9, 12, 13, 14]:  # colour inputs: trained
            assert w[:, c].std() > 20 * init
        for a, b in ((0, 5), (1, 6)):
            diff = np.linalg.norm(w[:, a] - w[:, b])
            assert abs(diff - math.sqrt(2 * 576) * init) < 0.15 * math.sqrt(2 * 576) * init
            assert np.linalg.norm(w[:, a]) > 5 * diff

    def test_sintel_model_converts_to_the_official_pair_layout(self, official_weights):
        model = convert(official_weights / "ssn_sintel_model.caffemodel")
        assert (model.config.in_channels, model.config.frame_pair) == (15, "official")
        assert model.config.carried_channels == 5


# --------------------------------------------------------------------- getting the models
@pytest.fixture
def no_local_models(monkeypatch, tmp_path):
    """No $SSN_WEIGHTS, an empty cache in tmp_path."""
    monkeypatch.delenv("SSN_WEIGHTS", raising=False)
    monkeypatch.setenv("SSN_HOME", str(tmp_path / "home"))
    return tmp_path / "home" / "models"


class TestGettingTheModels:
    def test_ssn_weights_folder_is_used_and_verified(self, monkeypatch, official_weights):
        monkeypatch.setenv("SSN_WEIGHTS", str(official_weights))
        for name, model in official.OFFICIAL_MODELS.items():
            if model.network == "ssn":
                assert official.locate(name) == official_weights / model.file

    def test_models_config_source_relative_to_the_file(
        self, no_local_models, tmp_path, official_weights
    ):
        config = tmp_path / "conf" / "models.local.yaml"
        config.parent.mkdir()
        rel = __import__("os").path.relpath(official_weights, config.parent)
        config.write_text(f"source: {rel}\n")
        path = official.locate("official-voc2012", config=config)
        assert path.resolve() == (official_weights / "ssn_voc_model.caffemodel").resolve()

    def test_models_config_rejects_other_keys(self, tmp_path):
        config = tmp_path / "m.yaml"
        config.write_text("source: x\nsha256: 0\n")
        with pytest.raises(ValueError, match="only a 'source' folder"):
            official.read_models_config(config)

    def test_offline_and_not_cached_is_one_line_saying_how(self, no_local_models):
        with pytest.raises(
            FileNotFoundError, match=r"ssn models fetch official-bsds500.*SSN_WEIGHTS"
        ):
            ssn.segment(np.zeros((20, 20, 3)), 4, model="official-bsds500")

    def test_cli_segment_offline_is_one_line(self, no_local_models, tmp_path, monkeypatch):
        image = tmp_path / "img.png"
        from PIL import Image

        Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(image)
        env = dict(__import__("os").environ)
        result = subprocess.run(
            [sys.executable, "-m", "ssn.cli", "segment", str(image), "-k", "6",
             "--model", "official-cityscapes", "--out", str(tmp_path / "l.png")],
            capture_output=True, text=True, check=False, env=env,
        )  # fmt: skip
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1
        assert "ssn models fetch official-cityscapes" in result.stderr

    def test_ssn_weights_without_the_file_says_so(self, monkeypatch, tmp_path):
        monkeypatch.setenv("SSN_WEIGHTS", str(tmp_path))
        with pytest.raises(FileNotFoundError, match="holds no ssn_sintel_model.caffemodel"):
            official.locate("official-sintel")

    def test_ssn_weights_that_is_no_folder_says_so(self, monkeypatch, tmp_path):
        monkeypatch.setenv("SSN_WEIGHTS", str(tmp_path / "typo"))
        with pytest.raises(FileNotFoundError, match=r"SSN_WEIGHTS=.*typo is not a folder"):
            official.locate("official-sintel")

    def test_list_reports_a_tampered_file_and_goes_on(self, monkeypatch, tmp_path, capsys):
        (tmp_path / "ssn_voc_model.caffemodel").write_bytes(b"tampered")
        monkeypatch.setenv("SSN_WEIGHTS", str(tmp_path))
        from ssn.cli import main

        assert main(["models", "list"]) == 1  # a refused file fails the listing's status
        lines = capsys.readouterr().out.splitlines()
        assert len(lines) == len(official.OFFICIAL_MODELS) + 1  # each model, then the cache
        assert lines[2].startswith("official-voc2012") and "REFUSED: " in lines[2]
        assert "sha256 mismatch" in lines[2]
        assert lines[0].endswith("not fetched") and lines[3].endswith("not fetched")

    def test_a_modified_local_file_is_refused(self, monkeypatch, tmp_path, official_weights):
        data = bytearray((official_weights / "ssn_bsds_model.caffemodel").read_bytes())
        data[-1] ^= 1
        (tmp_path / "ssn_bsds_model.caffemodel").write_bytes(bytes(data))
        monkeypatch.setenv("SSN_WEIGHTS", str(tmp_path))
        with pytest.raises(ChecksumError, match="official-bsds500 from SSN_WEIGHTS"):
            official.locate("official-bsds500")

    def test_unknown_name(self):
        with pytest.raises(ValueError, match="unknown official model 'official-kitti'"):
            official.locate("official-kitti")

    def test_cache_dir_follows_ssn_home(self, monkeypatch, tmp_path):
        monkeypatch.setenv("SSN_HOME", str(tmp_path))
        assert official.cache_dir() == tmp_path / "models"
        monkeypatch.delenv("SSN_HOME")
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
        if sys.platform.startswith("linux"):
            assert official.cache_dir() == tmp_path / "xdg" / "ssn" / "models"


@pytest.fixture
def served_model(server, monkeypatch):
    """official-bsds500 served by the local HTTP server (a small fake model file)."""
    data, _ = _fake_ssn(np.random.default_rng(5))
    server.files["/ssn_bsds_model.caffemodel"] = data
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    model = official.OFFICIAL_MODELS["official-bsds500"]
    fake = type(model)(model.name, model.file, f"{server.url}/{model.file}", digest,
                       model.task, model.description)  # fmt: skip
    monkeypatch.setitem(official.OFFICIAL_MODELS, model.name, fake)
    return server, data, digest


class TestFetch:
    def test_download_into_the_cache_with_licence(self, no_local_models, served_model, capsys):
        server, data, _ = served_model
        server.drop = 1  # the first response is cut: the download resumes
        path = official.fetch("official-bsds500", progress=False)
        assert path == no_local_models / "ssn_bsds_model.caffemodel"
        assert path.read_bytes() == data
        assert "CC BY-NC-SA 4.0" in capsys.readouterr().err
        assert any(rng for _, rng in server.requests)  # resumed with a Range request
        # now cached: offline use, and a second fetch downloads nothing
        n = len(server.requests)
        assert official.locate("official-bsds500") == path
        official.fetch("official-bsds500", progress=False)
        assert len(server.requests) == n

    def test_other_digest_is_kept_aside_and_names_both(self, no_local_models, served_model):
        server, data, digest = served_model
        server.files["/ssn_bsds_model.caffemodel"] = data + b"x"
        import hashlib

        other = hashlib.sha256(data + b"x").hexdigest()
        with pytest.raises(ChecksumError, match=rf"expected {digest}, got {other}; kept aside"):
            official.fetch("official-bsds500", progress=False)
        aside = no_local_models / f"ssn_bsds_model.caffemodel.{other[:12]}.rejected"
        assert aside.read_bytes() == data + b"x"
        assert not (no_local_models / "ssn_bsds_model.caffemodel").exists()

    def test_local_copy_is_not_downloaded(self, monkeypatch, served_model, official_weights):
        server, _, _ = served_model
        monkeypatch.setenv("SSN_WEIGHTS", str(official_weights))
        assert official.fetch("official-voc2012") == official_weights / "ssn_voc_model.caffemodel"
        assert server.requests == []


# ------------------------------------------------------------------------- the models run
class TestOfficialModelsRun:
    def test_segment_by_name_equals_the_torch_module(
        self, monkeypatch, official_weights, bsds_root
    ):
        monkeypatch.setenv("SSN_WEIGHTS", str(official_weights))
        from ssn.io import read_image

        image = read_image(next(iter(sorted((bsds_root / "images" / "test").glob("*.jpg")))))
        image = image[:161, :241]  # 8X + 1 sides: the sizes meet exactly
        labels = ssn.segment(image, 100, model="official-bsds500", device="cpu",
                             enforce_connectivity=False, precision="float32")  # fmt: skip
        net = official.load("official-bsds500")
        rgb = torch.from_numpy(image.astype(np.float32) / 255).permute(2, 0, 1)[None]
        with torch.no_grad():
            ref = net(rgb, 100, n_iter=10).labels[0].numpy()
        assert (labels == ref).mean() > 0.999

    def test_sintel_model_needs_the_next_frame(self, monkeypatch, official_weights):
        monkeypatch.setenv("SSN_WEIGHTS", str(official_weights))
        frame = np.random.default_rng(0).random((33, 41, 3))
        with pytest.raises(ValueError, match="pass the following frame as next_frame="):
            ssn.segment(frame, 20, model="official-sintel", device="cpu")
        labels = ssn.segment(frame, 20, model="official-sintel", next_frame=frame[::-1].copy(),
                             device="cpu")  # fmt: skip
        assert labels.shape == (33, 41)

    @pytest.mark.realdata
    def test_paper_bsds500_model_beats_ssn_pix(self, monkeypatch, official_weights, bsds_root):
        """The released weights beat SSN_pix in ASA and BR (stutz, r = 1) on 4 test images."""
        monkeypatch.setenv("SSN_WEIGHTS", str(official_weights))
        from ssn.io import read_bsds_ground_truth, read_image
        from ssn.metrics import evaluate_image

        scores = {"pix": [], "official-bsds500": []}
        for path in sorted((bsds_root / "images" / "test").glob("*.jpg"))[:4]:
            image = read_image(path)
            truth = read_bsds_ground_truth(bsds_root / "groundTruth" / "test" / f"{path.stem}.mat")
            for model in scores:
                labels = ssn.segment(image, 400, model=model, device="cpu")
                ev = evaluate_image(labels, truth, protocol="stutz", tolerance=1)
                scores[model] += [(a["asa"], a["br"]) for a in ev.per_annotation]
        pix, paper = np.mean(scores["pix"], 0), np.mean(scores["official-bsds500"], 0)
        assert paper[0] > pix[0] + 0.003 and paper[1] > pix[1] + 0.03


# ------------------------------------------------- where models come from: errors, mirrors
def _models_config(tmp_path, text: str):
    config = tmp_path / "conf" / "models.yaml"
    config.parent.mkdir(exist_ok=True)
    config.write_text(text)
    return config


class TestModelsSources:
    @pytest.mark.parametrize(
        "source, error, message",
        [
            ("https://example.org/models", ValueError, r"is a URL, not a folder; set it to"),
            ("typo", FileNotFoundError, r"is not a folder \(.*conf/typo\); set it to the folder"),
            ("${SSN_TEST_UNSET}/w", ValueError, r": \$SSN_TEST_UNSET is not set; set it to"),
        ],
    )
    def test_a_source_that_is_no_folder_is_an_error_not_a_download(
        self, no_local_models, served_model, tmp_path, monkeypatch, source, error, message
    ):
        monkeypatch.delenv("SSN_TEST_UNSET", raising=False)
        server, _, _ = served_model
        config = _models_config(tmp_path, f"source: {source}\n")
        named = re.escape(f"{config}: source: {source}")
        with pytest.raises(error, match=named + " " * (not message.startswith(":")) + message):
            official.fetch("official-bsds500", config=config, progress=False)
        assert server.requests == []  # no silent fallback to the download

    @pytest.mark.parametrize("value", ["https://example.org/w", "${SSN_TEST_UNSET}", "file"])
    def test_ssn_weights_that_is_no_folder_fails_as_a_source_does(
        self, monkeypatch, tmp_path, value
    ):
        monkeypatch.delenv("SSN_TEST_UNSET", raising=False)
        (tmp_path / "file").write_text("x")
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("SSN_WEIGHTS", value)
        with pytest.raises(
            (ValueError, FileNotFoundError),
            match=rf"^SSN_WEIGHTS={re.escape(value)}(:| is) .*; set it to the folder holding "
            r"the model files \(or several, separated by ':'\), or unset it to use the cache$",
        ):
            official.locate("official-sintel")

    def test_list_with_ssn_weights_naming_no_folder_says_so(self, monkeypatch, tmp_path, capsys):
        from ssn.cli import main

        monkeypatch.setenv("SSN_WEIGHTS", str(tmp_path / "typo"))
        assert main(["models", "list"]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"ssn models: error: SSN_WEIGHTS={tmp_path / 'typo'} is not a folder")

    def test_urls_point_the_download_at_a_mirror(self, no_local_models, served_model, tmp_path):
        server, data, _ = served_model
        server.files = {"/mirror/bsds.caffemodel": data}  # the authors' link would be a 404
        config = _models_config(
            tmp_path, f"urls:\n  official-bsds500: {server.url}/mirror/bsds.caffemodel\n"
        )
        path = official.fetch("official-bsds500", config=config, progress=False)
        assert path.read_bytes() == data
        assert [p for p, _ in server.requests] == ["/mirror/bsds.caffemodel"]

    def test_a_mirror_serving_another_file_is_refused(
        self, no_local_models, served_model, tmp_path
    ):
        server, data, digest = served_model
        server.files["/mirror/bsds.caffemodel"] = data[:-1]
        config = _models_config(
            tmp_path, f"urls:\n  official-bsds500: {server.url}/mirror/bsds.caffemodel\n"
        )
        with pytest.raises(ChecksumError, match=f"expected {digest}"):
            official.fetch("official-bsds500", config=config, progress=False)

    @pytest.mark.parametrize(
        "urls, message",
        [
            ("official-kitti: http://x/y", r"urls: unknown model 'official-kitti'; known: "),
            ("official-voc2012: /some/file", r"urls: official-voc2012: '/some/file' is not an"),
        ],
    )
    def test_urls_are_checked(self, tmp_path, urls, message):
        config = _models_config(tmp_path, f"urls:\n  {urls}\n")
        with pytest.raises(ValueError, match=re.escape(str(config)) + ": " + message):
            official.read_models_urls(config)

    def test_the_documented_example_is_a_valid_models_config(self, tmp_path):
        from conftest import REPO_ROOT

        text = (REPO_ROOT / "config" / "README.md").read_text()
        section = text[text.index("## Models") :]
        example = re.search(r"```yaml\n(.*?)```", section, flags=re.S).group(1)
        config = _models_config(tmp_path, example.replace("source:", "# source:"))
        urls = official.read_models_urls(config)
        assert set(urls) == {"official-bsds500", "official-sintel"}
        assert official.read_models_config(config) == []


class TestCorruptCache:
    def test_locate_says_the_cached_file_is_corrupt_and_how_to_fix(self, no_local_models):
        no_local_models.mkdir(parents=True)
        cached = no_local_models / "ssn_voc_model.caffemodel"
        cached.write_bytes(b"damaged")
        with pytest.raises(
            ChecksumError,
            match=rf"official-voc2012 from the cache: sha256 mismatch for {re.escape(str(cached))}"
            r": .*; run `ssn models fetch official-voc2012`, which replaces it, or delete it$",
        ):
            official.locate("official-voc2012")

    def test_fetch_replaces_a_corrupt_cached_file(self, no_local_models, served_model):
        server, data, _ = served_model
        no_local_models.mkdir(parents=True)
        cached = no_local_models / "ssn_bsds_model.caffemodel"
        cached.write_bytes(b"damaged")
        assert official.fetch("official-bsds500", progress=False) == cached
        assert cached.read_bytes() == data
        aside = no_local_models / f"ssn_bsds_model.caffemodel.{hashlib.sha256(b'damaged').hexdigest()[:12]}.rejected"  # fmt: skip
        assert aside.read_bytes() == b"damaged"  # kept, not deleted
        assert len(server.requests) == 1

    def test_a_corrupt_file_of_ssn_weights_is_never_replaced(self, monkeypatch, tmp_path):
        (tmp_path / "ssn_voc_model.caffemodel").write_bytes(b"damaged")
        monkeypatch.setenv("SSN_WEIGHTS", str(tmp_path))
        with pytest.raises(ChecksumError, match=r"; replace it with a good copy of ssn_voc_"):
            official.fetch("official-voc2012", progress=False)
        assert (tmp_path / "ssn_voc_model.caffemodel").read_bytes() == b"damaged"


def test_load_reads_the_model_file_once(monkeypatch, tmp_path, served_model):
    """The bytes whose digest is checked are the bytes converted: one read, no window."""
    import builtins
    import io

    _, data, _ = served_model
    (tmp_path / "ssn_bsds_model.caffemodel").write_bytes(data)
    monkeypatch.setenv("SSN_WEIGHTS", str(tmp_path))
    opened, real_open = [], io.open

    def spy(file, *args, **kwargs):
        if str(file).endswith(".caffemodel"):
            opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(io, "open", spy)
    monkeypatch.setattr(builtins, "open", spy)
    net = official.load("official-bsds500")
    assert opened == [str(tmp_path / "ssn_bsds_model.caffemodel")]
    assert isinstance(net, SSN)


def test_cli_models_fetch_interrupted_is_one_line_and_exit_130(
    no_local_models, served_model, monkeypatch, capsys
):
    import http.client

    from ssn.cli import main

    real, calls = http.client.HTTPResponse.read1, []

    def read1(self, *args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, *args)

    monkeypatch.setattr(http.client.HTTPResponse, "read1", read1)
    assert main(["models", "fetch", "official-bsds500", "--no-progress"]) == 130
    part = no_local_models / "ssn_bsds_model.caffemodel.part"
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == (
        f"ssn models: interrupted; run the same command again to resume from "
        f"{part.stat().st_size} bytes ({part})"
    )
    assert part.stat().st_size > 0


# ------------------------------------------- the successors' models; several local folders
@pytest.fixture
def two_folders(monkeypatch, tmp_path):
    """Two folders: SSN's fake BSDS500 model in the first, a fake SEAL file in the
    second, both pinned in the catalog; no $SSN_WEIGHTS, an empty cache."""
    import dataclasses

    first, second = tmp_path / "ssn_official", tmp_path / "successors"
    first.mkdir()
    second.mkdir()
    ssn_data = _fake_ssn(np.random.default_rng(5))[0]
    (first / "ssn_bsds_model.caffemodel").write_bytes(ssn_data)
    seal_data = b"a SEAL file"
    (second / "seal_bsds500.pkl").write_bytes(seal_data)
    for name, data in (("official-bsds500", ssn_data), ("seal-bsds500", seal_data)):
        pinned = dataclasses.replace(
            official.OFFICIAL_MODELS[name], sha256=hashlib.sha256(data).hexdigest()
        )
        monkeypatch.setitem(official.OFFICIAL_MODELS, name, pinned)
    monkeypatch.delenv("SSN_WEIGHTS", raising=False)
    monkeypatch.setenv("SSN_HOME", str(tmp_path / "home"))
    return first, second


class TestSeveralFolders:
    def test_ssn_weights_lists_folders_with_pathsep(self, monkeypatch, two_folders):
        first, second = two_folders
        monkeypatch.setenv("SSN_WEIGHTS", f"{first}{os.pathsep}{second}{os.pathsep}")
        assert official.locate("official-bsds500") == first / "ssn_bsds_model.caffemodel"
        assert official.locate("seal-bsds500") == second / "seal_bsds500.pkl"
        assert [f for _, f in official.local_folders()] == [first, second]

    def test_a_single_folder_still_works(self, monkeypatch, two_folders):
        _, second = two_folders
        monkeypatch.setenv("SSN_WEIGHTS", str(second))
        assert official.locate("seal-bsds500") == second / "seal_bsds500.pkl"
        with pytest.raises(FileNotFoundError, match=rf"SSN_WEIGHTS={re.escape(str(second))} "
                           r"holds no ssn_bsds_model.caffemodel .*may list several folders"):  # fmt: skip
            official.locate("official-bsds500")

    def test_an_entry_of_the_list_that_is_no_folder_is_named(self, monkeypatch, two_folders):
        first, second = two_folders
        value = f"{first}{os.pathsep}{second / 'typo'}"
        monkeypatch.setenv("SSN_WEIGHTS", value)
        with pytest.raises(FileNotFoundError, match=rf"^SSN_WEIGHTS={re.escape(value)}: "
                           rf"{re.escape(str(second / 'typo'))} is not a folder; set it to"):  # fmt: skip
            official.locate("official-bsds500")

    def test_none_of_the_listed_folders_holds_it(self, monkeypatch, two_folders, tmp_path):
        first, _ = two_folders
        empty = tmp_path / "empty"
        empty.mkdir()
        monkeypatch.setenv("SSN_WEIGHTS", f"{empty}{os.pathsep}{first}")
        with pytest.raises(FileNotFoundError, match=r"holds no seal_bsds500.pkl \(the seal-"):
            official.locate("seal-bsds500")

    def test_models_config_source_as_a_list(self, two_folders, tmp_path):
        first, second = two_folders
        config = _models_config(
            tmp_path, f"source:\n  - {os.path.relpath(first, tmp_path / 'conf')}\n"
            f"  - {second}\n"
        )  # fmt: skip
        assert official.read_models_config(config) == [first.resolve(), second]
        assert official.locate("seal-bsds500", config=config) == second / "seal_bsds500.pkl"
        assert official.locate("official-bsds500", config=config).parent == first.resolve()

    @pytest.mark.parametrize(
        ("source", "error", "message"),
        [
            ("[]", ValueError, r"'source' must be a folder path or a list of folder paths, got \[\]"),
            ("[3]", ValueError, r"'source' must be a folder path or a list of folder paths"),
            ("[typo]", FileNotFoundError, r"source: typo is not a folder"),
        ],
    )  # fmt: skip
    def test_a_bad_source_list_is_an_error(self, tmp_path, source, error, message):
        config = _models_config(tmp_path, f"source: {source}\n")
        with pytest.raises(error, match=message):
            official.read_models_config(config)

    def test_the_shipped_models_config_lists_both_shared_folders(self):
        import yaml
        from conftest import REPO_ROOT

        config = REPO_ROOT / "config" / "models.local.yaml"
        assert yaml.safe_load(config.read_text())["source"] == [
            "../../shared/weights/ssn_official",
            "../../shared/weights/successors",
        ]
        shared = REPO_ROOT.parent / "shared" / "weights"
        if (shared / "ssn_official").is_dir() and (shared / "successors").is_dir():
            assert official.read_models_config(config) == [
                (shared / "ssn_official").resolve(),
                (shared / "successors").resolve(),
            ]


class TestSuccessorCatalog:
    def test_lnsnet_entry_says_there_is_no_licence(self):
        model = official.OFFICIAL_MODELS["lnsnet-bsds500"]
        assert model.url == (
            "https://raw.githubusercontent.com/zh460045050/LNSNet/"
            "ed7baa6889478063a487e04e2c90cc964519f732/lnsnet_BSDS_checkpoint.pth"
        )
        assert model.file == "lnsnet_BSDS_checkpoint.pth" and model.network == "lnsnet"
        assert "no licence" in model.licence and "never redistributes" in model.licence
        assert "never redistributed" in model.description
        assert not official.is_official("lnsnet-bsds500")

    def test_digests_are_those_of_the_shared_folders_sha256sums(self):
        from conftest import REPO_ROOT

        sums = REPO_ROOT.parent / "shared" / "weights" / "successors" / "SHA256SUMS"
        if not sums.is_file():
            pytest.skip(f"{sums} not found")
        pinned = {m.file: m.sha256 for m in official.OFFICIAL_MODELS.values()}
        for line in sums.read_text().splitlines():
            digest, file = line.split()
            assert pinned[file] == digest

    @pytest.mark.parametrize(
        ("name", "words"),
        [("seal-cityscapes", "CC BY-NC-SA 4.0"), ("lnsnet-bsds500", "no licence is granted")],
    )
    def test_fetch_downloads_resumes_and_shows_the_licence(
        self, no_local_models, server, monkeypatch, capsys, name, words
    ):
        import dataclasses

        model = official.OFFICIAL_MODELS[name]
        data = bytes(range(256)) * 200
        server.files[f"/{model.file}"] = data
        server.drop = 1  # the first response is cut: the download resumes
        pinned = dataclasses.replace(model, url=f"{server.url}/{model.file}",
                                     sha256=hashlib.sha256(data).hexdigest())  # fmt: skip
        monkeypatch.setitem(official.OFFICIAL_MODELS, name, pinned)
        path = official.fetch(name, progress=False)
        assert path == no_local_models / model.file and path.read_bytes() == data
        assert words in capsys.readouterr().err
        assert any(rng for _, rng in server.requests)

    def test_cli_fetch_with_convert_refuses_a_state_dict_model(self, capsys):
        from ssn.cli import main

        assert main(["models", "fetch", "seal-bsds500", "--convert", "out"]) == 2
        assert "--convert writes SSN checkpoints; seal-bsds500 is a seal model" in (
            capsys.readouterr().err
        )

    def test_cli_list_names_the_successors(self, monkeypatch, tmp_path, capsys):
        from ssn.cli import main

        monkeypatch.setenv("SSN_WEIGHTS", str(tmp_path))
        assert main(["models", "list"]) == 0
        out = capsys.readouterr().out
        for name in ("seal-bsds500", "seal-cityscapes", "lnsnet-bsds500"):
            assert name in out
