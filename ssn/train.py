"""Training SSN_linear / SSN_deep with the task-specific losses (``ssn train``).

Defaults are the paper's (Adam, lr 1e-4, batch 8, 201×201 patches, 100 superpixels,
v = 5 in training, k = 20, compactness weight 1e-5, 500K iterations on BSDS500). A YAML
file overrides them, then ``key=value`` arguments override the file; unknown keys and
values of the wrong type are errors. The final configuration is logged and stored in
every checkpoint.

Resume is exact: the batch of iteration ``i`` is a pure function of ``(seed, i)``
(samples are seeded by ``(seed, epoch, index)``, see :mod:`ssn.data.torch_datasets`),
and checkpoints hold the model, the optimiser, the iteration, the best validation score
and the RNG states. Checkpoints are written to a temporary file and renamed, so a run
killed at any moment loses at most the work since the last checkpoint.

Multi-GPU: launch with ``torchrun --nproc-per-node N -m ssn.cli train ...``; each rank
takes its share of the global batch under ``DistributedDataParallel``; rank 0 logs,
validates and saves.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import yaml

from ssn.checkpoint import (
    atomic_write_text,
    load_checkpoint,
    model_from_checkpoint,
    remove_stale_temporaries,
    save_checkpoint,
)
from ssn.functional import position_features
from ssn.losses import compactness_loss, label_reconstruction_loss, reconstruction_loss
from ssn.models import SSN, SSNConfig

__all__ = ["TrainConfig", "load_config", "train"]


@dataclass
class TrainConfig:
    """Every training setting, with the paper's values as defaults."""

    # -- task and data
    task: str = "bsds500"  # bsds500 | voc | cityscapes | sintel
    # dataset folder; relative: to the YAML file that sets it (to the cwd in key=value)
    data_root: str = "../shared/datasets/BSDS500"
    train_split: str = "train"
    val_split: str = "val"
    patch_size: int = 201
    flip: bool = True
    scale: str | None = "official"  # random scaling of BSDS500 patches; None = off
    max_segments: int = 50  # one-hot channels, as in the official code
    num_workers: int = 2
    # -- model
    feature_net: str = "deep"  # linear | deep (pix has nothing to train)
    n_features: int = 20
    train_eta: float = 2.5  # position scale factor in training (official script: 5)
    eta: float = 2.5  # at test time
    n_iter_train: int = 5
    n_iter_test: int = 10
    # -- optimisation
    n_segments: int = 100
    batch_size: int = 8
    learning_rate: float = 1e-4
    beta1: float = 0.9
    beta2: float = 0.999
    max_iters: int = 500_000
    compactness_weight: float = 1e-5
    compactness_reduction: str = "official"  # see ssn.losses.compactness_loss
    grad_clip: float = 0.0  # 0 = off (the paper does not clip)
    # -- evaluation, checkpoints, logging
    eval_interval: int = 10_000
    eval_images: int = 20  # fixed subset of the validation split (first N images)
    eval_n_segments: int = 100
    checkpoint_interval: int = 1_000
    log_interval: int = 50
    out_dir: str = "checkpoints/ssn_deep_bsds500"
    # scratch | resume (out_dir/last.pt, exact) | path of a checkpoint to continue from
    # (weights, and the optimiser, iteration and best score when it holds them)
    init_from: str = "scratch"
    # -- runtime
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    amp: bool = True  # bfloat16 autocast for the CNN on CUDA (SLIC stays float32)
    threads: int = 0  # CPU threads for torch (0 = torch's default)
    seed: int = 0
    progress: bool = True
    extra: dict = field(default_factory=dict)  # free-form notes stored with the config

    def validate(self) -> None:
        if self.task not in ("bsds500", "voc", "cityscapes", "sintel"):
            raise ValueError(f"task must be bsds500, voc, cityscapes or sintel, got {self.task!r}")
        if self.feature_net not in ("linear", "deep"):
            raise ValueError(
                f"feature_net must be 'linear' or 'deep' (SSN_pix has no parameters), "
                f"got {self.feature_net!r}"
            )
        if self.init_from not in ("scratch", "resume") and not Path(self.init_from).is_file():
            raise ValueError(
                f"init_from must be 'scratch', 'resume' or an existing checkpoint file, "
                f"got {self.init_from!r}"
            )
        for name in ("batch_size", "max_iters", "patch_size", "n_segments", "eval_interval",
                     "checkpoint_interval", "log_interval", "n_iter_train", "n_iter_test",
                     "eval_images", "eval_n_segments", "max_segments"):  # fmt: skip
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("threads", "num_workers", "seed"):
            if getattr(self, name) < 0:
                raise ValueError(
                    f"{name} must be 0 or more, got {getattr(self, name)}"
                    + (" (0: torch's default)" if name == "threads" else "")
                )
        for name in ("learning_rate", "eta", "train_eta"):
            if not (getattr(self, name) > 0 and math.isfinite(getattr(self, name))):
                raise ValueError(f"{name} must be a positive number, got {getattr(self, name)}")
        for name in ("compactness_weight", "grad_clip"):
            if not (getattr(self, name) >= 0 and math.isfinite(getattr(self, name))):
                raise ValueError(
                    f"{name} must be 0 or a positive number, got {getattr(self, name)}"
                )
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must lie in [0, 1), got {getattr(self, name)}")
        if self.n_features <= (8 if self.task == "sintel" else 5):
            raise ValueError(
                f"n_features must exceed the {8 if self.task == 'sintel' else 5} input "
                f"channels, got {self.n_features}"
            )
        if self.compactness_reduction not in ("official", "mean"):
            raise ValueError(
                f"compactness_reduction must be 'official' or 'mean', "
                f"got {self.compactness_reduction!r}"
            )
        if self.scale not in (None, "official"):
            raise ValueError(f"scale must be 'official' or null (off), got {self.scale!r}")


