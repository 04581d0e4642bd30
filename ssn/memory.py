"""How much memory a segmentation needs, checked before it starts.

A 12000×12000 image used to end in a raw :class:`MemoryError` after minutes, with
gigabytes resident. :func:`check_memory` estimates the peak from the image size and the
feature network and refuses, in one line, an image that cannot fit.

The limit is ``$SSN_MAX_MEMORY`` (bytes, or with a suffix: ``512M``, ``8G``) when set,
else the memory available now (``psutil``, else ``/proc/meminfo``, else the physical
memory), or less when the process has an address-space limit (``ulimit -v``).
"""

from __future__ import annotations

import os
import re

__all__ = ["BYTES_PER_PIXEL", "MemoryLimitError", "check_memory", "memory_limit"]

# Peak bytes per pixel of ssn.segment on the CPU beyond the loaded model, measured with
# ru_maxrss (1-2 threads, 1-9 Mpixel images: pix 68, linear 210, deep 1167) plus ~25%
# for other thread counts and the paper's models (the deep network's full-resolution
# 64-channel activations and its 197-channel concatenation dominate).
BYTES_PER_PIXEL = {"pix": 85, "linear": 265, "deep": 1500}

_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


class MemoryLimitError(MemoryError, ValueError):
    """A segmentation would need more memory than the limit (a ValueError too, so the
    command line reports it in one line)."""


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def _parse_size(text: str) -> int:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*", text, re.IGNORECASE)
    if not match:
        raise ValueError(
            f"SSN_MAX_MEMORY={text!r} is not a memory size; give bytes or a size such as 512M or 8G"
        )
    return int(float(match[1]) * _UNITS[match[2].upper()])


def _available() -> tuple[int, str]:
    try:
        import psutil

        return psutil.virtual_memory().available, "available memory"
    except ImportError:
        pass
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024, "available memory"
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), "physical memory"


def _address_space_left() -> int | None:
    """What an address-space limit (``ulimit -v``) leaves this process, if one is set."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, OSError, ValueError):
        return None
    if soft == resource.RLIM_INFINITY:
        return None
    try:
        with open("/proc/self/statm") as fh:
            used = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        used = 0
    return max(soft - used, 0)


def memory_limit() -> tuple[int, str]:
    """The memory a segmentation may use, in bytes, and where that limit comes from.

    Raises
    ------
    ValueError
        If ``$SSN_MAX_MEMORY`` is set but is not a size.
    """
    setting = os.environ.get("SSN_MAX_MEMORY")
    if setting:
        return _parse_size(setting), "SSN_MAX_MEMORY"
    limit, source = _available()
    left = _address_space_left()
    if left is not None and left < limit:
        return left, "the address-space limit (ulimit -v) left to this process"
    return limit, source


def check_memory(height: int, width: int, feature_net: str) -> int:
    """Refuse an image whose segmentation would not fit in :func:`memory_limit`.

    Returns
    -------
    int
        The estimated peak in bytes.

    Raises
    ------
    MemoryLimitError
        One line naming the image size, the estimate, the limit and the fix.
    """
    estimate = height * width * BYTES_PER_PIXEL.get(feature_net, BYTES_PER_PIXEL["deep"])
    limit, source = memory_limit()
    if estimate > limit:
        raise MemoryLimitError(
            f"a {width}x{height} image needs about {_size(estimate)} to segment with the "
            f"{feature_net} network on the CPU, more than the {_size(limit)} of {source}; "
            "downscale or tile the image, or set SSN_MAX_MEMORY (e.g. 64G) to allow more"
        )
    return estimate
