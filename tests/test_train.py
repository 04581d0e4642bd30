"""Training: the loss decreases, resume is exact, checkpoints and configs are safe."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ssn.checkpoint import load_checkpoint, save_checkpoint
from ssn.devices import device_name
from ssn.models import SSN, SSNConfig
from ssn.train import TrainConfig, compute_loss, load_config, train


def _config(tiny_bsds, out_dir, **kw):
    settings = dict(
        data_root=str(tiny_bsds), patch_size=33, batch_size=2, n_segments=9,
        max_iters=4, eval_interval=2, eval_images=2, eval_n_segments=9,
        checkpoint_interval=2, log_interval=1, num_workers=0, feature_net="linear",
        out_dir=str(out_dir), progress=False, threads=1,
    )  # fmt: skip
    settings.update(kw)
    return load_config(None, settings)


@pytest.mark.parametrize("feature_net,lr", [("linear", 1e-3), ("deep", 1e-4)])
def test_steps_decrease_the_loss_on_a_fixed_batch(tiny_bsds, tmp_path, feature_net, lr):
    from ssn.train import build_patches

    torch.manual_seed(0)
    config = _config(tiny_bsds, tmp_path, feature_net=feature_net, scale=None)
    patches = build_patches(config)
    batch = torch.utils.data.default_collate([patches[0], patches[1]])
    model = SSN(SSNConfig(feature_net=feature_net)).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    first = None
    for _ in range(10):
        losses = compute_loss(model, batch, config)
        assert torch.isfinite(losses["loss"])
        optimizer.zero_grad()
        losses["loss"].backward()
        for name, p in model.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), name
        optimizer.step()
        first = first if first is not None else losses["loss"].item()
    final = compute_loss(model, batch, config)["loss"]
    assert final.item() < first


def test_resume_gives_the_same_weights(tiny_bsds, tmp_path):
    straight = tmp_path / "straight"
    train(_config(tiny_bsds, straight))
    resumed = tmp_path / "resumed"
    train(_config(tiny_bsds, resumed, max_iters=2))
    assert load_checkpoint(resumed / "last.pt")["iter"] == 2
    train(_config(tiny_bsds, resumed, init_from="resume"))
    a = load_checkpoint(straight / "last.pt")
    b = load_checkpoint(resumed / "last.pt")
    assert a["iter"] == b["iter"] == 4
    for key in a["model"]:
        torch.testing.assert_close(a["model"][key], b["model"][key], rtol=0, atol=0)
    # The log continues instead of restarting; best checkpoint and config are written.
    rows = (resumed / "log.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3", "4"]
    assert (straight / "best.pt").is_file() and (straight / "config.json").is_file()
    best = load_checkpoint(straight / "best.pt")
    assert 0 < best["best_metric"] <= 1
    assert best["config"]["feature_net"] == "linear"
    # The training cost accumulates over the resumed sessions, on the machine named.
    assert a["train_seconds"] > 0 and b["train_seconds"] > 0
    assert b["train_device"] == a["train_device"] == device_name("cpu")


def test_a_compact_checkpoint_resumes_on_another_machine(tiny_bsds, tmp_path):
    """The compact copy of last.pt (Adam's moments in bfloat16), alone in a new run
    folder, resumes as ``--resume`` does: the same iterations and, after the first resumed
    step, the weights of the run that never stopped up to the bfloat16 rounding's effect."""
    from ssn.checkpoint import compact_checkpoint

    straight = tmp_path / "straight"
    train(_config(tiny_bsds, straight, feature_net="deep", max_iters=3))
    first = tmp_path / "first"
    train(_config(tiny_bsds, first, feature_net="deep", max_iters=2))
    elsewhere = tmp_path / "elsewhere"
    compact_checkpoint(first / "last.pt", elsewhere / "last.pt")
    train(_config(tiny_bsds, elsewhere, feature_net="deep", max_iters=3, init_from="resume"))
    a = load_checkpoint(straight / "last.pt")
    b = load_checkpoint(elsewhere / "last.pt")
    assert a["iter"] == b["iter"] == 3
    # Step 3 starts from the same weights, batch and RNG (resume is exact), so only the
    # rounded moments differ: a derived bound (0.0070 lr; measured 0.0040 lr on an AMD
    # EPYC). Fresh moments would move a weight by up to lr. Each run rounds w - Δ to
    # float32 once (2^-24 |w|): rtol 2^-23. Not step 4: its gradient is taken at
    # weights that differ, by an amount no arithmetic bounds (0.05-0.2 lr measured, on
    # the CPU that rounds differently), up to Adam's 2 lr.
    config = _config(tiny_bsds, straight)
    bound = _adam_step_change_bound(config.beta1, config.beta2, t=3) * config.learning_rate
    for key in a["model"]:
        torch.testing.assert_close(a["model"][key], b["model"][key], rtol=2.0**-23, atol=bound)


def _adam_step_change_bound(beta1, beta2, t, u=2.0**-8):
    """Bound on |Δ̃ − Δ| / lr for Adam's step ``t`` (1-based) when the moments after step
    ``t - 1`` were rounded with relative error ``u`` (bfloat16: 8 significant bits, 2^-8)
    and the gradient is the same.

    Per weight, with g_k its gradient at step k, S_n = Σ_{k<n} (β1²/β2)^k and
    c1 = 1 − β1^t, c2 = 1 − β2^t (the bias corrections), Adam steps by
    Δ = lr · (m_t / c1) / (sqrt(v_t / c2) + ε), m_t = β1 m_{t−1} + (1 − β1) g_t,
    v_t = β2 v_{t−1} + (1 − β2) g_t². Cauchy–Schwarz on the sums m and v gives
    |m_n| ≤ (1 − β1) sqrt(S_n / (1 − β2)) sqrt(v_n), so (m_t / c1) / sqrt(v_t / c2) ≤ R =
    (1 − β1) / c1 · sqrt(c2 S_t / (1 − β2)) (≈ 1 for small t: Adam's step is at most ~lr).
    The rounding adds β1 m_{t−1} a to m_t and β2 v_{t−1} b to v_t, |a|, |b| ≤ u; as
    β2 v_{t−1} ≤ v_t, the denominator D moves by at most u D and stays ≥ sqrt(1 − u) D. So
    |Δ̃ − Δ| / lr ≤ β1 |m_{t−1}| u / (c1 D̃) + R u / sqrt(1 − u), and with the bound on
    |m_{t−1}| and sqrt(v_{t−1}) ≤ sqrt(v_t / β2) the first term is at most
    u / sqrt(1 − u) · β1 (1 − β1) sqrt(S_{t−1} c2 / ((1 − β2) β2)) / c1. (Moments below
    bfloat16's normal range, 1e-38, err by ≤ 1e-40 absolute: ~lr · 1e-32 here, nil.)
    """
    c1, c2 = 1 - beta1**t, 1 - beta2**t
    ratio = beta1**2 / beta2

    def s(n):
        return sum(ratio**k for k in range(n))

    reach = (1 - beta1) / c1 * (c2 * s(t) / (1 - beta2)) ** 0.5
    moment = beta1 * (1 - beta1) / c1 * (s(t - 1) * c2 / ((1 - beta2) * beta2)) ** 0.5
    return (moment + reach) * u / (1 - u) ** 0.5


def test_training_time_adds_up_over_resumes(tiny_bsds, tmp_path, monkeypatch):
    """train_seconds of a resumed run = the first session's + the second's."""
    import ssn.train.loop as loop

    clock = iter(range(0, 1000, 10))  # each reading 10 s after the previous one
    monkeypatch.setattr(loop, "monotonic", lambda: float(next(clock)))
    train(_config(tiny_bsds, tmp_path, max_iters=2))
    first = load_checkpoint(tmp_path / "last.pt")["train_seconds"]
    assert first == 20.0  # start, then one reading per iteration
    train(_config(tiny_bsds, tmp_path, init_from="resume"))
    assert load_checkpoint(tmp_path / "last.pt")["train_seconds"] == 40.0


def test_resume_drops_log_rows_after_the_checkpoint(tiny_bsds, tmp_path):
    """A crash between a log row and the next checkpoint must not list iterations twice."""
    train(_config(tiny_bsds, tmp_path, max_iters=2))
    with open(tmp_path / "log.csv", "a") as fh:  # iteration 3 logged, then the crash
        fh.write("3,9.9,9.9,9.9,,,1.0,1.0,\n4,9.9,9")  # ... in the middle of row 4
    train(_config(tiny_bsds, tmp_path, init_from="resume"))
    rows = (tmp_path / "log.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3", "4"]
    assert "9.9" not in rows[3].split(",")[1:4]  # the rerun iteration 3's losses, not the lost ones


def test_continue_from_a_weights_only_checkpoint(tiny_bsds, tmp_path):
    """init_from=<file>: weights and iteration from the file, fresh optimiser."""
    train(_config(tiny_bsds, tmp_path / "a", max_iters=2))
    full = load_checkpoint(tmp_path / "a" / "last.pt")
    weights = tmp_path / "weights.pt"
    torch.save({k: full[k] for k in ("model_args", "model", "iter", "best_metric")}, weights)
    train(_config(tiny_bsds, tmp_path / "b", init_from=str(weights)))
    continued = load_checkpoint(tmp_path / "b" / "last.pt")
    assert continued["iter"] == 4
    changed = [not torch.equal(full["model"][k], continued["model"][k]) for k in full["model"]]
    assert any(changed)


def test_init_from_non_finite_weights_is_one_clear_error(tiny_bsds, tmp_path):
    """Was a FloatingPointError traceback from the first training step."""
    model = SSN(SSNConfig(feature_net="linear"))
    with torch.no_grad():
        next(iter(model.parameters())).view(-1)[0] = float("nan")
    weights = tmp_path / "nan.pt"
    save_checkpoint(weights, model)
    with pytest.raises(ValueError, match=r"nan.pt: feature_net\.\S+ holds 1 non-finite"):
        train(_config(tiny_bsds, tmp_path / "run", init_from=str(weights)))
    assert not (tmp_path / "run").exists()


def test_resume_without_checkpoint_is_an_error(tiny_bsds, tmp_path):
    with pytest.raises(FileNotFoundError, match="cannot resume"):
        train(_config(tiny_bsds, tmp_path / "none", init_from="resume"))


def test_trained_checkpoint_segments(tiny_bsds, tmp_path):
    """ssn.segment with a trained checkpoint: the labels of the checkpoint's own network
    (its forward pass, against segment's fused CPU kernel), then made 4-connected."""
    from scipy import ndimage as ndi

    import ssn
    from ssn.checkpoint import load_model
    from ssn.connectivity import enforce_connectivity
    from ssn.functional import grid_shape

    train(_config(tiny_bsds, tmp_path, max_iters=2))
    image = np.asarray(Image.open(tiny_bsds / "images" / "test" / "0.jpg"))
    checkpoint = tmp_path / "best.pt"
    raw = ssn.segment(image, 9, model=checkpoint, device="cpu", enforce_connectivity=False)
    net = load_model(checkpoint)
    state = net.state_dict()  # the trained weights, as saved
    for key, value in load_checkpoint(checkpoint)["model"].items():
        torch.testing.assert_close(state[key], value, rtol=0, atol=0)
    with torch.no_grad():
        tensor = torch.from_numpy(image / 255.0).float().permute(2, 0, 1)[None]
        forward = net(tensor, 9, n_iter=10).labels[0].numpy()
    # the fused kernel against the torch module: float32 ties may flip a few pixels
    assert (raw != forward).mean() < 2e-3
    grid = grid_shape(9, *image.shape[:2])
    labels = ssn.segment(image, 9, model=checkpoint, device="cpu")
    np.testing.assert_array_equal(labels, enforce_connectivity(raw, grid[0] * grid[1]))
    # a partition into consecutive labels, each one 4-connected region, at most the grid's
    count = labels.max() + 1
    assert labels.min() == 0 and np.array_equal(np.unique(labels), np.arange(count))
    assert count <= grid[0] * grid[1]
    for label in range(count):
        assert ndi.label(labels == label)[1] == 1


class TestConfig:
    def test_defaults_are_the_papers(self):
        c = TrainConfig()
        assert (c.learning_rate, c.batch_size, c.patch_size, c.n_segments) == (1e-4, 8, 201, 100)
        assert (c.n_iter_train, c.n_iter_test, c.n_features, c.compactness_weight) == (
            5,
            10,
            20,
            1e-5,
        )
        assert c.max_iters == 500_000

    def test_file_then_overrides(self, tmp_path):
        path = tmp_path / "c.yaml"
        path.write_text("batch_size: 4\nlearning_rate: 3e-4\nfeature_net: linear\n")
        c = load_config(path, ["batch_size=2", "flip=false", "scale=null"])
        # "1e-5" without a dot is a string in YAML 1.1; numbers must still parse.
        assert load_config(None, ["compactness_weight=1e-5"]).compactness_weight == 1e-5
        assert (c.batch_size, c.learning_rate, c.feature_net, c.flip, c.scale) == (
            2, 3e-4, "linear", False, None,
        )  # fmt: skip

    @pytest.mark.parametrize(
        "override,match",
        [
            ("batchsize=3", "unknown config key 'batchsize'"),
            ("batch_size=two", "must be an integer"),
            ("flip=3", "true/false"),
            ("learning_rate=fast", "must be a number"),
            ("feature_net=pix", "SSN_pix has no parameters"),
            ("batch_size", "key=value"),
            ("max_iters=0", "at least 1"),
            ("init_from=/no/such/file.pt", "init_from must be"),
        ],
    )
    def test_bad_settings(self, override, match):
        with pytest.raises(ValueError, match=match):
            load_config(None, [override])

    def test_missing_file(self, tmp_path):
        with pytest.raises(FileNotFoundError):
            load_config(tmp_path / "nope.yaml")


def test_torchrun_ddp_matches_single_process(tiny_bsds, tmp_path):
    """Two DistributedDataParallel ranks (gloo, CPU) sharing a global batch of 2 reach
    the weights of one process with the same batch. (SSN_linear has no BatchNorm, and
    without rescaling every pixel is valid, so the mean of the ranks' losses is the
    loss of the whole batch. In float32: bf16 autocast, where this CPU has it, would
    round far above the reduction order this compares.)"""
    import subprocess
    import sys

    single = tmp_path / "single"
    train(_config(tiny_bsds, single, eval_interval=100, scale=None, amp=False))
    ddp = tmp_path / "ddp"
    settings = _config(tiny_bsds, ddp, eval_interval=100, scale=None, amp=False).__dict__
    args = [f"{k}={v}" for k, v in settings.items()]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "ssn.cli", "train", *args]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, [line for line in result.stderr.splitlines() if "error" in line]
    assert result.stdout.count("done: iteration 4") == 1
    a = load_checkpoint(single / "last.pt")["model"]
    b = load_checkpoint(ddp / "last.pt")["model"]
    diff = torch.cat([(a[k] - b[k]).abs().flatten() for k in a])
    # Reduction order differs (all-reduce vs one batch): Adam turns a rounding-level
    # difference of a near-zero gradient into up to a full step (lr) per iteration on a
    # few weights; everything else agrees to 1e-6.
    assert (diff > 1e-6).float().mean() < 0.05
    assert diff.max() <= 2 * 1e-4 * 4


