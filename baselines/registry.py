"""The registry of baseline methods, the single entry point :func:`segment`, and
:func:`ssn_methods`, through which the baselines join :mod:`ssn.methods` (the
``ssn.methods`` entry point in ``pyproject.toml``)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ssn.validation import as_rgb_float, check_n_segments, check_parameters

from ._common import relabel_consecutive

__all__ = ["Method", "available_methods", "get_method", "register", "segment", "ssn_methods"]


@dataclass(frozen=True)
class Method:
    """A registered baseline.

    ``func(rgb, n_segments, **params)`` receives a contiguous ``(H, W, 3)`` float32 RGB
    image in [0, 1] and a validated count, and returns integer labels.
    """

    name: str
    func: Callable[..., np.ndarray]
    summary: str
    params: dict = field(default_factory=dict)  # name -> default value


_REGISTRY: dict[str, Method] = {}


def register(name: str, summary: str):
    """Decorator registering ``func`` under ``name``; its keyword-only parameters are
    the method's tunable parameters."""

    def deco(func):
        sig = inspect.signature(func)
        params = {
            p.name: p.default
            for p in sig.parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        }
        _REGISTRY[name] = Method(name=name, func=func, summary=summary, params=params)
        return func

    return deco


def _load_all() -> None:
    # Importing the modules fills the registry.
    from . import ers, fh, lsc, seeds, slic, snic, watershed  # noqa: F401


def available_methods() -> list[str]:
    """Names of the registered methods, sorted."""
    _load_all()
    return sorted(_REGISTRY)


def get_method(name: str) -> Method:
    """The :class:`Method` registered as ``name``.

    Raises
    ------
    ValueError
        If no method has that name (the message lists the valid names).
    """
    _load_all()
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(
            f"unknown baseline method {name!r}; valid methods: {', '.join(sorted(_REGISTRY))}"
        )
    return _REGISTRY[name]


def segment(
    image,
    n_segments: int,
    *,
    method: str = "slic",
    channel_axis: int | None = -1,
    **params,
) -> np.ndarray:
    """Segment ``image`` into about ``n_segments`` superpixels with a baseline method.

    Parameters
    ----------
    image : (H, W[, C]) array_like
        Grayscale, RGB or RGBA image; integer (uint8, uint16, ...) or float in [0, 1].
        Validated exactly like :func:`ssn.segment` (see :func:`ssn.validation.as_rgb_float`).
    n_segments : int
        Target number of superpixels, in ``[1, H*W]``.
    method : str
        One of :func:`available_methods`.
    channel_axis : int or None
        Axis of the colour channels (``None`` for a grayscale image).
    **params
        Method-specific parameters (see ``get_method(method).params``).

    Returns
    -------
    labels : (H, W) ndarray of int32
        Labels ``0..n-1`` (consecutive, numbered in raster order of first appearance);
        every superpixel is 4-connected.

    Raises
    ------
    ValueError
        For an unknown method or parameter, a bad parameter value, or an
        image/count rejected by :func:`ssn.validation.as_rgb_float` /
        :func:`ssn.validation.check_n_segments`.
    TypeError
        For a non-numeric image.
    """
    m = get_method(method)
    check_parameters(method, params, m.params)
    return _run(m, params, image, n_segments, channel_axis=channel_axis)


def _run(m: Method, params: dict, image, n_segments, *, channel_axis=-1) -> np.ndarray:
    # `params` are checked by the caller: segment() per call, ssn.methods.load_segmenter once
    rgb = as_rgb_float(image, channel_axis=channel_axis)
    height, width = rgb.shape[:2]
    n = check_n_segments(n_segments, height, width)
    if n == 1:
        return np.zeros((height, width), np.int32)
    labels = np.asarray(m.func(rgb, n, **params))
    if labels.shape != (height, width):  # pragma: no cover - a method bug
        raise RuntimeError(f"method {m.name!r} returned shape {labels.shape}")
    labels, _ = relabel_consecutive(labels.astype(np.int64, copy=False))
    return labels


def ssn_methods() -> list:
    """The baselines as :class:`ssn.methods.Method` records (the ``ssn.methods`` entry
    point): each builds a segmenter running the method with its parameters, which
    :func:`ssn.methods.load_segmenter` has checked."""
    from ssn.methods import Method as SSNMethod
    from ssn.methods import Segmenter

    def build(name: str, **params) -> Segmenter:
        return Segmenter(name, functools.partial(_run, get_method(name), params))

    return [
        SSNMethod(
            name,
            get_method(name).summary,
            functools.partial(build, name),
            dict(get_method(name).params),
        )  # fmt: skip
        for name in available_methods()
    ]
