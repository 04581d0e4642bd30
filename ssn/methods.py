"""One registry of segmentation methods: SSN with any model, and the baselines.

A method name and its parameters give a :class:`Segmenter`, a function
``(image, n_segments, next_frame=None) -> labels``. :func:`load_segmenter` builds it
once -- an SSN model is loaded (or fetched from the cache of loaded models) when the
segmenter is made, not per image -- and the command line, the workflow's jobs and the
benchmarks all segment through it.

>>> from ssn.methods import load_segmenter
>>> segmenter = load_segmenter("ssn", model="pix", device="cpu")
>>> segmenter(np.zeros((32, 48, 3), np.uint8), 6).shape
(32, 48)

SSN is built in. The baselines (the ``baselines`` package, which imports ``ssn`` and not
the other way round) add theirs through the ``ssn.methods`` entry-point group: an entry
point names a table (an iterable) of :class:`Method` records. Nothing registers itself:
the table is read once, when a method is first looked up.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points

import numpy as np

from ssn.validation import check_int, check_parameters

__all__ = [
    "ENTRY_POINT_GROUP",
    "Method",
    "Segmenter",
    "available_methods",
    "get_method",
    "load_segmenter",
]

#: the entry-point group through which other packages register methods
ENTRY_POINT_GROUP = "ssn.methods"


@dataclass(frozen=True)
class Segmenter:
    """Labels of an image: ``segmenter(image, n_segments, next_frame=None)``.

    ``takes_frame_pair`` is true for flow models, whose input is a frame and the next
    one; every other segmenter refuses a ``next_frame``. ``precision`` is what an SSN
    feature network computes in (``"float32"`` or ``"bfloat16"``, ``auto`` resolved on
    the segmenter's device; see :func:`ssn.inference.network_precision`); None for the
    methods without one.
    """

    method: str
    run: Callable[..., np.ndarray]
    takes_frame_pair: bool = False
    precision: str | None = None

    def __call__(self, image, n_segments: int, next_frame=None) -> np.ndarray:
        if next_frame is not None and not self.takes_frame_pair:
            raise ValueError(
                f"next_frame is for flow models trained on frame pairs; method "
                f"{self.method!r} segments one image"
            )
        if self.takes_frame_pair:
            return self.run(image, n_segments, next_frame)
        return self.run(image, n_segments)


@dataclass(frozen=True)
class Method:
    """A registered method: ``build(**params)`` returns its :class:`Segmenter`;
    ``params`` holds the parameters and their defaults."""

    name: str
    summary: str
    build: Callable[..., Segmenter]
    params: dict = field(default_factory=dict)


CONNECTIVITY_MODES = ("largest", "official", "none")


def _build_ssn(
    *, model="pix", n_iter=10, connectivity="largest", device=None, precision="auto"
) -> Segmenter:
    from ssn.devices import resolve_device
    from ssn.inference import network_precision, resolve_model, segment

    n_iter = check_int("n_iter", n_iter, 1)
    if connectivity not in CONNECTIVITY_MODES:
        raise ValueError(
            f"connectivity must be one of {', '.join(CONNECTIVITY_MODES)}, got {connectivity!r}"
        )
    device = resolve_device(device)
    net = resolve_model(model, device)
    precision = network_precision(net, precision, device)  # auto resolved once, here
    enforce = False if connectivity == "none" else connectivity

    def run(image, n_segments, next_frame=None):
        return segment(image, n_segments, model=net, n_iter=n_iter, enforce_connectivity=enforce,
                       device=device, next_frame=next_frame, precision=precision)  # fmt: skip

    return Segmenter(
        "ssn", run, takes_frame_pair=net.config.frame_pair is not None, precision=precision
    )


SSN_METHOD = Method(
    "ssn",
    "Superpixel Sampling Network (model: pix, linear, deep, official-<task> or a checkpoint)",
    _build_ssn,
    {"model": "pix", "n_iter": 10, "connectivity": "largest", "device": None, "precision": "auto"},
)


@functools.cache
def _registry() -> dict[str, Method]:
    methods = {SSN_METHOD.name: SSN_METHOD}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        for method in entry.load():
            if method.name in methods:
                raise RuntimeError(
                    f"method {method.name!r} of entry point {entry.value} is registered twice"
                )
            methods[method.name] = method
    return methods


def available_methods() -> list[str]:
    """The registered method names: ``ssn`` first, then the others sorted."""
    return ["ssn", *sorted(name for name in _registry() if name != "ssn")]


def get_method(name: str) -> Method:
    """The :class:`Method` registered as ``name``.

    Raises
    ------
    ValueError
        If no method has that name (the message lists the valid names).
    """
    registry = _registry()
    if not isinstance(name, str) or name not in registry:
        hint = ""
        if len(registry) == 1:
            hint = (
                f" (no method is registered through the {ENTRY_POINT_GROUP!r} entry points: "
                "install the package with its baselines, e.g. `pip install -e .`)"
            )
        raise ValueError(
            f"unknown method {name!r}; valid methods: {', '.join(available_methods())}{hint}"
        )
    return registry[name]


def load_segmenter(method: str = "ssn", **params) -> Segmenter:
    """The :class:`Segmenter` of ``method`` with ``params`` (see ``get_method(m).params``).

    Raises
    ------
    ValueError
        For an unknown method or parameter, or an invalid parameter value.
    FileNotFoundError
        If an SSN model's checkpoint is missing.
    """
    spec = get_method(method)
    check_parameters(method, params, spec.params)
    return spec.build(**params)
