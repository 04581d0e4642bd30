"""The training loop: build the model and optimiser, then step, log, validate, save."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from time import monotonic

import numpy as np
import torch

from ssn.checkpoint import load_checkpoint, model_from_checkpoint
from ssn.devices import device_name
from ssn.functional import position_features
from ssn.losses import compactness_loss, label_reconstruction_loss, reconstruction_loss
from ssn.models import SSN, SSNConfig

from .config import TrainConfig, keep_recorded_amp
from .data import build_patches, to_device, training_batches, validation_source
from .run import Checkpointer, RunLog, due, set_rng_state, setup

__all__ = ["TrainState", "build", "compute_loss", "train", "validate"]


# -- one step ---------------------------------------------------------------------------


def compute_loss(model: SSN, batch: dict, config: TrainConfig, autocast_dtype=None) -> dict:
    """The training loss of one batch: reconstruction + λ · compactness.

    ``autocast_dtype`` (e.g. ``torch.bfloat16``) runs the feature network under autocast;
    see :meth:`ssn.models.SSN.forward`.
    """
    flow = config.task == "sintel"
    images, next_frame = (batch["image1"], batch["image2"]) if flow else (batch["image"], None)
    out = model(images, config.n_segments, n_iter=config.n_iter_train, eta=config.train_eta,
                next_frame=next_frame, autocast_dtype=autocast_dtype)  # fmt: skip
    if flow:
        recon = reconstruction_loss(batch["flow"], out.association, kind="l1", valid=batch["valid"])
    else:  # cross-entropy against the one-hot segments, computed from the indices
        recon = label_reconstruction_loss(
            batch["labels"], out.association, config.max_segments, valid=batch["valid"]
        )
    positions = position_features(images, out.grid, eta=config.train_eta)
    compact = compactness_loss(
        positions, out.association, out.labels, reduction=config.compactness_reduction
    )
    total = recon + config.compactness_weight * compact
    return {"loss": total, "reconstruction": recon.detach(), "compactness": compact.detach()}


# -- validation -------------------------------------------------------------------------


@torch.no_grad()
def validate(model: SSN, config: TrainConfig, device) -> dict:
    """Validation scores on the first ``eval_images`` items of the validation split, read
    through the loader's evaluation view (:meth:`ssn.data.BSDS500.evaluation_items` ...)
    as the benchmark reads it.

    Segmentation tasks: mean ASA and BR (Stutz protocol, the dataset's void label and
    void boundaries as the benchmark scores them) over every annotation; ``val_asa``
    selects the best model. Sintel: the end-point error of the superpixel-mean flow
    (``val_epe``); its negative selects the best model (``score``).
    """
    from ssn.inference import segment
    from ssn.metrics import evaluate_image, flow_endpoint_error

    module = getattr(model, "module", model)
    was_training = module.training
    module.eval()
    scores: dict[str, list[float]] = {}
    for item in validation_source(config).evaluation_items()[: config.eval_images]:
        sample = item.load()
        labels = segment(sample.image, config.eval_n_segments, model=module, device=device,
                         next_frame=sample.next_frame)  # fmt: skip
        if sample.is_flow:
            epe = flow_endpoint_error(labels, sample.flow, valid=sample.valid)
            scores.setdefault("val_epe", []).append(epe)
            continue
        result = evaluate_image(labels, sample.annotations, protocol="stutz",
                                ignore_labels=sample.ignore_labels,
                                void_boundaries=sample.void_boundaries)  # fmt: skip
        for row in result.per_annotation:
            scores.setdefault("val_asa", []).append(row["asa"])
            scores.setdefault("val_br", []).append(row["br"])
    module.train(was_training)
    result = {k: float(np.mean(v)) for k, v in scores.items()}
    result["score"] = -result["val_epe"] if "val_epe" in result else result["val_asa"]
    return result


# -- building the run -------------------------------------------------------------------


@dataclass
class TrainState:
    """What a run continues from: the model (on its device), its optimiser, the
    iteration reached and the best validation score so far."""

    model: SSN
    optimizer: torch.optim.Optimizer
    device: torch.device
    start: int = 0
    best: float = -math.inf
    seconds: float = 0.0  # training time so far, over every resumed session
    devices: str = ""  # the machines it ran on ("A; B" after a resume elsewhere)


def _check_architecture(state: dict, source: Path, wanted: SSNConfig) -> None:
    """Refuse a checkpoint whose network is not the one the config asks for."""
    args = state["model_args"]
    differ = [
        k for k in ("feature_net", "n_features", "in_channels") if args.get(k) != getattr(wanted, k)
    ]
    if differ:
        holds = ", ".join(f"{k}={args.get(k)!r}" for k in differ)
        asked = ", ".join(f"{k}={getattr(wanted, k)!r}" for k in differ)
        fix = " ".join(f"{k}={args.get(k)}" for k in differ if k != "in_channels")
        raise ValueError(
            f"{source} holds a network with {holds} but the config asks for {asked}; "
            + (f"set {fix}, or " if fix else "use task=sintel for frame pairs, or ")
            + "start from another checkpoint"
        )


def build(config: TrainConfig, device: torch.device) -> TrainState:
    """The model and optimiser on ``device``: new, or from ``config.init_from``.

    ``resume`` continues ``out_dir/last.pt`` exactly (weights, optimiser, iteration,
    best score, RNG); a checkpoint file continues from what it holds (a weights-only one
    gets fresh Adam moments: a warm start). The architecture must be the config's; the
    other model settings (eta, SLIC iterations) are the config's, so ``config.json``
    records what runs.
    """
    torch.manual_seed(config.seed)
    wanted = config.model
    state = {}
    if config.init_from == "scratch":
        model = SSN(wanted)
    else:
        source = (
            config.run_folder / "last.pt"
            if config.init_from == "resume"
            else Path(config.init_from)
        )
        if not source.is_file():
            raise FileNotFoundError(f"cannot resume: no checkpoint at {source}")
        state = load_checkpoint(source)
        _check_architecture(state, source, wanted)
        if config.init_from == "resume":
            keep_recorded_amp(state.get("config", {}), config)
        model = model_from_checkpoint(state, source, **config.model_settings)
    model.to(device).train()
    betas = (config.beta1, config.beta2)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate, betas=betas)
    if "optimizer" in state:  # loaded after .to(device): the moments follow the weights
        try:
            optimizer.load_state_dict(state["optimizer"])
        except (ValueError, KeyError, RuntimeError) as err:
            detail = " ".join(str(err).split())
            raise ValueError(f"{source}: optimizer state does not fit: {detail}") from err
    start = int(state.get("iter", 0))
    if start >= config.max_iters and config.init_from not in ("scratch", "resume"):
        raise ValueError(
            f"init_from={source} is already at iteration {start} and max_iters is "
            f"{config.max_iters}: nothing to train and nothing was written; set max_iters "
            f"above {start} (iterations continue from the checkpoint's)"
        )
    if "rng" in state:
        set_rng_state(state["rng"], device)
    best = float(state.get("best_metric", -math.inf))
    seconds, devices = float(state.get("train_seconds", 0.0)), str(state.get("train_device", ""))
    here = device_name(device)
    if here not in devices.split("; "):
        devices = f"{devices}; {here}" if devices else here
    return TrainState(model, optimizer, device, start, best, seconds, devices)


# -- the loop ---------------------------------------------------------------------------


def train(config: TrainConfig, *, overwrite: bool = False) -> dict:
    """Run (or resume) training; returns ``iter``, ``best_score``, ``out_dir``, ``rank``
    and ``trained`` (the iterations this call ran: 0 for a finished run resumed).

    Writes ``last.pt`` (every ``checkpoint_interval`` iterations and at the end),
    ``best.pt`` (best validation score), ``log.csv`` and ``config.json`` into ``out_dir``.
    The settings, device, data and the checkpoint to start from are all checked before
    any file is written. A run already in ``out_dir`` is refused (:class:`FileExistsError`)
    unless ``init_from="resume"`` continues it or ``overwrite`` replaces it.
    """
    config.validate()
    session = setup(config)
    folder = Checkpointer(config)
    folder.check_free(overwrite)
    patches = build_patches(config)
    if session.master:
        validation_source(config)  # refuses an empty split before any iteration runs
    run = build(config, session.device)
    summary = {"out_dir": str(config.run_folder), "rank": session.rank}
    if run.start < config.max_iters:  # else a finished run, resumed: nothing to do
        if session.master:
            folder.open(overwrite)
        net = session.wrap(run.model)
        log = RunLog(config, run.start, session.master)
        batches = training_batches(config, patches, run.start, session.rank, session.world)
        amp = config.autocast_dtype(session.device)
        started, seconds_before = monotonic(), run.seconds
        for it in range(run.start + 1, config.max_iters + 1):
            losses = compute_loss(net, to_device(next(batches), session.device), config, amp)
            for group in run.optimizer.param_groups:
                group["lr"] = config.learning_rate_at(it)
            run.optimizer.zero_grad(set_to_none=True)
            losses["loss"].backward()
            if config.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(run.model.parameters(), config.grad_clip)
            run.optimizer.step()
            validating = due(it, config.eval_interval, config.max_iters)
            saving = due(it, config.checkpoint_interval, config.max_iters)
            log.step(it, losses, read=validating or saving)  # no checkpoint of NaN weights
            if not session.master:
                continue
            scores = validate(run.model, config, session.device) if validating else {}
            log.write(it, scores)
            run.seconds = seconds_before + monotonic() - started  # validation included
            if scores and scores["score"] > run.best:  # ASA, or -EPE for flow
                run.best = scores["score"]
                folder.save("best.pt", run, it)
            if saving:
                folder.save("last.pt", run, it)
        log.close()
    session.close()
    end = max(run.start, config.max_iters)
    return {**summary, "iter": end, "best_score": run.best, "trained": end - run.start}
