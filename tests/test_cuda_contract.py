"""The CUDA branches, run on the CPU with only CUDA's C level played by it (fake_cuda).

torch's own Python-level checks run as on a GPU (``torch.cuda.set_device`` refuses a
device without an index, ``set_rng_state`` an index past the device count, autocast a
dtype the device lacks), so what fails here would fail on the first GPU run (issue #24).
"""

from __future__ import annotations

import os
import subprocess
import sys
import traceback
from pathlib import Path

import numpy as np
import pytest
import torch
from fake_cuda import fake_cuda, subprocess_env
from test_train import _config

import ssn
from ssn.checkpoint import load_checkpoint, save_checkpoint
from ssn.devices import resolve_device
from ssn.train import train

REPO_ROOT = Path(__file__).resolve().parents[1]


# -- one device rule ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "asked,local_rank,expected",
    [("cuda", None, "cuda:0"), ("cuda", "1", "cuda:1"), ("cuda:1", "0", "cuda:1"),
     ("auto", None, "cuda:0"), (None, "1", "cuda:1"), ("cpu", "1", "cpu")],
)  # fmt: skip
def test_a_cuda_device_always_gets_its_index(monkeypatch, asked, local_rank, expected):
    if local_rank is None:
        monkeypatch.delenv("LOCAL_RANK", raising=False)
    else:
        monkeypatch.setenv("LOCAL_RANK", local_rank)
    with fake_cuda(2):
        assert resolve_device(asked) == torch.device(expected)


@pytest.mark.parametrize("capability,expected", [((9, 0), torch.bfloat16), ((8, 0), torch.bfloat16),
                                                 ((7, 5), None)])  # fmt: skip
def test_training_autocasts_to_bf16_only_where_the_gpu_computes_it(
    capability, expected, monkeypatch
):
    """torch.autocast refuses bf16 on a GPU without it (a T4, a V100): amp falls back to
    float32 there instead of crashing the first step. (A CPU's answer: test_precision.py.)"""
    from ssn.devices import autocast_dtype

    monkeypatch.setattr("ssn.devices.cpu_has_native_bf16", lambda: False)
    with fake_cuda(1, capability=capability):
        assert autocast_dtype("cuda:0") is expected
        if expected is None:
            with pytest.raises(RuntimeError, match="bfloat16"):
                torch.autocast("cuda", dtype=torch.bfloat16)
    assert autocast_dtype("cpu") is None


def test_a_gpu_the_machine_lacks_is_refused():
    with fake_cuda(2), pytest.raises(ValueError, match=r"'cuda:2' is not available.*2 CUDA"):
        resolve_device("cuda:2")
    with pytest.raises(ValueError, match="'cuda' is not available"):
        resolve_device("cuda")  # no fake GPU: this CPU-only machine
    assert resolve_device("auto") == torch.device("cpu")


# -- training ------------------------------------------------------------------------------


@pytest.mark.parametrize("device", ["cuda", "cuda:0", "auto"])
def test_train_runs_on_cuda(tiny_bsds, tmp_path, device):
    """`ssn.train` with device=cuda gets past setup (set_device, autocast, RNG state) and
    trains; a 2-iteration run resumed to 4 gives the same weights as a 4-iteration run."""
    with fake_cuda(1) as fake:
        summary = train(_config(tiny_bsds, tmp_path / "a", device=device, feature_net="deep"))
        assert fake.current == 0
        train(_config(tiny_bsds, tmp_path / "b", device=device, feature_net="deep", max_iters=2))
        train(_config(tiny_bsds, tmp_path / "b", device=device, feature_net="deep",
                      init_from="resume"))  # fmt: skip
    assert summary["iter"] == 4
    straight, resumed = (load_checkpoint(tmp_path / r / "last.pt") for r in "ab")
    assert "Fake GPU" in straight["train_device"]
    for key, value in straight["model"].items():
        torch.testing.assert_close(resumed["model"][key], value, rtol=0, atol=0)


