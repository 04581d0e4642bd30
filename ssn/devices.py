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

#: the precisions of a feature network at inference (:func:`resolve_precision`)
PRECISIONS = ("auto", "float32", "bfloat16")

#: the autocast dtype of each resolved precision (None: no autocast, float32)
AUTOCAST_DTYPES = {"float32": None, "bfloat16": torch.bfloat16}

__all__ = [
    "AUTOCAST_DTYPES",
    "PRECISIONS",
    "autocast_dtype",
    "available_devices",
    "cpu_has_native_bf16",
    "cpu_model",
    "default_device",
    "device_name",
    "local_rank",
    "resolve_device",
    "resolve_precision",
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


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 in hardware, so that autocast to bf16 is faster
    than float32 and not emulated.

    x86: AVX512-BF16 (Intel Cooper Lake, Sapphire Rapids and later; AMD Zen 4 and later)
    or AMX (its tiles come with AMX-BF16). Not AVX-512 alone: oneDNN then emulates bf16
    (``torch.ops.mkldnn._is_mkldnn_bf16_supported()`` is True there, and
    ``torch.backends.cpu.get_cpu_capability()`` says ``AVX512`` either way, so neither
    tells). ARM: the BF16 extension, as oneDNN reports it. False elsewhere.
    """
    if platform.machine().lower() in ("aarch64", "arm64"):
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in probes)


def autocast_dtype(device) -> torch.dtype | None:
    """The dtype to autocast a network's convolutions to on ``device``, or None.

    The one place that decides where bf16 pays: bfloat16 on a GPU that computes it
    natively (compute capability 8.0 and later) and on a CPU that does
    (:func:`cpu_has_native_bf16`); None (float32) elsewhere: on older GPUs torch
    emulates bf16 (and autocast refuses it), on other CPUs oneDNN emulates it, slower
    than float32. Inference (:func:`resolve_precision`) and training (``amp``) ask it.
    """
    device = torch.device(device)
    if device.type == "cuda" and torch.cuda.is_bf16_supported(including_emulation=False):
        return torch.bfloat16
    if device.type == "cpu" and cpu_has_native_bf16():
        return torch.bfloat16
    return None


def resolve_precision(precision, device) -> str:
    """The precision a feature network runs in on ``device``: ``"float32"`` or
    ``"bfloat16"``.

    Parameters
    ----------
    precision : {'auto', 'float32', 'bfloat16'}
        ``auto``: bfloat16 where :func:`autocast_dtype` says the device computes it
        natively, float32 elsewhere. ``bfloat16`` asks for it anywhere autocast takes
        it (on a CPU without native bf16 it is emulated: correct, slower).
    device : str or torch.device
        Where the network runs.

    Returns
    -------
    str
        ``"float32"`` or ``"bfloat16"`` (the key of :data:`AUTOCAST_DTYPES`).

    Raises
    ------
    ValueError
        For another name, or ``bfloat16`` on a GPU that lacks it (torch's autocast
        refuses it there).
    """
    if not isinstance(precision, str) or precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    device = torch.device(device)
    if precision == "auto":
        return "float32" if autocast_dtype(device) is None else "bfloat16"
    if precision == "bfloat16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ValueError(
            f"precision='bfloat16': the GPU of {device} does not support bfloat16 "
            "(compute capability below 8.0); use precision='float32' or 'auto'"
        )
    return precision
