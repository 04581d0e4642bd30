"""Training: the loss decreases, resume is exact, checkpoints and configs are safe."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.io import savemat

from ssn.checkpoint import load_checkpoint
from ssn.models import SSN, SSNConfig
from ssn.train import TrainConfig, compute_loss, load_config, train


def _write_bsds(root, split, n_images, rng):
    (root / "images" / split).mkdir(parents=True)
    (root / "groundTruth" / split).mkdir(parents=True)
    for i in range(n_images):
        # A few flat regions with noise; two annotations (coarse and fine).
        coarse = np.zeros((41, 49), np.uint16) + 1
        coarse[:, 20:] = 2
        coarse[25:, :] += 2
        fine = coarse.copy()
        fine[:10, :10] = 5
        palette = rng.integers(0, 255, (6, 3))
        image = np.clip(palette[fine] + rng.normal(0, 8, fine.shape + (3,)), 0, 255)
        Image.fromarray(image.astype(np.uint8)).save(root / "images" / split / f"{i}.jpg")
        cells = np.empty((1, 2), dtype=object)
        for k, seg in enumerate((coarse, fine)):
            cells[0, k] = {"Segmentation": seg, "Boundaries": np.zeros_like(seg, np.uint8)}
        savemat(root / "groundTruth" / split / f"{i}.mat", {"groundTruth": cells})


@pytest.fixture
def tiny_bsds(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "BSDS500" / "data"
    for split, n in (("train", 4), ("val", 2), ("test", 1)):
        _write_bsds(root, split, n, rng)
    return root


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
    from ssn.train import _build_patches

    torch.manual_seed(0)
    config = _config(tiny_bsds, tmp_path, feature_net=feature_net, scale=None)
    patches = _build_patches(config)
    batch = torch.utils.data.default_collate([patches[0], patches[1]])
    model = SSN(SSNConfig(feature_net=feature_net)).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    first = None
    for _ in range(10):
        losses = compute_loss(model, batch, config, torch.autocast("cpu", enabled=False))
        assert torch.isfinite(losses["loss"])
        optimizer.zero_grad()
        losses["loss"].backward()
        for name, p in model.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), name
        optimizer.step()
        first = first if first is not None else losses["loss"].item()
    final = compute_loss(model, batch, config, torch.autocast("cpu", enabled=False))["loss"]
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


def test_resume_drops_log_rows_after_the_checkpoint(tiny_bsds, tmp_path):
    """A crash between a log row and the next checkpoint must not list iterations twice."""
    train(_config(tiny_bsds, tmp_path, max_iters=2))
    with open(tmp_path / "log.csv", "a") as fh:  # iteration 3 logged, then the crash
        fh.write("3,9.9,9.9,9.9,,,1.0,1.0,\n4,9.9,9")  # ... in the middle of row 4
    train(_config(tiny_bsds, tmp_path, init_from="resume"))
    rows = (tmp_path / "log.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3", "4"]
    assert "9.9" not in rows[3]  # the rerun iteration 3, not the lost one


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


def test_resume_without_checkpoint_is_an_error(tiny_bsds, tmp_path):
    with pytest.raises(FileNotFoundError, match="cannot resume"):
        train(_config(tiny_bsds, tmp_path / "none", init_from="resume"))


def test_trained_checkpoint_segments(tiny_bsds, tmp_path):
    import ssn

    train(_config(tiny_bsds, tmp_path, max_iters=2))
    image = np.asarray(Image.open(tiny_bsds / "images" / "test" / "0.jpg"))
    labels = ssn.segment(image, 9, model=tmp_path / "best.pt", device="cpu")
    assert labels.shape == image.shape[:2] and labels.max() + 1 <= 9


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
    loss of the whole batch.)"""
    import subprocess
    import sys

    single = tmp_path / "single"
    train(_config(tiny_bsds, single, eval_interval=100, scale=None))
    ddp = tmp_path / "ddp"
    settings = _config(tiny_bsds, ddp, eval_interval=100, scale=None).__dict__
    args = [f"{k}={v}" for k, v in settings.items() if k != "extra"]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
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
        ("voc", "VOCdevkit", {"train_split": "trainval", "val_split": "trainval"}),
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
