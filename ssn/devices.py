"""Devices: the one rule that turns a user's device into a :class:`torch.device`.

The library (:func:`ssn.segment`, :mod:`ssn.methods`), the CLI, training and the
workflow's jobs all call :func:`resolve_device`, so ``"cuda"`` means the same thing
everywhere: the GPU of this process, with its index made explicit (``LOCAL_RANK``
under ``torchrun``, else 0). ``torch.cuda.set_device`` and the per-device calls that
follow need that index: ``torch.device("cuda")`` alone is refused by them.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch

__all__ = [
    "autocast_dtype",
    "available_devices",
    "cpu_model",
    "default_device",
    "device_name",
    "local_rank",
    "resolve_device",
    "synchronize",
]


def local_rank() -> int:
    """This process's GPU among those of its machine: ``torchrun``'s ``LOCAL_RANK``, else 0."""
    value = os.environ.get("LOCAL_RANK", "0")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"LOCAL_RANK={value!r} is not an integer") from None


def available_devices() -> list[str]:
    """The torch devices this machine and this torch build can use."""
    devices = ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    return devices


def default_device() -> torch.device:
    """This process's GPU when CUDA is available (see :func:`resolve_device`), else the CPU."""
    return resolve_device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def resolve_device(device=None) -> torch.device:
    """``device`` as a :class:`torch.device` this machine has.

    Parameters
    ----------
    device : str, torch.device or None
        ``None`` or ``"auto"`` (:func:`default_device`), ``"cpu"``, ``"cuda"``,
        ``"cuda:N"`` or ``"mps"``.

    Returns
    -------
    torch.device
        A CUDA device always carries its index: ``"cuda"`` becomes
        ``cuda:LOCAL_RANK`` (``cuda:0`` outside ``torchrun``).

    Raises
    ------
    ValueError
        For a name torch does not know, or a device this machine or torch build lacks
        (``cuda`` on a CPU-only torch, ``cuda:3`` on a machine with two GPUs); the
        message lists the available devices.
    """
    if device is None or device == "auto":
        return default_device()
    if isinstance(device, torch.device):
        device = str(device)
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(
            f"device={device!r} is not a torch device; available here: "
            + ", ".join(available_devices())
        ) from None
    if dev.type == "cpu":
        return dev
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = local_rank() if dev.index is None else dev.index
        if index < count:
            return torch.device("cuda", index)
        if not count:
            why = (
                "no CUDA device is visible"
                if torch.version.cuda
                else "this torch build has no CUDA support"
            )
        else:
            why = f"this machine has {count} CUDA device(s)"
        raise ValueError(
            f"device={device!r} is not available ({why}); available here: "
            + ", ".join(available_devices())
        )
    if dev.type == "mps" and "mps" in available_devices():
        return dev
    raise ValueError(
        f"device={device!r} is not available; available here: " + ", ".join(available_devices())
    )


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``; the platform's processor elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device) -> str:
    """What a device is, for logs and result tables: the GPU's name, or the CPU model
    and its logical CPUs."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(resolve_device(device))
    return f"{cpu_model()} ({os.cpu_count()} logical CPUs)"


def synchronize(device) -> None:
    """Wait for the work queued on ``device`` (CUDA runs asynchronously; a CPU does not).

    Timings call it on both sides of what they time.
    """
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def autocast_dtype(device) -> torch.dtype | None:
    """The dtype to autocast a network's convolutions to on ``device``, or None.

    bfloat16 on a GPU that computes it natively (compute capability 8.0 and later);
    None (float32) elsewhere: on older GPUs torch emulates bf16, and autocast refuses it.
    """
    device = torch.device(device)
    if device.type == "cuda" and torch.cuda.is_bf16_supported(including_emulation=False):
        return torch.bfloat16
    return None
