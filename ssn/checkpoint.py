"""Saving and loading SSN checkpoints safely (atomic writes, ``weights_only`` loads).

A checkpoint is a dict with ``model_args`` (the :class:`~ssn.models.SSNConfig` fields),
``model`` (the state dict) and optional training state (``optimizer``, ``step``,
``best_metric``, ``config``, ``metrics``). Only tensors and plain Python values are
stored, so ``torch.load(..., weights_only=True)`` reads them without unpickling code.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import torch

from ssn.io import existing_file
from ssn.models import SSN, SSNConfig

__all__ = [
    "PRETRAINED_DIR",
    "atomic_write_text",
    "check_weights",
    "compact_checkpoint",
    "export_weights",
    "load_checkpoint",
    "load_model",
    "model_from_checkpoint",
    "pretrained_path",
    "remove_stale_temporaries",
    "save_checkpoint",
]

PRETRAINED_DIR = Path(__file__).resolve().parent / "weights"


def save_checkpoint(path, model: SSN, **state) -> None:
    """Write ``model`` (and any extra training ``state``) to ``path`` atomically.

    The file is written next to ``path`` and renamed over it, so an interrupted save
    never leaves a truncated checkpoint behind.
    """
    module = getattr(model, "module", model)  # unwrap DistributedDataParallel
    module = getattr(module, "_orig_mod", module)  # and torch.compile
    payload = {"model_args": module.config.to_dict(), "model": module.state_dict(), **state}
    _atomic_save(payload, Path(path))


def _atomic_save(payload: dict, path: Path) -> None:
    """``torch.save`` next to ``path`` and rename over it: never a truncated file."""
    _atomic_write(path, lambda tmp: torch.save(payload, tmp))


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` next to ``path`` and rename over it: never a truncated file."""
    _atomic_write(Path(path), lambda tmp: tmp.write_text(text))


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale_temporaries(path) -> list[Path]:
    """Delete ``.<name>.<pid>.tmp`` files next to ``path`` left by killed processes.

    Only the temporary files this module writes (of a process that no longer runs) are
    removed; returns them.
    """
    path = Path(path)
    removed = []
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        pid = tmp.name[len(path.name) + 2 : -len(".tmp")]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def load_checkpoint(path, map_location="cpu") -> dict:
    """Read a checkpoint dict with ``weights_only=True``.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a file (:func:`ssn.io.existing_file`).
    ValueError
        If the file is not a readable SSN checkpoint.
    """
    path = existing_file(path, "checkpoint")
    if path.suffix.lower() == ".caffemodel":  # else torch.load's pickle message, misleading
        raise ValueError(
            f"{path} is a Caffe model, not an SSN checkpoint: convert it first with "
            f"`ssn models convert {path} {path.with_suffix('.pt')}`"
        )
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises many types for corrupt/unsafe files
        if isinstance(err, pickle.UnpicklingError) or "weights_only" in str(err):
            # not torch's advice to load it with weights_only=False: that runs its code
            reason = (
                "it holds Python objects other than tensors and plain values, which are "
                "refused because loading them could run code; use a checkpoint written "
                "by ssn (save_checkpoint, ssn train)"
            )
        else:
            reason = " ".join(str(err).split()) or type(err).__name__
        raise ValueError(f"{path} is not a readable SSN checkpoint: {reason}") from err
    if not isinstance(payload, dict) or not {"model_args", "model"} <= payload.keys():
        raise ValueError(f"{path} is not an SSN checkpoint (missing 'model_args'/'model')")
    return payload