def _coerce(name: str, value, default, nullable: bool = False):
    """``value`` converted to the type of the default, or a clear error."""
    if nullable and isinstance(value, str) and value.strip().lower() in ("null", "none", "~"):
        return None
    if isinstance(value, str) and not isinstance(default, str):
        text = value.strip()
        if isinstance(default, float):  # YAML 1.1 reads "1e-4" (no dot) as a string
            try:
                return float(text)
            except ValueError as err:
                raise ValueError(f"config key {name!r} must be a number, got {value!r}") from err
        value = yaml.safe_load(text)  # "8" -> int, "true" -> bool, "null" -> None
    if default is None or value is None:
        return value
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"config key {name!r} must be true/false, got {value!r}")
        return value
    if isinstance(default, int) and not isinstance(default, bool):
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ValueError(f"config key {name!r} must be an integer, got {value!r}")
        return value
    if isinstance(default, float):
        if isinstance(value, str):  # from a YAML file: "1e-4" is a string in YAML 1.1
            return _coerce(name, value, default, nullable)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"config key {name!r} must be a number, got {value!r}")
        return float(value)
    if isinstance(default, str):
        return str(value)
    if isinstance(default, dict) and not isinstance(value, dict):
        raise ValueError(f"config key {name!r} must be a mapping, got {value!r}")
    return value


def load_config(path=None, overrides: list[str] | dict | None = None) -> TrainConfig:
    """Defaults, then the YAML file at ``path``, then ``key=value`` overrides.

    Raises
    ------
    ValueError
        For unknown keys, values of the wrong type, or invalid settings.
    FileNotFoundError
        If ``path`` does not exist.
    """
    config = TrainConfig()
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    values: dict = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no such training config: {path}")
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(err, "problem", None) or " ".join(str(err).split())
            raise ValueError(f"{path}: not valid YAML{where}: {problem}") from None
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: a training config must be a YAML mapping")
        if isinstance(loaded.get("data_root"), str):  # relative to the file, as in datasets.yaml
            root = os.path.expandvars(os.path.expanduser(loaded["data_root"]))
            loaded["data_root"] = os.path.normpath(path.resolve().parent / root)
        values.update(loaded)
    if isinstance(overrides, dict):
        values.update(overrides)
    else:
        for item in overrides or []:
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"override {item!r} must look like key=value")
            values[key.strip().removeprefix("--")] = value
    for key, value in values.items():
        if key not in fields:
            raise ValueError(f"unknown config key {key!r}; valid keys: {', '.join(sorted(fields))}")
        nullable = "None" in str(fields[key].type)
        setattr(config, key, _coerce(key, value, getattr(TrainConfig(), key), nullable))
    config.validate()
    return config


# -- data -------------------------------------------------------------------------------


