"""Training settings: :class:`TrainConfig` (the paper's values as defaults) and
:func:`load_config` (defaults, then a YAML file, then ``key=value`` overrides).

Unknown keys and values of the wrong type are errors; the final configuration is logged
and stored in every checkpoint.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, fields
from pathlib import Path

import yaml

from ssn.data import LOADERS
from ssn.io import read_yaml

__all__ = ["RESUMABLE", "TASKS", "TrainConfig", "changed_settings", "keep_recorded_amp",
           "load_config"]  # fmt: skip

#: the training tasks: the datasets, by the names of :data:`ssn.data.LOADERS`
TASKS = tuple(LOADERS)

#: settings a run may change between its start and its resumption (where it reads its
#: data, where it runs, for how long); any other change makes another run
RESUMABLE = frozenset({"max_iters", "threads", "progress", "num_workers", "data_root",
                       "out_dir", "init_from", "device", "deterministic"})  # fmt: skip

#: the learning-rate decays after the warm-up (see :meth:`TrainConfig.learning_rate_at`)
LR_DECAYS = ("constant", "cosine")

#: where ``ssn data fetch`` puts the datasets; ``data_root`` defaults to ``<this>/<task>``
DEFAULT_DATA_DIR = "resources/datasets"


@dataclass
class TrainConfig:
    """Every training setting, with the paper's values as defaults."""

    # -- task and data
    task: str = "bsds500"  # bsds500 | voc2012 | cityscapes | sintel
    # dataset folder (None: resources/datasets/<task>, where `ssn data fetch` puts it);
    # relative: to the YAML file that sets it (to the cwd in key=value)
    data_root: str | None = None
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
    learning_rate: float = 1e-4  # peak rate (the paper: constant)
    lr_warmup_iters: int = 0  # linear warm-up from 0 to learning_rate over these iterations
    lr_decay: str = "constant"  # constant | cosine (to lr_min at max_iters)
    lr_min: float = 0.0  # at most learning_rate
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
    out_dir: str | None = None  # None: checkpoints/ssn_<feature_net>_<task>
    # scratch | resume (out_dir/last.pt, exact) | path of a checkpoint to continue from
    # (weights, and the optimiser, iteration and best score when it holds them)
    init_from: str = "scratch"
    # -- runtime
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    # bfloat16 autocast of the CNN: auto (where the CPU or GPU computes bf16 natively),
    # true (on such a GPU only: amp's meaning before auto), false (never)
    amp: str | bool = "auto"
    deterministic: bool = False  # deterministic CUDA kernels: bit-exact reruns, slower
    threads: int = 0  # CPU threads for torch (0 = torch's default)
    seed: int = 0
    progress: bool = True

    def autocast_dtype(self, device):
        """The dtype the CNN trains in on ``device`` under ``amp``, or None (float32).

        ``auto``: :func:`ssn.devices.autocast_dtype`, bfloat16 on a GPU (compute
        capability 8.0 and later) or a CPU (AVX512-BF16, AMX) that computes it natively.
        ``True``: the same on a GPU only, float32 on every CPU: ``amp``'s meaning before
        ``auto``, which the runs recorded with ``amp: true`` keep (see
        :func:`keep_recorded_amp`). ``False``: float32 everywhere.
        """
        import torch

        from ssn import devices

        device = torch.device(device)
        if self.amp is False or (self.amp is True and device.type != "cuda"):
            return None
        return devices.autocast_dtype(device)

    def learning_rate_at(self, iteration: int) -> float:
        """The learning rate of iteration ``iteration`` (1-based): warm-up, then the decay."""
        if iteration <= self.lr_warmup_iters:
            return self.learning_rate * iteration / self.lr_warmup_iters
        if self.lr_decay == "constant":
            return self.learning_rate
        span = max(1, self.max_iters - self.lr_warmup_iters)
        progress = min(1.0, (iteration - self.lr_warmup_iters) / span)
        return self.lr_min + 0.5 * (self.learning_rate - self.lr_min) * (
            1 + math.cos(math.pi * progress)
        )

    @property
    def dataset_folder(self) -> Path:
        """The folder of the training dataset (``data_root``, or its default)."""
        return Path(self.data_root or f"{DEFAULT_DATA_DIR}/{self.task}")

    @property
    def run_folder(self) -> Path:
        """The folder of the run's checkpoints and log (``out_dir``, or its default)."""
        return Path(self.out_dir or f"checkpoints/ssn_{self.feature_net}_{self.task}")

    @property
    def model(self):
        """The :class:`~ssn.models.SSNConfig` of the network this run trains: the model
        settings above; a flow task's input is the frame pair (``frame_pair="lab"``)."""
        from ssn.models import SSNConfig

        return SSNConfig(
            feature_net=self.feature_net, n_features=self.n_features,
            frame_pair="lab" if self.task == "sintel" else None, **self.model_settings,
        )  # fmt: skip

    @property
    def model_settings(self) -> dict:
        """The model settings that are not its architecture: a checkpoint to continue
        from takes the run's."""
        return {k: getattr(self, k) for k in ("eta", "train_eta", "n_iter_train", "n_iter_test")}

    def validate(self) -> None:
        if not (self.amp is True or self.amp is False or self.amp == "auto"):
            raise ValueError(f"amp must be auto, true or false, got {self.amp!r}")
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}, got {self.task!r}")
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
        for name in ("threads", "num_workers", "seed", "lr_warmup_iters"):
            if getattr(self, name) < 0:
                raise ValueError(
                    f"{name} must be 0 or more, got {getattr(self, name)}"
                    + (" (0: torch's default)" if name == "threads" else "")
                )
        for name in ("learning_rate", "eta", "train_eta"):
            if not (getattr(self, name) > 0 and math.isfinite(getattr(self, name))):
                raise ValueError(f"{name} must be a positive number, got {getattr(self, name)}")
        for name in ("compactness_weight", "grad_clip", "lr_min"):
            if not (getattr(self, name) >= 0 and math.isfinite(getattr(self, name))):
                raise ValueError(
                    f"{name} must be 0 or a positive number, got {getattr(self, name)}"
                )
        self._validate_schedule()
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must lie in [0, 1), got {getattr(self, name)}")
        self.model  # noqa: B018 - refuses the settings no network has
        if self.compactness_reduction not in ("official", "mean"):
            raise ValueError(
                f"compactness_reduction must be 'official' or 'mean', "
                f"got {self.compactness_reduction!r}"
            )
        if self.scale not in (None, "official"):
            raise ValueError(f"scale must be 'official' or null (off), got {self.scale!r}")

    def _validate_schedule(self) -> None:
        """Refuse learning-rate schedules that do not do what their keys say: a cosine
        "decay" that climbs (lr_min above the peak), a warm-up that never ends."""
        if self.lr_decay not in LR_DECAYS:
            raise ValueError(
                f"lr_decay must be one of {', '.join(LR_DECAYS)}, got {self.lr_decay!r}"
            )
        if self.lr_min > self.learning_rate:
            raise ValueError(
                f"lr_min must not exceed learning_rate ({self.learning_rate:g}), got "
                f"{self.lr_min:g}: lower lr_min (where the cosine decay ends) or raise the peak rate"
            )
        if self.lr_warmup_iters >= self.max_iters:
            raise ValueError(
                f"lr_warmup_iters must be less than max_iters ({self.max_iters}), got "
                f"{self.lr_warmup_iters}: shorten the warm-up or raise max_iters"
            )


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
    known = {f.name: f for f in fields(TrainConfig)}
    values: dict = {}
    if path is not None:
        path = Path(path)
        loaded = read_yaml(path, "training config")
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
        if key not in known:
            raise ValueError(f"unknown config key {key!r}; valid keys: {', '.join(sorted(known))}")
        if key == "amp":  # auto or a bool: neither type's coercion alone
            config.amp = yaml.safe_load(value.strip()) if isinstance(value, str) else value
            continue
        nullable = "None" in str(known[key].type)
        default = getattr(TrainConfig(), key)
        example = "" if default is None else default  # the None defaults are `str | None`
        setattr(config, key, _coerce(key, value, example, nullable))
    config.validate()
    return config