def test_cli_train_on_cuda(tiny_bsds, tmp_path, capsys):
    from ssn.cli import main

    settings = _config(tiny_bsds, tmp_path / "run").__dict__
    args = [f"{k}={v}" for k, v in settings.items() if k != "device"]
    with fake_cuda(1):
        assert main(["train", *args, "device=cuda"]) == 0
    assert "done: iteration 4" in capsys.readouterr().out


def test_a_run_saved_with_two_gpus_resumes_on_one(tiny_bsds, tmp_path):
    """A checkpoint whose RNG state holds two GPUs' generators (as a 2-GPU machine wrote
    it) continues on a machine with one GPU."""
    run = tmp_path / "run"
    with fake_cuda(2):
        train(_config(tiny_bsds, run, device="cuda", max_iters=2))
    state = load_checkpoint(run / "last.pt")
    one = state["rng"]["cuda"]
    one = one[0] if isinstance(one, list) else one
    state["rng"]["cuda"] = [one, one.clone()]  # every GPU of the machine that saved it
    model = ssn.models.SSN(ssn.models.SSNConfig(**state["model_args"]))
    model.load_state_dict(state["model"])
    extra = {k: v for k, v in state.items() if k not in ("model", "model_args")}
    save_checkpoint(run / "last.pt", model, **extra)
    with fake_cuda(1):
        summary = train(_config(tiny_bsds, run, device="cuda", init_from="resume"))
    assert summary["iter"] == 4 and summary["trained"] == 2


def test_torchrun_two_ranks_on_cuda(tiny_bsds, tmp_path):
    """Two ranks under torchrun's environment, each on its GPU (LOCAL_RANK), nccl."""
    settings = _config(tiny_bsds, tmp_path / "ddp", eval_interval=100, scale=None).__dict__
    args = [f"{k}={v}" for k, v in settings.items() if k != "device"]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "ssn.cli", "train", *args, "device=cuda"]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=REPO_ROOT,
                            env=subprocess_env(2))  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("done: iteration 4") == 1
    assert load_checkpoint(tmp_path / "ddp" / "last.pt")["iter"] == 4


# -- the workflow's training job -----------------------------------------------------------


# a workflow job as Snakemake runs its script: a fresh process, `snakemake` injected
JOB_DRIVER = """
import json, os, runpy, sys, types
sys.path.append(os.path.dirname(sys.argv[1]))  # the script's folder: its helpers (_jobs)
job = json.loads(sys.argv[2])
snakemake = types.SimpleNamespace(
    log=job["log"], input=job["input"], threads=job["threads"],
    output=types.SimpleNamespace(**job["output"]), params=types.SimpleNamespace(**job["params"]))
runpy.run_path(sys.argv[1], init_globals={"snakemake": snakemake})
"""