@pytest.mark.realdata
@pytest.mark.parametrize(
    "task,root,extra",
    [
        ("voc2012", "VOCdevkit", {"train_split": "trainval", "val_split": "trainval"}),
        ("cityscapes", "Cityscapes", {"train_split": "train", "val_split": "train"}),
        ("sintel", "MPI-Sintel", {"train_split": "all", "val_split": "all", "scale": None}),
    ],
)
def test_other_tasks_train_and_validate_on_real_samples(samples_root, tmp_path, task, root, extra):
    """VOC / Cityscapes (cross-entropy, void ignored) and Sintel (L1 on flow, frame-pair
    input): two steps, validation and checkpoints on the real dataset samples."""
    config = _config(
        samples_root, tmp_path, task=task, data_root=str(samples_root / root),
        eval_images=1, eval_interval=2, max_iters=2, n_segments=25, eval_n_segments=50,
        **extra,
    )  # fmt: skip
    summary = train(config)
    best = load_checkpoint(tmp_path / "best.pt")
    assert summary["iter"] == 2 and best["iter"] == 2
    header, *rows = (tmp_path / "log.csv").read_text().splitlines()
    last = dict(zip(header.split(","), rows[-1].split(","), strict=False))
    if task == "sintel":
        assert best["model_args"]["in_channels"] == 8  # XYLab + Lab of the second frame
        assert 0 <= float(last["val_epe"]) < 100
    else:
        assert 0 < float(last["val_asa"]) <= 1