def changed_settings(before: dict, config: TrainConfig) -> dict[str, tuple]:
    """The settings of ``config`` that differ from ``before`` (a checkpoint's ``config``)
    and may not change on resume (not in :data:`RESUMABLE`): name -> (before, now).

    Only the settings ``before`` records are compared: a setting added to
    :class:`TrainConfig` after a run started does not stop it from resuming, and a
    checkpoint without a config (a weights export) has nothing to compare. Likewise an
    ``amp`` left at ``auto`` against a run recorded with ``amp: true`` or ``false``
    (before ``auto`` existed): the run resumes with its own (:func:`keep_recorded_amp`).
    """
    now = dataclasses.asdict(config)
    if _legacy_amp(before, config):
        now.pop("amp")
    return {
        key: (before[key], value)
        for key, value in sorted(now.items())
        if key not in RESUMABLE and key in before and before[key] != value
    }


def _legacy_amp(before: dict, config: TrainConfig) -> bool:
    """A run recorded with a boolean ``amp`` resumed under ``amp: auto``."""
    return isinstance(before.get("amp"), bool) and config.amp == "auto"


def keep_recorded_amp(before: dict, config: TrainConfig) -> None:
    """A run resumed under ``amp: auto`` that recorded ``amp: true`` or ``false`` keeps
    its own (``config.amp`` set to it): ``auto`` would turn bf16 on, mid-run, on a CPU
    that computes it natively, where ``true`` trained in float32."""
    if _legacy_amp(before, config):
        config.amp = before["amp"]