@pytest.mark.parametrize("device", ["cuda", "auto"])
def test_the_workflow_training_job_on_cuda(tiny_bsds, tmp_path, device):
    """workflow/scripts/train.py with the config's device, in a process of its own."""
    import json

    settings = _config(tiny_bsds, tmp_path / "run").__dict__
    keep = ("patch_size", "batch_size", "n_segments", "max_iters", "eval_interval",
            "eval_images", "eval_n_segments", "checkpoint_interval", "log_interval",
            "num_workers", "feature_net")  # fmt: skip
    job = {
        "log": [str(tmp_path / "train.log")], "threads": 1,
        "input": {},  # no profile: the defaults and the overrides
        "output": {"model": str(tmp_path / "model.pt")},
        "params": {"device": device, "out_dir": str(tmp_path / "run"),
                   "data_root": str(tiny_bsds),
                   "overrides": [f"{k}={settings[k]}" for k in keep]},
    }  # fmt: skip
    script = str(REPO_ROOT / "workflow" / "scripts" / "train.py")
    result = subprocess.run(
        [sys.executable, "-c", JOB_DRIVER, script, json.dumps(job)], env=subprocess_env(1),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    log = (tmp_path / "train.log").read_text()
    assert result.returncode == 0, log[-3000:] + result.stderr[-2000:]
    assert "device cuda:0" in log and "done: iteration 4" in log, log[-2000:]
    assert load_checkpoint(tmp_path / "model.pt")["config"]["device"] == "cuda:0"


# -- inference ------------------------------------------------------------------------------


def _image(seed=0):
    rng = np.random.default_rng(seed)
    base = rng.random((9, 11, 3))
    return np.kron(base, np.ones((8, 8, 1)))[:65, :81] * 0.8 + rng.random((65, 81, 3)) * 0.2


@pytest.mark.parametrize("model", ["pix", "deep"])
@pytest.mark.parametrize("device", ["cuda", "cuda:0", "auto"])
def test_segment_on_cuda_gives_the_cpu_labels(model, device):
    """The CUDA branch of ``ssn.segment`` (a torch forward pass) against the CPU branch
    (the fused numba kernel): the same algorithm, so the same labels but for float
    rounding ties. In float32 on both: the fake GPU's bf16 autocast would not reach the
    CPU tensors it computes on (the precisions: test_precision.py)."""
    image = _image()
    cpu = ssn.segment(image, 40, model=model, device="cpu", precision="float32")
    with fake_cuda(1):
        gpu = ssn.segment(image, 40, model=model, device=device, precision="float32")
    assert gpu.shape == cpu.shape and (gpu == cpu).mean() > 0.99


def test_the_methods_registry_on_cuda():
    from ssn.methods import load_segmenter

    image = _image(1)
    with fake_cuda(1):
        labels = load_segmenter("ssn", model="pix", device="cuda")(image, 40)
    np.testing.assert_array_equal(labels, ssn.segment(image, 40, device="cpu"))


# -- no host syncs in the training step -----------------------------------------------------


@pytest.mark.parametrize("log_interval", [1, 4])
def test_a_training_step_reads_no_number_back_from_the_device(tiny_bsds, tmp_path, monkeypatch,
                                                                log_interval):  # fmt: skip
    """Every conversion of a tensor to a Python number (or to host memory) makes the CPU
    wait for the GPU. Outside validation and checkpointing, training does at most one per
    log interval: the read of the smoothed losses."""
    import ssn.train.loop as loop
    from ssn.train.run import Checkpointer

    outside, counted, inside = [False], [], [False]  # counting from the first step on

    def host_read(stack) -> bool:
        # torch.optim keeps Adam's step counter on the CPU unless capturable or fused
        # (Adam._init_group), so its .item() waits for no GPU
        return not any(f"torch{os.sep}optim{os.sep}" in frame.filename for frame in stack)

    def counting(name):
        real = getattr(torch.Tensor, name)

        def wrapper(self, *args, **kwargs):
            if inside[0]:  # torch's own dispatch calling back: one conversion, not two
                return real(self, *args, **kwargs)
            if outside[0] and host_read(traceback.extract_stack()):
                counted.append(name)
            inside[0] = True
            try:
                return real(self, *args, **kwargs)
            finally:
                inside[0] = False

        return wrapper

    for name in ("item", "tolist", "__float__", "__int__", "__bool__", "__index__", "cpu",
                 "numpy"):  # fmt: skip
        monkeypatch.setattr(torch.Tensor, name, counting(name))

    def not_counted(fn):
        def wrapper(*args, **kwargs):
            outside[0] = False
            try:
                return fn(*args, **kwargs)
            finally:
                outside[0] = True

        return wrapper

    def first_step_starts_counting(*args, **kwargs):
        outside[0] = True
        return real_loss(*args, **kwargs)

    real_loss = loop.compute_loss
    monkeypatch.setattr(loop, "compute_loss", first_step_starts_counting)
    monkeypatch.setattr(loop, "validate", not_counted(loop.validate))
    monkeypatch.setattr(Checkpointer, "save", not_counted(Checkpointer.save))
    config = _config(tiny_bsds, tmp_path / "run", device="cuda", max_iters=12, grad_clip=1.0,
                     log_interval=log_interval, eval_interval=100, checkpoint_interval=100,
                     feature_net="deep")  # fmt: skip
    with fake_cuda(1):
        summary = train(config)
    assert summary["iter"] == 12
    assert 0 < len(counted) <= 12 // log_interval, counted
