"""bfloat16 for the feature network where the CPU or GPU computes it (issue #29).

The choice (``ssn.devices``) with the capability mocked both ways, ``precision`` end to
end (``ssn.segment``, the methods registry, the CLI), ``amp`` of training (old runs'
``amp: true`` included), and the accuracy limits: bf16 against float32 on BSDS500 test
images, on metrics (bf16 moves about a third of the labels, the metrics hold).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from fake_cuda import fake_cuda

import ssn
from ssn import devices
from ssn.checkpoint import load_checkpoint
from ssn.devices import autocast_dtype, cpu_has_native_bf16, resolve_precision
from ssn.inference import network_precision
from ssn.methods import load_segmenter
from ssn.models import SSN, SSNConfig
from ssn.train import train
from ssn.train.config import changed_settings, load_config


@pytest.fixture
def native_bf16_cpu(monkeypatch):
    """``set(flag)``: this CPU computes bf16 natively (True) or not (False)."""

    def set_(flag: bool) -> None:
        monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda: flag)

    return set_


def _image(seed=0):
    rng = np.random.default_rng(seed)
    base = rng.random((6, 8, 3))
    return np.kron(base, np.ones((8, 8, 1))) * 0.8 + rng.random((48, 64, 3)) * 0.2


# -- the choice ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "avx512_bf16,amx,expected",
    [(False, False, False), (True, False, True), (False, True, True), (True, True, True)],
)
def test_native_bf16_is_avx512_bf16_or_amx_not_avx512_alone(monkeypatch, avx512_bf16, amx,
                                                           expected):  # fmt: skip
    """AVX-512 alone (a Skylake server, oneDNN's bf16 check says yes) emulates bf16."""
    monkeypatch.setattr(devices.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True)
    assert cpu_has_native_bf16() is expected


@pytest.mark.parametrize("native", [True, False])
def test_auto_on_the_cpu_follows_its_bf16(native_bf16_cpu, native):
    native_bf16_cpu(native)
    assert autocast_dtype("cpu") is (torch.bfloat16 if native else None)
    assert resolve_precision("auto", "cpu") == ("bfloat16" if native else "float32")
    # asked for, either precision runs anywhere on a CPU (bf16 emulated where not native)
    assert resolve_precision("float32", "cpu") == "float32"
    assert resolve_precision("bfloat16", "cpu") == "bfloat16"


@pytest.mark.parametrize("capability,auto", [((9, 0), "bfloat16"), ((8, 0), "bfloat16"),
                                             ((7, 5), "float32")])  # fmt: skip
@pytest.mark.parametrize("cpu_native", [True, False])
def test_auto_on_a_gpu_follows_its_compute_capability(native_bf16_cpu, capability, auto,
                                                      cpu_native):  # fmt: skip
    """The GPU's capability decides on the GPU, whatever the CPU has."""
    native_bf16_cpu(cpu_native)
    with fake_cuda(1, capability=capability):
        assert resolve_precision("auto", "cuda:0") == auto
        assert resolve_precision("float32", "cuda:0") == "float32"
        if auto == "bfloat16":
            assert resolve_precision("bfloat16", "cuda:0") == "bfloat16"
        else:  # torch's autocast refuses bf16 there: said before any work
            with pytest.raises(ValueError, match=r"precision='bfloat16'.*cuda:0.*'float32'"):
                resolve_precision("bfloat16", "cuda:0")


@pytest.mark.parametrize("bad", ["bf16", "fp32", "AUTO", None, 16])
def test_a_bad_precision_names_the_parameter_value_and_choices(bad):
    message = rf"precision must be one of auto, float32, bfloat16, got {bad!r}"
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        resolve_precision(bad, "cpu")
    with pytest.raises(ValueError, match="precision must be one of"):
        ssn.segment(_image(), 12, model="pix", device="cpu", precision=bad)
    with pytest.raises(ValueError, match="precision must be one of"):
        load_segmenter("ssn", model="pix", device="cpu", precision=bad)


# -- inference end to end -----------------------------------------------------------------


class _Spy:
    """The dtype the network's first convolution computed in and the dtype of the
    features the SLIC kernel got."""

    def __init__(self, monkeypatch, net: SSN):
        import ssn.inference

        self.conv, self.slic = [], []
        first = next(m for m in net.feature_net.modules() if isinstance(m, torch.nn.Conv2d))
        first.register_forward_hook(lambda mod, args, out: self.conv.append(out.dtype))
        kernel = ssn.inference.slic_labels

        def slic_labels(features, *args):
            self.slic.append(features.dtype)
            return kernel(features, *args)

        monkeypatch.setattr(ssn.inference, "slic_labels", slic_labels)


@pytest.mark.parametrize("native,precision,computed", [
    (True, "auto", torch.bfloat16), (False, "auto", torch.float32),
    (False, "bfloat16", torch.bfloat16), (True, "float32", torch.float32),
])  # fmt: skip
def test_segment_runs_the_network_in_the_precision_and_slic_in_float32(
    monkeypatch, native_bf16_cpu, native, precision, computed
):
    native_bf16_cpu(native)
    torch.manual_seed(0)
    net = SSN(SSNConfig(feature_net="deep")).eval()
    spy = _Spy(monkeypatch, net)
    labels = ssn.segment(_image(), 12, model=net, device="cpu", precision=precision)
    assert spy.conv == [computed] and spy.slic == [np.float32]
    assert labels.shape == (48, 64) and labels.max() + 1 <= 12


def test_segment_on_a_gpu_autocasts_its_network(monkeypatch):
    """The GPU branch passes the dtype to SSN.forward (whose autocast test_train.py
    covers): bf16 on a GPU of capability 8.0, float32 on one of 7.5."""
    seen = []
    forward = SSN.forward

    def spy(self, *args, **kwargs):
        seen.append(kwargs.get("autocast_dtype"))
        return forward(self, *args, **kwargs)

    monkeypatch.setattr(SSN, "forward", spy)
    net = SSN(SSNConfig(feature_net="deep")).eval()
    for capability in ((8, 0), (7, 5)):
        with fake_cuda(1, capability=capability):
            ssn.segment(_image(), 12, model=net, device="cuda:0")
    assert seen == [torch.bfloat16, None]


def test_ssn_pix_has_no_network_so_it_is_float32(native_bf16_cpu):
    native_bf16_cpu(True)
    pix = SSN(SSNConfig(feature_net="pix"))
    deep = SSN(SSNConfig(feature_net="deep"))
    assert network_precision(pix, "bfloat16", "cpu") == "float32"
    assert network_precision(deep, "auto", "cpu") == "bfloat16"
    with pytest.raises(ValueError, match="precision must be one of"):
        network_precision(pix, "half", "cpu")


@pytest.mark.parametrize("native", [True, False])
def test_the_segmenter_records_the_precision_it_runs_in(native_bf16_cpu, native):
    from ssn.methods import get_method

    native_bf16_cpu(native)
    assert get_method("ssn").params["precision"] == "auto"
    net = SSN(SSNConfig(feature_net="deep")).eval()
    auto = load_segmenter("ssn", model=net, device="cpu")
    assert auto.precision == ("bfloat16" if native else "float32")
    assert load_segmenter("ssn", model=net, device="cpu", precision="float32").precision == (
        "float32"
    )
    assert load_segmenter("ssn", model="pix", device="cpu").precision == "float32"
    assert load_segmenter("slic").precision is None  # a baseline: no network


def test_cli_segment_takes_and_prints_the_precision(tmp_path, capsys, native_bf16_cpu):
    from PIL import Image

    from ssn.cli import main
    from ssn.io import read_label_image

    native_bf16_cpu(False)
    image = tmp_path / "in.png"
    Image.fromarray((_image() * 255).astype(np.uint8)).save(image)
    outs = {}
    for precision in ("float32", "bfloat16"):
        outs[precision] = tmp_path / f"{precision}.png"
        args = ["segment", str(image), "-k", "12", "--model", "deep", "--device", "cpu",
                "--precision", precision, "-o", str(outs[precision])]  # fmt: skip
        assert main(args) == 0
        assert f"method ssn, {precision}) ->" in capsys.readouterr().out
    labels = [read_label_image(path) for path in outs.values()]
    assert labels[0].shape == labels[1].shape == (48, 64)
    with pytest.raises(SystemExit):
        main(["segment", str(image), "-k", "12", "--precision", "half", "-o", str(outs["float32"])])
    assert "invalid choice: 'half'" in capsys.readouterr().err


# -- training: amp -------------------------------------------------------------------------


@pytest.mark.parametrize("amp,native,cpu,gpu80,gpu75", [
    ("auto", True, torch.bfloat16, torch.bfloat16, None),
    ("auto", False, None, torch.bfloat16, None),
    (True, True, None, torch.bfloat16, None),  # amp's meaning before auto: GPUs only
    (False, True, None, None, None),
])  # fmt: skip
def test_amp_picks_bf16_where_the_device_computes_it(native_bf16_cpu, amp, native, cpu, gpu80,
                                                    gpu75):  # fmt: skip
    native_bf16_cpu(native)
    config = load_config(overrides={"amp": amp, "feature_net": "deep"})
    assert config.amp == amp
    assert config.autocast_dtype("cpu") is cpu
    for capability, expected in (((8, 0), gpu80), ((7, 5), gpu75)):
        with fake_cuda(1, capability=capability):
            assert config.autocast_dtype("cuda:0") is expected


def test_amp_reads_auto_true_false_and_refuses_the_rest():
    assert load_config().amp == "auto"
    for text, value in (("auto", "auto"), ("true", True), ("false", False), ("True", True)):
        assert load_config(overrides=[f"amp={text}"]).amp is value or value == "auto"
    for bad in ("bf16", "1", 1, "float32"):
        with pytest.raises(ValueError, match=r"amp must be auto, true or false, got"):
            load_config(overrides={"amp": bad})


def test_a_run_recorded_with_amp_true_resumes_in_float32_on_a_bf16_cpu(
    tiny_bsds, tmp_path, native_bf16_cpu, monkeypatch
):
    """A run started before amp: auto (amp: true, float32 on a CPU) resumes under the new
    default without being refused, and goes on in float32: it keeps its amp."""
    import ssn.train.loop as loop

    native_bf16_cpu(True)
    settings = dict(data_root=str(tiny_bsds), patch_size=33, batch_size=2, n_segments=9,
                    max_iters=2, eval_interval=2, eval_images=1, eval_n_segments=9,
                    checkpoint_interval=1, log_interval=1, num_workers=0, feature_net="linear",
                    out_dir=str(tmp_path), progress=False, threads=1, device="cpu")  # fmt: skip
    train(load_config(overrides={**settings, "amp": True}))
    assert load_checkpoint(tmp_path / "last.pt")["config"]["amp"] is True
    used = []
    compute_loss = loop.compute_loss
    monkeypatch.setattr(loop, "compute_loss", lambda *a: used.append(a[3]) or compute_loss(*a))
    resumed = load_config(overrides={**settings, "max_iters": 3, "init_from": "resume"})
    assert resumed.amp == "auto"  # the new default, left unset
    assert changed_settings(load_checkpoint(tmp_path / "last.pt")["config"], resumed) == {}
    assert train(resumed)["trained"] == 1
    assert used == [None]  # float32, as the run started: not bf16 halfway
    assert load_checkpoint(tmp_path / "last.pt")["config"]["amp"] is True
    # an explicit other amp is a change: refused as any other
    other = load_config(overrides={**settings, "amp": False})
    assert changed_settings({"amp": True}, other) == {"amp": (True, False)}
    assert changed_settings({"amp": "auto"}, other) == {"amp": ("auto", False)}


# -- the accuracy limits ------------------------------------------------------------------

#: issue #29's limits, bf16 against float32: mean ASA, mean BR (Stutz protocol), and the
#: realised count of each image (relative)
ASA_LIMIT, BR_LIMIT, COUNT_LIMIT = 0.001, 0.003, 0.01


def _deep_model() -> str:
    """The paper's BSDS500 model where ``$SSN_WEIGHTS`` (or the cache) has it, else the
    bundled SSN_deep."""
    from ssn import official

    try:
        official.locate("official-bsds500")
        return "official-bsds500"
    except FileNotFoundError:
        return "deep"


def test_bf16_keeps_asa_br_and_counts_within_the_limits(bsds_root):
    """bf16 against float32 on 8 BSDS500 test images at K = 200 / 400 / 800, within the
    issue's limits for 50 full-size images.

    CI size: the images are halved (241×161; every annotation subsampled alike), which
    makes the check 4× cheaper where bf16 is emulated. The limits stay the issue's: on
    12 halved images the differences were at most 0.0002 (ASA) and 0.0007 (BR), on 10
    full-size ones 0.0005 and 0.0025 (the paired per-image differences average out over
    the images; fewer, larger images leave more of that noise). bf16 must also have run:
    it moves labels (a third of the pixels at full size), so the test asserts some moved
    and compares metrics, never labels.
    """
    from ssn.inference import resolve_model
    from ssn.io import read_bsds_ground_truth, read_image
    from ssn.metrics import evaluate_image

    net = resolve_model(_deep_model(), "cpu")
    paths = sorted((bsds_root / "images" / "test").glob("*.jpg"))[:8]
    assert len(paths) == 8
    for k in (200, 400, 800):
        scores = {"float32": [], "bfloat16": []}
        moved = []
        for path in paths:
            image = read_image(path)[::2, ::2]
            truths = read_bsds_ground_truth(bsds_root / "groundTruth" / "test" / f"{path.stem}.mat")
            truths = [truth[::2, ::2] for truth in truths]
            labels = {}
            for precision, rows in scores.items():
                labels[precision] = ssn.segment(image, k, model=net, device="cpu",
                                                precision=precision)  # fmt: skip
                mean = evaluate_image(labels[precision], truths, protocol="stutz").mean()
                rows.append((mean["asa"], mean["br"], labels[precision].max() + 1))
            moved.append((labels["float32"] != labels["bfloat16"]).mean())
        f32, bf16 = np.array(scores["float32"]), np.array(scores["bfloat16"])
        asa, br = np.abs(bf16[:, :2].mean(0) - f32[:, :2].mean(0))
        counts = np.abs(bf16[:, 2] / f32[:, 2] - 1)
        assert asa <= ASA_LIMIT and br <= BR_LIMIT and counts.max() <= COUNT_LIMIT, (
            f"K={k}: ASA {asa:.4f}, BR {br:.4f}, counts {counts.max():.2%} apart"
        )
        assert np.mean(moved) > 0.01, f"K={k}: bf16 moved no labels: it did not run"


# -- benchmarks/amp_convergence.py's verdict ------------------------------------------------


def _amp_convergence():
    import importlib.util
    import sys
    from pathlib import Path

    bench = Path(__file__).resolve().parents[1] / "benchmarks"
    sys.path.insert(0, str(bench))  # its `_common`
    try:
        spec = importlib.util.spec_from_file_location(
            "amp_convergence", bench / "amp_convergence.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(bench))
    return module


@pytest.mark.parametrize("bf16_asa,verdict", [(0.9015, "within"), (0.9025, "NOT within")])
def test_amp_convergence_judges_the_last_common_validation(tmp_path, bf16_asa, verdict):
    """The final ASAs differ by 0.0015 (within 0.002) or 0.0025 (not); the speed-up is
    the ratio of the medians of the rates logged between validations (12/6 = 2.00)."""
    import argparse

    bench = _amp_convergence()
    header = "iter,loss,reconstruction,compactness,val_asa,val_br,seconds,samples_per_s,val_epe\n"
    logs = {}
    for name, rates, asa in (("float32", (5, 6, 7), 0.9), ("bfloat16", (11, 12, 13), bf16_asa)):
        rows = [f"{25 * (i + 1)},0.5,0.1,1,,,1,{rate}," for i, rate in enumerate(rates)]
        rows.append(f"100,0.5,0.1,1,{asa},0.7,9,1.0,")  # a validation row's rate: left out
        logs[name] = tmp_path / f"{name}.csv"
        logs[name].write_text(header + "\n".join(rows) + "\n")
    args = argparse.Namespace(iters=100, batch=2, threads=2, eval_images=2)
    text = bench.report(args, logs, 0.0)
    assert f"At iteration 100: |Δ ASA| = {abs(bf16_asa - 0.9):.4f}, {verdict} the limit" in text
    assert "**2.00×**" in text
