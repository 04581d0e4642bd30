"""Validation of what users pass in: images, superpixel counts, numeric settings.

Every entry point that takes an image (``ssn.segment``, the baselines, the CLI) goes
through :func:`as_rgb_float` and :func:`check_n_segments`, so that they all accept and
reject the same inputs; method parameters go through :func:`check_parameters`, :func:`check_int` and
:func:`check_positive`. Each error is a :class:`ValueError` naming the bad value.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "as_rgb_float",
    "check_int",
    "check_n_segments",
    "check_parameters",
    "check_positive",
]


def as_rgb_float(image, *, channel_axis: int | None = -1, dtype=np.float32) -> np.ndarray:
    """Return ``image`` as a contiguous ``(H, W, 3)`` RGB array with values in [0, 1].

    Parameters
    ----------
    image : (H, W[, C]) array_like
        Grayscale (``channel_axis=None`` or a 2-D array), RGB or RGBA image. uint8
        images are divided by 255 and uint16 images by 65535; any other integer dtype
        (int8 … int64, uint32, uint64, e.g. Pillow's 32-bit mode ``I``) is read as 8-bit
        data when its values lie in [0, 255] and as 16-bit data when they lie in
        [0, 65535], and refused otherwise. Floating-point images must already lie in
        [0, 1]; boolean images map to {0, 1}.
    channel_axis : int or None, optional
        Axis of the colour channels; ``None`` means the image is grayscale.
    dtype : numpy dtype, optional
        Floating-point dtype of the result.

    Returns
    -------
    rgb : (H, W, 3) ndarray
        The image in RGB; grayscale is replicated to three channels and an alpha
        channel is dropped.

    Raises
    ------
    ValueError
        If the image has the wrong number of dimensions or channels, is empty, holds
        NaN/inf, is a float image outside [0, 1], or an integer image with negative
        values or (other than uint8/uint16) values above 65535.
    TypeError
        If the dtype is not numeric.
    """
    arr = np.asarray(image)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(f"image must be a numeric array, got dtype {arr.dtype}")
    if arr.ndim == 2 and channel_axis is not None and channel_axis not in (-1, 2):
        raise ValueError(
            f"channel_axis={channel_axis} is out of range for a 2-D image; "
            "use channel_axis=None for grayscale images"
        )
    if channel_axis is None or arr.ndim == 2:
        if arr.ndim != 2:
            raise ValueError(
                f"a grayscale image (channel_axis=None) must be 2-D, got shape {arr.shape}"
            )
        arr = arr[..., None]
    else:
        if arr.ndim != 3:
            raise ValueError(f"image must have shape (H, W) or (H, W, C), got shape {arr.shape}")
        arr = np.moveaxis(arr, channel_axis, -1)
    height, width, channels = arr.shape
    if height == 0 or width == 0:
        raise ValueError(f"image is empty (shape {arr.shape})")
    if channels not in (1, 3, 4):
        raise ValueError(
            f"image must have 1 (gray), 3 (RGB) or 4 (RGBA) channels, got {channels} "
            f"along channel_axis={channel_axis}"
        )
    if channels == 4:
        arr = arr[..., :3]
    if arr.dtype == np.bool_:
        out = arr.astype(dtype)
    elif np.issubdtype(arr.dtype, np.integer):
        out = arr.astype(dtype) / dtype(_integer_scale(arr))
    else:
        if not np.all(np.isfinite(arr)):
            raise ValueError("image holds NaN or infinite values")
        lo, hi = float(arr.min()), float(arr.max())
        if lo < 0.0 or hi > 1.0:
            raise ValueError(
                f"floating-point images must lie in [0, 1], got values in [{lo:g}, {hi:g}]; "
                "rescale the image (e.g. divide uint8 data by 255)"
            )
        out = arr.astype(dtype, copy=False)
    if out.shape[-1] == 1:
        out = np.repeat(out, 3, axis=-1)
    return np.ascontiguousarray(out)


def _integer_scale(arr: np.ndarray) -> int:
    """The value of white for an integer image (see :func:`as_rgb_float`)."""
    if arr.dtype == np.uint8:
        return 255
    if arr.dtype == np.uint16:
        return 65535
    lo, hi = int(arr.min()), int(arr.max())
    if lo < 0:
        raise ValueError(
            f"integer images must not hold negative values, got a {arr.dtype} image with "
            f"values in [{lo}, {hi}]; shift or rescale it to uint8, uint16 or float in [0, 1]"
        )
    if hi <= 255:
        return 255  # 8-bit data in a wider integer type
    if hi <= 65535:
        return 65535  # 16-bit data in a wider integer type
    raise ValueError(
        f"a {arr.dtype} image with values up to {hi} has no known white level (8-bit: 255, "
        "16-bit: 65535); rescale it to float in [0, 1]"
    )


def check_n_segments(n_segments, height: int, width: int) -> int:
    """Validate a requested superpixel count for an ``height × width`` image.

    Raises
    ------
    ValueError
        If ``n_segments`` is not an integer in ``[1, height * width]``.
    """
    if isinstance(n_segments, bool) or not isinstance(n_segments, (int, np.integer)):
        raise ValueError(f"n_segments must be an integer, got {n_segments!r}")
    n_segments = int(n_segments)
    if n_segments < 1:
        raise ValueError(f"n_segments must be at least 1, got {n_segments}")
    if n_segments > height * width:
        raise ValueError(
            f"n_segments={n_segments} exceeds the number of pixels of the "
            f"{height}x{width} image ({height * width})"
        )
    return n_segments


def check_int(name: str, value, minimum: int) -> int:
    """``value`` as an int, refused unless it is an integer ``>= minimum`` (bools too)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_positive(name: str, value) -> float:
    """``value`` as a float, refused unless it is a positive finite number."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return float(value)


def check_parameters(method: str, given, valid) -> None:
    """Refuse parameters that ``method`` does not have.

    Raises
    ------
    ValueError
        Naming the unknown parameters and listing the valid ones.
    """
    unknown = sorted(set(given) - set(valid))
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {', '.join(unknown)} for method {method!r}; "
            f"valid parameters: {', '.join(sorted(valid)) or 'none'}"
        )