# -- issue #12: nothing lost, no silent wrong answer, one line per error -----------------


def _files(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_a_run_in_out_dir_is_never_replaced_silently(tiny_bsds, tmp_path):
    """Issue #12 (2): training without resume into a folder holding a run refused;
    --overwrite replaces it (and the log restarts instead of growing)."""
    train(_config(tiny_bsds, tmp_path, max_iters=2))
    before = _files(tmp_path)
    assert {"last.pt", "best.pt", "log.csv"} <= set(before)
    with pytest.raises(
        FileExistsError, match=r"already holds a training run.*--resume.*--out.*--overwrite"
    ):
        train(_config(tiny_bsds, tmp_path, max_iters=2, seed=1))
    assert _files(tmp_path) == before
    train(_config(tiny_bsds, tmp_path, max_iters=2, seed=1), overwrite=True)
    rows = (tmp_path / "log.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2"]
    assert load_checkpoint(tmp_path / "last.pt")["config"]["seed"] == 1


def test_init_from_a_checkpoint_of_another_architecture_is_refused(tiny_bsds, tmp_path):
    """Issue #12 (3): the checkpoint's network used to replace the config's silently."""
    weights = tmp_path / "linear.pt"
    from ssn.checkpoint import save_checkpoint

    save_checkpoint(weights, SSN(SSNConfig(feature_net="linear")), iter=0)
    out = tmp_path / "run"
    with pytest.raises(
        ValueError,
        match=r"feature_net='linear'.*asks for feature_net='deep'.*set feature_net=linear",
    ):
        train(_config(tiny_bsds, out, feature_net="deep", init_from=str(weights)))
    with pytest.raises(
        ValueError, match=r"n_features=20.*asks for n_features=12.*set n_features=20"
    ):
        train(_config(tiny_bsds, out, n_features=12, init_from=str(weights)))
    assert not out.exists()


def test_init_from_keeps_the_configs_model_settings(tiny_bsds, tmp_path):
    """Issue #12 (3): what config.json and the checkpoint record is what ran."""
    from ssn.checkpoint import save_checkpoint

    weights = tmp_path / "w.pt"
    save_checkpoint(weights, SSN(SSNConfig(feature_net="linear", train_eta=5.0)), iter=0)
    train(_config(tiny_bsds, tmp_path / "run", max_iters=1, init_from=str(weights), train_eta=2.5))
    state = load_checkpoint(tmp_path / "run" / "last.pt")
    assert state["model_args"]["train_eta"] == state["config"]["train_eta"] == 2.5


def test_init_from_a_finished_checkpoint_says_so(tiny_bsds, tmp_path, capsys):
    """Issue #12 (3): at or past max_iters nothing ran and nothing was written: an error
    for init_from=<file>, a plain sentence for --resume."""
    from ssn.cli import main

    train(_config(tiny_bsds, tmp_path / "a", max_iters=2))
    out = tmp_path / "b"
    with pytest.raises(
        ValueError, match=r"already at iteration 2 and max_iters is 2: nothing to train"
    ):
        train(_config(tiny_bsds, out, max_iters=2, init_from=str(tmp_path / "a" / "last.pt")))
    assert not out.exists()
    before = _files(tmp_path / "a")
    args = [f"{k}={v}" for k, v in _config(tiny_bsds, tmp_path / "a", max_iters=2).__dict__.items()]
    assert main(["train", "--resume", *args]) == 0
    assert "nothing to train: " in capsys.readouterr().out
    assert _files(tmp_path / "a") == before


def test_resume_with_changed_settings_is_refused_with_the_changes(tiny_bsds, tmp_path, capsys):
    """Issue #25: `ssn train --resume` took a changed learning rate, patch size or
    compactness silently and rewrote config.json; the settings allowed to change are
    ssn.train.config.RESUMABLE, as in the workflow's train job."""
    from ssn.cli import main

    train(_config(tiny_bsds, tmp_path, max_iters=2))
    before = _files(tmp_path)
    settings = _config(tiny_bsds, tmp_path, max_iters=3).__dict__
    args = [f"{k}={v}" for k, v in settings.items() if k != "init_from"]
    changed = ["learning_rate=0.001", "patch_size=25", "compactness_weight=0.1"]
    assert main(["train", "--resume", *args, *changed]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert (
        "was trained with other settings (compactness_weight 1e-05 -> 0.1, learning_rate "
        "0.0001 -> 0.001, patch_size 33 -> 25); resume with the run's own settings, or "
        "start a new run (another --out, or --overwrite without --resume)" in err
    )
    assert _files(tmp_path) == before  # nothing trained, config.json not rewritten
    # a longer schedule, other threads: the same run, continued
    assert main(["train", "--resume", *args, "threads=2"]) == 0
    assert load_checkpoint(tmp_path / "last.pt")["iter"] == 3


def test_a_run_older_than_a_setting_still_resumes(tiny_bsds, tmp_path):
    """A checkpoint written before a setting existed (its config lacks the key) resumes:
    only what the run recorded is compared."""
    from ssn.cli import main
    from ssn.train.config import changed_settings

    train(_config(tiny_bsds, tmp_path, max_iters=2))
    state = load_checkpoint(tmp_path / "last.pt")
    del state["config"]["deterministic"], state["config"]["lr_min"]
    torch.save(state, tmp_path / "last.pt")
    config = _config(tiny_bsds, tmp_path, max_iters=3, deterministic=True, lr_min=1e-6)
    assert changed_settings(state["config"], config) == {}
    assert changed_settings({"patch_size": 25}, config) == {"patch_size": (25, 33)}
    args = [f"{k}={v}" for k, v in config.__dict__.items() if k != "init_from"]
    assert main(["train", "--resume", *args]) == 0
    assert load_checkpoint(tmp_path / "last.pt")["iter"] == 3


def test_log_truncation_and_config_are_written_atomically(tiny_bsds, tmp_path, monkeypatch):
    """Issue #12 (5): a failure while rewriting log.csv or config.json (a kill, a full
    disk) keeps the previous file whole."""
    import csv

    train(_config(tiny_bsds, tmp_path, max_iters=2))
    log_before = (tmp_path / "log.csv").read_bytes()

    class Killed(Exception):
        pass

    class DyingWriter:
        def __init__(self, fh, *args, **kwargs):
            self.fh = fh

        def writerows(self, rows):
            self.fh.write("iter,lo")  # part of the header, then the process dies
            raise Killed

    with monkeypatch.context() as m:
        m.setattr(csv, "writer", DyingWriter)
        with pytest.raises(Killed):
            train(_config(tiny_bsds, tmp_path, max_iters=4, init_from="resume"))
    assert (tmp_path / "log.csv").read_bytes() == log_before
    config_before = (tmp_path / "config.json").read_bytes()

    real_write_text = type(tmp_path).write_text

    def dying_write_text(self, text, *args, **kwargs):
        real_write_text(self, text[:5])
        raise Killed

    with monkeypatch.context() as m:
        m.setattr(type(tmp_path), "write_text", dying_write_text)
        with pytest.raises(Killed):
            train(_config(tiny_bsds, tmp_path, max_iters=4, init_from="resume", log_interval=2))
    assert (tmp_path / "config.json").read_bytes() == config_before
    assert not list(tmp_path.glob(".*.tmp"))


def test_temporary_files_of_killed_runs_are_removed(tiny_bsds, tmp_path):
    """Issue #12 (5): ``.last.pt.<pid>.tmp`` of a dead process is deleted; one of a
    running process is not."""
    import os
    import subprocess
    import sys

    train(_config(tiny_bsds, tmp_path, max_iters=2))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    stale = tmp_path / f".last.pt.{int(dead.stdout)}.tmp"
    stale.write_bytes(b"half a checkpoint")
    live = tmp_path / f".best.pt.{os.getppid()}.tmp"
    live.write_bytes(b"being written")
    train(_config(tiny_bsds, tmp_path, max_iters=3, init_from="resume"))
    assert not stale.exists() and live.exists()


class TestSettingsCheckedFirst:
    """Issue #12 (12, 14): every setting, the data and the device are checked before any
    file is written or any iteration runs, and each error is one line."""

    def test_broken_yaml_is_one_line(self, tmp_path):
        path = tmp_path / "c.yaml"
        path.write_text("batch_size: 4\nfeature_net: [deep\n")
        with pytest.raises(ValueError, match=r"c\.yaml: not valid YAML at line 3, column 1") as err:
            load_config(path)
        assert "\n" not in str(err.value)

    @pytest.mark.parametrize(
        "override,match",
        [
            ("threads=-1", "threads must be 0 or more, got -1"),
            ("eval_images=-1", "eval_images must be at least 1, got -1"),
            ("eval_images=0", "eval_images must be at least 1, got 0"),
            ("num_workers=-2", "num_workers must be 0 or more"),
            ("learning_rate=0", "learning_rate must be a positive number"),
            ("beta2=1.0", r"beta2 must lie in \[0, 1\)"),
            ("n_features=5", "n_features must exceed the 5 input channels"),
            ("scale=huge", "scale must be 'official' or null"),
            ("compactness_reduction=sum", "compactness_reduction must be"),
        ],
    )
    def test_bad_values(self, override, match):
        with pytest.raises(ValueError, match=match):
            load_config(None, [override])

    def test_missing_data_writes_nothing(self, tmp_path):
        out = tmp_path / "run"
        config = load_config(None, [f"data_root={tmp_path / 'nope'}", f"out_dir={out}"])
        with pytest.raises((FileNotFoundError, ValueError)):
            train(config)
        assert not out.exists()

    @pytest.mark.parametrize("device", ["tpu", "cuda"])
    def test_unavailable_device_is_one_line(self, tiny_bsds, tmp_path, capsys, device):
        from ssn.cli import main

        if device == "cuda" and torch.cuda.is_available():
            pytest.skip("this machine has CUDA")
        args = [f"{k}={v}" for k, v in _config(tiny_bsds, tmp_path / "r").__dict__.items()]
        assert main(["train", *args, f"device={device}"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"device={device!r}" in err and "available here: cpu" in err
        assert not (tmp_path / "r").exists()

    def test_data_root_is_relative_to_the_yaml_file(self, tmp_path, monkeypatch):
        (tmp_path / "conf").mkdir()
        path = tmp_path / "conf" / "c.yaml"
        path.write_text("data_root: ../data/BSDS500\n")
        monkeypatch.chdir(tmp_path / "conf")  # anywhere but the file's parent's parent
        assert load_config(path).data_root == str(tmp_path / "data" / "BSDS500")
        # key=value overrides stay relative to the current directory
        assert load_config(path, ["data_root=x"]).data_root == "x"

    def test_wrong_architecture_checkpoint_is_the_segment_line(self, tiny_bsds, tmp_path, capsys):
        from ssn.checkpoint import save_checkpoint
        from ssn.cli import main

        bad = tmp_path / "run" / "last.pt"
        save_checkpoint(bad, SSN(SSNConfig(feature_net="linear")), iter=1)
        state = load_checkpoint(bad)
        state["model_args"]["n_features"] = 30  # weights of a 20-feature network
        torch.save(state, bad)
        args = [
            f"{k}={v}"
            for k, v in _config(tiny_bsds, tmp_path / "run", n_features=30).__dict__.items()
        ]
        assert main(["train", "--resume", *args]) == 2
        train_err = capsys.readouterr().err
        image = tmp_path / "x.png"
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(image)
        main(
            [
                "segment",
                str(image),
                "-k",
                "4",
                "--model",
                str(bad),
                "--out",
                str(tmp_path / "l.png"),
            ]
        )
        segment_err = capsys.readouterr().err
        assert train_err.count("\n") == segment_err.count("\n") == 1
        assert "checkpoint does not match the SSN architecture" in train_err
        assert train_err.split(": error: ")[1] == segment_err.split(": error: ")[1]


# -- issue #15 (7): one data-order mechanism, the bf16 boundary inside the model ----------


def test_run_order_is_a_pure_function_of_seed_and_iteration():
    """The batch of iteration i depends on (seed, i) only: resuming at i gives the same
    batches, every epoch visits each item once, and ranks split the global batch."""
    from itertools import islice

    from ssn.train.data import RunOrder

    def batches(start, n=4, rank=0, world=1, seed=3):
        order = RunOrder(7, seed=seed, batch_size=4, start=start, rank=rank, world=world)
        return list(islice(iter(order), n))

    straight = batches(0, n=7)
    assert batches(3) == straight[3:7]
    keys = [key for batch in straight for key in batch]  # 28 samples: epochs 0..3
    for epoch in range(4):
        assert sorted(i for e, i in keys if e == epoch) == list(range(7))
    assert [i for e, i in keys if e == 0] != list(range(7))  # shuffled
    assert batches(0, seed=4) != batches(0)
    ranks = [batches(0, rank=r, world=2) for r in (0, 1)]
    assert [a + b for a, b in zip(*ranks, strict=True)] == straight[:4]


def test_autocast_runs_the_feature_net_only(monkeypatch):
    """autocast_dtype=bfloat16: the CNN computes in bf16, SLIC gets float32 features."""
    import ssn.models

    seen = {}
    real_slic = ssn.models.differentiable_slic

    def spy(features, grid, n_iter):
        seen["slic"] = features.dtype
        return real_slic(features, grid, n_iter=n_iter)

    monkeypatch.setattr(ssn.models, "differentiable_slic", spy)
    model = SSN(SSNConfig(feature_net="deep")).train()
    conv = next(m for m in model.feature_net.modules() if isinstance(m, torch.nn.Conv2d))
    conv.register_forward_hook(lambda m, i, o: seen.__setitem__("net", o.dtype))
    image = torch.rand(1, 3, 24, 24)
    out = model(image, 9, autocast_dtype=torch.bfloat16)
    assert (seen["net"], seen["slic"]) == (torch.bfloat16, torch.float32)
    assert out.association.weights.dtype == torch.float32
    model(image, 9)
    assert (seen["net"], seen["slic"]) == (torch.float32, torch.float32)


# -- issue #15 (8): one configuration story ------------------------------------------------

SCHEDULE_KEYS = {"max_iters", "eval_interval", "eval_images", "checkpoint_interval",
                 "log_interval", "num_workers"}  # fmt: skip


# the CPU recipe also sets the learning-rate schedule, the threads, the patches and the
# official training script's position scale
RECIPE_KEYS = SCHEDULE_KEYS | {
    "learning_rate", "lr_warmup_iters", "lr_decay", "lr_min", "threads", "patch_size", "n_segments",
    "train_eta",
}  # fmt: skip


def test_training_profiles_change_only_the_schedule():
    """The shipped training YAMLs hold schedule overrides only -- the paper's settings are
    TrainConfig's defaults, the network and task come from the run -- and no path. The
    CPU profile changes how long a run lasts; the CPU recipe also its learning rate."""
    import yaml

    from ssn.train import TrainConfig

    profiles = sorted((Path(__file__).parents[1] / "config" / "train").glob("*.yaml"))
    assert [p.name for p in profiles] == ["cpu.yaml", "cpu_recipe.yaml"]
    for path in profiles:
        settings = yaml.safe_load(path.read_text())
        allowed = SCHEDULE_KEYS if path.name == "cpu.yaml" else RECIPE_KEYS
        assert set(settings) <= allowed, path
        config = load_config(path)
        differ = {k for k, v in vars(config).items() if v != getattr(TrainConfig(), k)}
        assert differ == set(settings) and config.max_iters < TrainConfig().max_iters


def test_default_folders_follow_the_task_and_network():
    """No machine's path in the defaults: the data where `ssn data fetch` puts it, the run
    in a folder named after what it trains."""
    config = load_config(None, ["task=cityscapes", "feature_net=linear"])
    assert (config.data_root, config.out_dir) == (None, None)
    assert config.dataset_folder == Path("resources/datasets/cityscapes")
    assert config.run_folder == Path("checkpoints/ssn_linear_cityscapes")
    assert load_config(None, ["data_root=/d/cs", "out_dir=r"]).dataset_folder == Path("/d/cs")
    assert load_config(None, ["data_root=null"]).data_root is None
    with pytest.raises(ValueError, match="task must be one of bsds500, voc2012, cityscapes"):
        load_config(None, ["task=voc"])


def test_learning_rate_schedule():
    """The paper's rate is constant; warm-up is linear from 0, cosine ends at lr_min."""
    paper = TrainConfig()
    assert {paper.learning_rate_at(i) for i in (1, 1000, 500_000)} == {1e-4}
    c = load_config(None, ["learning_rate=1e-3", "lr_warmup_iters=10", "lr_decay=cosine",
                           "lr_min=1e-5", "max_iters=110"])  # fmt: skip
    assert c.learning_rate_at(5) == pytest.approx(5e-4)
    assert c.learning_rate_at(10) == pytest.approx(1e-3)
    assert c.learning_rate_at(60) == pytest.approx((1e-3 + 1e-5) / 2)
    assert c.learning_rate_at(110) == pytest.approx(1e-5)
    rates = [c.learning_rate_at(i) for i in range(10, 111)]
    assert all(a >= b for a, b in zip(rates, rates[1:], strict=False))
    with pytest.raises(ValueError, match="lr_decay must be"):
        load_config(None, ["lr_decay=step"])


@pytest.mark.parametrize(
    "overrides,match",
    [
        # issue #25 (6): a cosine "decay" to 5 from 1e-4 climbed to 5.0 and "succeeded"
        (["lr_decay=cosine", "learning_rate=1e-4", "lr_min=5"],
         r"^lr_min must not exceed learning_rate \(0\.0001\), got 5: "),
        (["lr_min=-1e-5"], r"^lr_min must be 0 or a positive number, got -1e-05$"),
        (["lr_warmup_iters=20", "max_iters=10"],
         r"^lr_warmup_iters must be less than max_iters \(10\), got 20: shorten the warm-up"),
        (["lr_warmup_iters=10", "max_iters=10"], r"less than max_iters \(10\), got 10"),
        (["lr_decay=linear"], r"^lr_decay must be one of constant, cosine, got 'linear'$"),
    ],
)  # fmt: skip
def test_learning_rate_schedules_that_climb_or_never_end_are_refused(overrides, match):
    with pytest.raises(ValueError, match=match):
        load_config(None, overrides)


def test_the_edges_of_the_schedule_are_accepted():
    """lr_min equal to the peak is a constant rate; a warm-up one short of max_iters ends
    at the peak on the last iteration."""
    c = load_config(None, ["lr_decay=cosine", "lr_min=1e-4", "lr_warmup_iters=9", "max_iters=10"])
    assert [c.learning_rate_at(i) for i in (9, 10)] == pytest.approx([1e-4, 1e-4])


def test_the_schedule_reaches_the_optimiser(tiny_bsds, tmp_path):
    train(_config(tiny_bsds, tmp_path, max_iters=3, learning_rate=1e-3, lr_warmup_iters=2,
                  lr_decay="cosine", lr_min=1e-4))  # fmt: skip
    state = load_checkpoint(tmp_path / "last.pt")
    assert state["optimizer"]["param_groups"][0]["lr"] == pytest.approx(1e-4)


def test_threads_limit_torch_and_the_validation_kernels(tiny_bsds, tmp_path):
    """``threads`` holds for the whole run: numba's SLIC kernels in validation run on it,
    and after them torch still uses it (they share one OpenMP runtime)."""
    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one numba thread: nothing to limit")
    before = torch.get_num_threads(), numba.get_num_threads()
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    try:
        train(_config(tiny_bsds, tmp_path, max_iters=2, eval_interval=1, threads=1))
        assert (torch.get_num_threads(), numba.get_num_threads()) == (1, 1)
    finally:
        torch.set_num_threads(before[0])
        numba.set_num_threads(before[1])


# -- issue #26 (4): the model settings derived in one place -------------------------------

COMMITTED = sorted(Path(__file__).resolve().parents[1].glob("ssn/weights/*.pt")) + sorted(
    Path(__file__).resolve().parents[1].glob("results/training/*/*.pt")
)


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_committed_checkpoints_load_and_continue(path, tmp_path):
    """The committed weights and runs load under today's SSNConfig, and a run continues
    from each with the settings it recorded (resume.pt with its optimiser state)."""
    from dataclasses import fields

    from ssn.checkpoint import load_model
    from ssn.train.loop import build

    state = load_checkpoint(path)
    assert load_model(path).config == SSNConfig.from_dict(state["model_args"])
    known = {f.name for f in fields(TrainConfig)}
    recorded = {k: v for k, v in state["config"].items() if k in known}
    config = load_config(overrides={**recorded, "init_from": str(path), "device": "cpu",
                                    "out_dir": str(tmp_path), "max_iters": state["iter"] + 1})  # fmt: skip
    assert config.model == SSNConfig.from_dict(state["model_args"])
    run = build(config, torch.device("cpu"))
    assert run.start == state["iter"] and ("optimizer" in state) == bool(run.optimizer.state)
    assert run.model.config == config.model