class _GlobalSamples(torch.utils.data.Dataset):
    """Sample number ``g`` of the run → item ``perm_e[g mod n]`` of epoch ``e = g // n``.

    Makes the data order a pure function of ``(seed, g)``, which is what exact resume
    and any number of DataLoader workers need.
    """

    def __init__(self, patches, seed: int):
        self.patches = patches
        self.seed = seed
        self._perms: dict[int, np.ndarray] = {}

    def _index(self, g: int) -> tuple[int, int]:
        n = len(self.patches)
        epoch = g // n
        if epoch not in self._perms:
            self._perms = {epoch: np.random.default_rng([self.seed, epoch]).permutation(n)}
        return epoch, int(self._perms[epoch][g % n])

    def __len__(self) -> int:  # effectively unbounded
        return 2**62

    def __getitem__(self, g: int) -> dict:
        epoch, index = self._index(g)
        self.patches.set_epoch(epoch)
        return self.patches[index]


class _BatchesFrom(torch.utils.data.Sampler):
    """Batches of sample numbers for iterations ``start, start + 1, ...``."""

    def __init__(self, start: int, batch_size: int, rank: int = 0, world: int = 1):
        self.start, self.batch_size, self.rank, self.world = start, batch_size, rank, world

    def __iter__(self):
        per_rank = self.batch_size // self.world
        it = self.start
        while True:
            base = it * self.batch_size + self.rank * per_rank
            yield list(range(base, base + per_rank))
            it += 1


def _build_patches(config: TrainConfig):
    from ssn.data import BSDS500, VOC2012, Cityscapes, Sintel
    from ssn.data.torch_datasets import FlowPatches, SegmentationPatches

    root = Path(config.data_root)
    if config.task == "sintel":
        return FlowPatches(
            Sintel(root, split=config.train_split), patch_size=config.patch_size,
            flip=config.flip, seed=config.seed,
        )  # fmt: skip
    sources = {"bsds500": BSDS500, "voc": VOC2012, "cityscapes": Cityscapes}
    return SegmentationPatches(
        sources[config.task](root, split=config.train_split),
        patch_size=config.patch_size, flip=config.flip, scale=config.scale,
        max_segments=config.max_segments, seed=config.seed,
    )  # fmt: skip


def _loader(config: TrainConfig, start: int, rank: int, world: int, patches=None):
    dataset = _GlobalSamples(patches or _build_patches(config), config.seed)
    return iter(
        torch.utils.data.DataLoader(
            dataset,
            batch_sampler=_BatchesFrom(start, config.batch_size, rank, world),
            num_workers=config.num_workers,
            persistent_workers=config.num_workers > 0,
            prefetch_factor=4 if config.num_workers > 0 else None,
        )
    )


# -- one step ---------------------------------------------------------------------------


def compute_loss(model: SSN, batch: dict, config: TrainConfig, autocast) -> dict:
    """The training loss of one batch: reconstruction + λ · compactness."""
    module = getattr(model, "module", model)
    if config.task == "sintel":
        images, next_frame = batch["image1"], batch["image2"]
    else:
        images, next_frame = batch["image"], None
    with autocast:
        out = model(images, config.n_segments, next_frame=next_frame)
    if config.task == "sintel":
        recon = reconstruction_loss(
            batch["flow"], out.association, out.grid, kind="l1", valid=batch["valid"]
        )
    else:
        # Cross-entropy against the one-hot segments, computed from the indices.
        recon = label_reconstruction_loss(
            batch["labels"], out.association, out.grid, config.max_segments, valid=batch["valid"]
        )
    positions = position_features(out.association, out.grid, eta=module.config.train_eta)
    compact = compactness_loss(
        positions, out.association, out.labels, out.grid, reduction=config.compactness_reduction
    )
    total = recon + config.compactness_weight * compact
    return {"loss": total, "reconstruction": recon.detach(), "compactness": compact.detach()}


# -- validation -------------------------------------------------------------------------


def _validation_source(config: TrainConfig):
    from ssn.data import BSDS500, VOC2012, Cityscapes, Sintel

    root = Path(config.data_root)
    if config.task == "sintel":
        # Sintel samples may lack some scenes: "missing='skip'"-style loaders are not
        # needed, the validation split is whatever the config names.
        return Sintel(root, split=config.val_split)
    sources = {"bsds500": BSDS500, "voc": VOC2012, "cityscapes": Cityscapes}
    return sources[config.task](root, split=config.val_split)