def check_weights(state: dict, source) -> None:
    """Refuse weights no trained network has: NaN or infinite values anywhere, or a
    negative BatchNorm running variance (its square root is taken).

    Every loader calls it (checkpoints, ``init_from``, converted ``.caffemodel`` files):
    such weights load silently otherwise, and change the labels or fail deep inside
    the SLIC kernels.

    Parameters
    ----------
    state : dict of str to tensor or array
        A state dict (e.g. a checkpoint's ``model``).
    source : str or Path
        The file it came from, named in the message.

    Raises
    ------
    ValueError
        One line naming ``source``, the tensor, how many values and the first one's index.
    """
    for key, value in state.items():
        if not torch.is_tensor(value) or not value.is_floating_point():
            continue
        bad = ~torch.isfinite(value)
        what = "non-finite (NaN or Inf)"
        if not bad.any() and key.endswith("running_var"):
            bad, what = value < 0, "negative BatchNorm variance"
        if bad.any():
            first = tuple(torch.nonzero(bad)[0].tolist())
            raise ValueError(
                f"{source}: {key} holds {int(bad.sum())} {what} value(s) of {value.numel()} "
                f"(the first at index {first}: {value[first].item()}); the file is damaged, "
                "use another copy (fetch, convert or export it again)"
            )


def model_from_checkpoint(payload: dict, path, **overrides) -> SSN:
    """The :class:`~ssn.models.SSN` of a loaded checkpoint (``overrides`` replace
    ``model_args`` fields, e.g. ``eta``).

    Raises
    ------
    ValueError
        One line naming ``path`` if the weights do not fit the recorded architecture,
        or hold values no network has (:func:`check_weights`).
    """
    if isinstance(payload["model"], dict):  # else load_state_dict's error below
        check_weights(payload["model"], path)
    try:
        model = SSN(SSNConfig.from_dict({**payload["model_args"], **overrides}))
        model.load_state_dict(payload["model"])
    except (TypeError, RuntimeError, ValueError) as err:
        detail = " ".join(str(err).split())  # load_state_dict's message spans many lines
        raise ValueError(
            f"{path}: checkpoint does not match the SSN architecture: {detail}"
        ) from err
    return model


def load_model(path, device=None) -> SSN:
    """Build an :class:`~ssn.models.SSN` from a checkpoint, in eval mode on ``device``."""
    return model_from_checkpoint(load_checkpoint(path), path).to(device or "cpu").eval()


def export_weights(source, destination, **extra) -> Path:
    """Copy a training checkpoint without its optimiser and RNG state (a small file).

    Keeps ``model_args``, ``model``, ``iter``, ``best_metric``, ``config`` and the training
    cost (``train_seconds``, ``train_device``: the reproduction-gap table shows it beside
    the model's scores); ``extra`` entries (e.g. test scores) are added.
    ``ssn train init_from=<destination>`` can continue training from it (with fresh
    optimiser moments).
    """
    state = load_checkpoint(source)
    keys = ("model_args", "model", "iter", "best_metric", "config", "train_seconds", "train_device")
    kept = {k: state[k] for k in keys if k in state}
    destination = Path(destination)
    _atomic_save({**kept, **extra}, destination)
    return destination


def compact_checkpoint(source, destination) -> Path:
    """A resumable copy of a training checkpoint with the optimiser's floating-point
    state (Adam's moments, twice the model's size) in bfloat16: a third smaller.

    ``torch.optim.Optimizer.load_state_dict`` casts the state back to the parameters'
    dtype, so ``ssn train --resume`` continues from the copy (placed as ``OUT/last.pt``)
    with moments off by bfloat16 rounding (relative 2^-8) and everything else exact. It
    lets a run's full state be kept where files must stay small (this repository: 2 MiB,
    which a 2.60 MB SSN_deep checkpoint exceeds and its 1.75 MB compact copy does not).
    """
    state = load_checkpoint(source)
    optimizer = state.get("optimizer")
    if optimizer is not None:
        state["optimizer"] = {
            **optimizer,
            "state": {
                index: {
                    key: value.to(torch.bfloat16)
                    if torch.is_tensor(value) and value.is_floating_point() and key != "step"
                    else value
                    for key, value in entry.items()
                }
                for index, entry in optimizer["state"].items()
            },
        }
    destination = Path(destination)
    _atomic_save(state, destination)
    return destination


def pretrained_path(name: str) -> Path:
    """Path of the bundled BSDS500 weights for ``"linear"`` or ``"deep"``."""
    return PRETRAINED_DIR / f"ssn_{name}_bsds500.pt"