@torch.no_grad()
def validate(model: SSN, config: TrainConfig, device) -> dict:
    """Validation scores on the first ``eval_images`` items of the validation split.

    Segmentation tasks: mean ASA (void label 255 ignored for VOC / Cityscapes) and BR
    (Stutz protocol) over every annotation; ``val_asa`` selects the best model. Sintel:
    the end-point error of the superpixel-mean flow (``val_epe``); its negative selects
    the best model.
    """
    from ssn.metrics import (
        achievable_segmentation_accuracy,
        boundary_recall,
        flow_endpoint_error,
    )
    from ssn.segment import segment

    module = getattr(model, "module", model)
    was_training = module.training
    module.eval()
    data = _validation_source(config)
    n_items = min(config.eval_images, len(data))
    if n_items == 0:
        raise ValueError(f"the validation split {config.val_split!r} of {config.task} is empty")
    scores: dict[str, list[float]] = {}
    for i in range(n_items):
        sample = data.load(i)
        if config.task == "sintel":
            labels = segment(
                sample["image1"], config.eval_n_segments, model=module, device=device,
                next_frame=sample["image2"],
            )  # fmt: skip
            valid = ~sample["invalid"] if "invalid" in sample else None
            epe = flow_endpoint_error(labels, sample["flow"], valid=valid)
            scores.setdefault("val_epe", []).append(epe)
            continue
        labels = segment(sample["image"], config.eval_n_segments, model=module, device=device)
        if config.task == "bsds500":
            truths, ignore = sample["segmentations"], ()
        else:
            truths = [sample["train_ids"] if config.task == "cityscapes" else sample["labels"]]
            ignore = (255,)
        for gt in truths:
            scores.setdefault("val_asa", []).append(
                achievable_segmentation_accuracy(labels, gt, ignore_labels=ignore)
            )
            scores.setdefault("val_br", []).append(boundary_recall(labels, gt))
    module.train(was_training)
    result = {k: float(np.mean(v)) for k, v in scores.items()}
    result["score"] = -result["val_epe"] if "val_epe" in result else result["val_asa"]
    return result


# -- the loop ---------------------------------------------------------------------------


def _truncate_log(log_path: Path, last_iter: int) -> None:
    """Keep only the complete log rows up to the checkpoint a run resumes from.

    Rows after it belong to iterations that are about to run again, and a row cut off
    by the interruption is incomplete; keeping either would corrupt the log.
    """
    with open(log_path, newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        return
    header = rows[0]

    def complete(row: list[str]) -> bool:
        return len(row) == len(header) and row[0].isdigit() and int(row[0]) <= last_iter

    text = io.StringIO(newline="")
    csv.writer(text).writerows([header, *filter(complete, rows[1:])])
    atomic_write_text(log_path, text.getvalue())  # a kill mid-write keeps the old log


def _rng_state() -> dict:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _device(config: TrainConfig, local_rank: int) -> torch.device:
    from ssn.segment import resolve_device

    if config.device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank)
        return torch.device("cpu")
    try:
        return resolve_device(config.device)
    except ValueError as err:
        raise ValueError(f"config key 'device': {err}") from None


#: the files of a run in ``out_dir`` (``config.json`` alone is no run)
RUN_FILES = ("last.pt", "best.pt", "log.csv")


def _check_architecture(state: dict, source: Path, model_config: SSNConfig) -> None:
    """Refuse a checkpoint whose network is not the one the config asks for."""
    args = state["model_args"]
    fields = ("feature_net", "n_features", "in_channels")
    differ = [k for k in fields if args.get(k) != getattr(model_config, k)]
    if differ:
        holds = ", ".join(f"{k}={args.get(k)!r}" for k in differ)
        asked = ", ".join(f"{k}={getattr(model_config, k)!r}" for k in differ)
        fix = " ".join(f"{k}={args.get(k)}" for k in differ if k != "in_channels")
        raise ValueError(
            f"{source} holds a network with {holds} but the config asks for {asked}; "
            + (f"set {fix}, or " if fix else "use task=sintel for frame pairs, or ")
            + "start from another checkpoint"
        )


def train(config: TrainConfig, *, overwrite: bool = False) -> dict:
    """Run (or resume) training; returns the final state summary.

    Writes ``out_dir/last.pt`` (every ``checkpoint_interval`` iterations and at the end),
    ``out_dir/best.pt`` (best validation ASA, or lowest EPE for flow), ``out_dir/log.csv`` and
    ``out_dir/config.json``. Every setting, the data, the device and the checkpoint to
    start from are checked before any file is written.

    Parameters
    ----------
    config : TrainConfig
        From :func:`load_config`.
    overwrite : bool
        Replace a run already in ``out_dir`` (its checkpoints and log are deleted).
        Without it, and unless ``init_from="resume"``, an ``out_dir`` holding
        ``last.pt``, ``best.pt`` or ``log.csv`` is refused.

    Returns
    -------
    summary : dict
        ``iter``, ``best_score``, ``out_dir``, ``rank`` and ``trained`` (iterations run
        by this call: 0 when a resumed run had already reached ``max_iters``).

    Raises
    ------
    FileExistsError
        If ``out_dir`` holds a run and neither resume nor ``overwrite`` is asked for.
    ValueError
        For an invalid setting or device, a checkpoint whose architecture differs from
        the config, or an ``init_from`` checkpoint already at ``max_iters``.
    """
    config.validate()
    distributed = "RANK" in os.environ and "WORLD_SIZE" in os.environ
    rank = int(os.environ.get("RANK", 0))
    world = int(os.environ.get("WORLD_SIZE", 1))
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    device = _device(config, local_rank)
    out_dir = Path(config.out_dir)
    existing = [name for name in RUN_FILES if (out_dir / name).exists()]
    if existing and config.init_from != "resume" and not overwrite:
        raise FileExistsError(
            f"{out_dir} already holds a training run ({', '.join(existing)}); continue it "
            "with --resume (init_from=resume), write to another --out, or replace it "
            "with --overwrite"
        )
    if distributed:
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
        if config.batch_size % world:
            raise ValueError(f"batch_size {config.batch_size} must divide by {world} ranks")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if config.threads:
        torch.set_num_threads(config.threads)
    master = rank == 0
    last_path, best_path = out_dir / "last.pt", out_dir / "best.pt"
    # the data, before any file is written or any iteration runs
    patches = _build_patches(config)
    if master and len(_validation_source(config)) == 0:
        raise ValueError(f"the validation split {config.val_split!r} of {config.task} is empty")

    torch.manual_seed(config.seed)
    model_config = SSNConfig(
        feature_net=config.feature_net, n_features=config.n_features,
        in_channels=8 if config.task == "sintel" else 5,
        eta=config.eta, train_eta=config.train_eta,
        n_iter_train=config.n_iter_train, n_iter_test=config.n_iter_test,
    )  # fmt: skip
    model = SSN(model_config)
    optimizer = torch.optim.Adam(
        model.parameters(), lr=config.learning_rate, betas=(config.beta1, config.beta2)
    )
    start, best = 0, -math.inf
    if config.init_from != "scratch":
        source = last_path if config.init_from == "resume" else Path(config.init_from)
        if not source.is_file():
            raise FileNotFoundError(f"cannot resume: no checkpoint at {source}")
        state = load_checkpoint(source)
        # The architecture must be the config's; the other model settings (eta, SLIC
        # iterations) are the config's too, so config.json records what runs.
        _check_architecture(state, source, model_config)
        model = model_from_checkpoint(
            state, source, eta=config.eta, train_eta=config.train_eta,
            n_iter_train=config.n_iter_train, n_iter_test=config.n_iter_test,
        )  # fmt: skip
        optimizer = torch.optim.Adam(
            model.parameters(), lr=config.learning_rate, betas=(config.beta1, config.beta2)
        )
        # A weights-only checkpoint (e.g. the bundled one) continues with fresh Adam
        # moments: a warm start rather than an exact resume.
        if "optimizer" in state:
            try:
                optimizer.load_state_dict(state["optimizer"])
            except (ValueError, KeyError, RuntimeError) as err:
                detail = " ".join(str(err).split())
                raise ValueError(f"{source}: optimizer state does not fit: {detail}") from err
        start = int(state.get("iter", 0))
        best = float(state.get("best_metric", -math.inf))
        if start >= config.max_iters:
            if config.init_from != "resume":
                raise ValueError(
                    f"init_from={source} is already at iteration {start} and max_iters is "
                    f"{config.max_iters}: nothing to train and nothing was written; set "
                    f"max_iters above {start} (iterations continue from the checkpoint's)"
                )
            if distributed:
                torch.distributed.destroy_process_group()
            return {"iter": start, "best_score": best, "out_dir": str(out_dir), "rank": rank,
                    "trained": 0}  # fmt: skip
        if "rng" in state:
            _set_rng_state(state["rng"])
    model.to(device).train()
    for group in optimizer.param_groups:  # optimizer state follows the model's device
        for p in group["params"]:
            for k, v in optimizer.state.get(p, {}).items():
                if torch.is_tensor(v) and k != "step":
                    optimizer.state[p][k] = v.to(device)
    net = model
    if distributed:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    autocast = (
        torch.autocast("cuda", dtype=torch.bfloat16)
        if device.type == "cuda" and config.amp
        else contextlib.nullcontext()
    )
    # The CNN runs under autocast; differentiable SLIC must see float32 features.
    if device.type == "cuda" and config.amp:
        model.features.register_forward_hook(lambda m, i, o: o.float())

    if master:
        out_dir.mkdir(parents=True, exist_ok=True)
        if overwrite and config.init_from != "resume":
            for name in RUN_FILES:  # the replaced run's own files, nothing else
                (out_dir / name).unlink(missing_ok=True)
        for name in ("last.pt", "best.pt", "config.json", "log.csv"):
            remove_stale_temporaries(out_dir / name)  # of killed runs
        atomic_write_text(out_dir / "config.json", json.dumps(dataclasses.asdict(config), indent=2))
        print(f"training config: {json.dumps(dataclasses.asdict(config))}", flush=True)
    log_path = out_dir / "log.csv"
    log_fields = ["iter", "loss", "reconstruction", "compactness", "val_asa", "val_br",
                  "seconds", "samples_per_s", "val_epe"]  # fmt: skip
    if master and start and log_path.exists():
        _truncate_log(log_path, start)

    def log_row(row: dict) -> None:
        new = not log_path.exists()
        with open(log_path, "a", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=log_fields)
            if new:
                writer.writeheader()
            writer.writerow({k: row.get(k, "") for k in log_fields})

    def save(path: Path, it: int) -> None:
        save_checkpoint(
            path, model, optimizer=optimizer.state_dict(), iter=it, best_metric=best,
            config=dataclasses.asdict(config), rng=_rng_state(),
        )  # fmt: skip

    batches = _loader(config, start, rank, world, patches)
    progress = None
    if master and config.progress:
        from tqdm import tqdm

        progress = tqdm(total=config.max_iters, initial=start, desc="train", unit="it")
    running, t_start, t_log = None, time.time(), time.time()
    it = start
    while it < config.max_iters:
        batch = {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v
                 for k, v in next(batches).items()}  # fmt: skip
        losses = compute_loss(net, batch, config, autocast)
        optimizer.zero_grad(set_to_none=True)
        losses["loss"].backward()
        if config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        it += 1
        values = {k: float(v.detach()) for k, v in losses.items()}
        if not all(math.isfinite(v) for v in values.values()):
            raise FloatingPointError(f"non-finite loss at iteration {it}: {values}")
        running = values if running is None else {
            k: 0.9 * running[k] + 0.1 * values[k] for k in values
        }  # fmt: skip
        if progress is not None:
            progress.update(1)
            progress.set_postfix(loss=f"{running['loss']:.4f}")
        if not master:
            continue
        row = None
        if it % config.log_interval == 0:
            now = time.time()
            row = {"iter": it, **{k: f"{v:.6g}" for k, v in running.items()},
                   "seconds": f"{now - t_start:.1f}",
                   "samples_per_s": f"{config.log_interval * config.batch_size / (now - t_log):.2f}"}  # fmt: skip
            t_log = now
        if it % config.eval_interval == 0 or it == config.max_iters:
            scores = validate(model, config, device)
            row = row or {"iter": it, **{k: f"{v:.6g}" for k, v in running.items()},
                          "seconds": f"{time.time() - t_start:.1f}"}  # fmt: skip
            row.update({k: f"{v:.5f}" for k, v in scores.items() if k != "score"})
            if progress is not None:
                shown = ", ".join(f"{k} {v:.4f}" for k, v in scores.items() if k != "score")
                progress.write(f"iter {it}: {shown}")
            if scores["score"] > best:  # ASA, or -EPE for flow
                best = scores["score"]
                save(best_path, it)
        if row is not None:
            log_row(row)
        if it % config.checkpoint_interval == 0 or it == config.max_iters:
            save(last_path, it)
    if progress is not None:
        progress.close()
    if distributed:
        torch.distributed.destroy_process_group()
    return {"iter": it, "best_score": best, "out_dir": str(out_dir), "rank": rank,
            "trained": it - start}  # fmt: skip
