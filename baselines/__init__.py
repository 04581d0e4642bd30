"""Baseline superpixel methods behind one interface.

Public API
----------
``segment(image, n_segments, *, method="slic", channel_axis=-1, **params)``
    Labels ``(H, W)`` int32, consecutive ``0..n-1``, every superpixel 4-connected.
``available_methods()``
    The method names: ``ers``, ``fh``, ``lnsnet``, ``lsc``, ``seal``, ``seeds``,
    ``slic``, ``slic-opencv``, ``snic``, ``watershed``.
``get_method(name)``
    The :class:`ssn.methods.Method` record (``.params`` holds the tunable parameters and
    their defaults, ``.summary`` a one-line description).
``METHODS``
    Those records, a fixed table: the ``ssn.methods`` entry point (``pyproject.toml``)
    through which the baselines join :mod:`ssn.methods`, which never imports them.

Each method is a plain function ``func(rgb, n_segments, *, params)`` of a contiguous
``(H, W, 3)`` float32 RGB image in [0, 1] and a validated count; its keyword-only
parameters are the method's parameters. The learned methods SEAL (:mod:`baselines.seal`)
and LNSNet (:mod:`baselines.lnsnet`) instead load their network once, when their
segmenter is built (parameters ``model`` and ``device``), then segment through the same
wrapper. Every method takes the image through
:func:`ssn.validation.as_rgb_float` and the count through
:func:`ssn.validation.check_n_segments`, so inputs are validated exactly like
``ssn.segment``. Each method is tuned so that the realised count is close to
``n_segments`` (within ±15% on BSDS500 for 200 ≤ K ≤ 1200).

Their released weights are not part of the project: :mod:`ssn.official` finds them
(``$SSN_WEIGHTS``, a models config, the cache) and checks their sha256.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from ssn.methods import Method, Segmenter
from ssn.validation import as_rgb_float, check_n_segments, check_parameters

from . import ers, fh, lsc, seeds, slic, snic, watershed
from ._common import relabel_consecutive

__all__ = ["METHODS", "available_methods", "get_method", "segment"]


def _run(name: str, func, params: dict, image, n_segments) -> np.ndarray:
    # `params` are checked before: by segment() or ssn.methods.load_segmenter
    rgb = as_rgb_float(image)
    height, width = rgb.shape[:2]
    n = check_n_segments(n_segments, height, width)
    if n == 1:
        return np.zeros((height, width), np.int32)
    labels = np.asarray(func(rgb, n, **params))
    if labels.shape != (height, width):  # pragma: no cover - a method bug
        raise RuntimeError(f"method {name!r} returned shape {labels.shape}")
    labels, _ = relabel_consecutive(labels.astype(np.int64, copy=False))
    return labels


def _segmenter(name: str, func, **params) -> Segmenter:
    return Segmenter(name, functools.partial(_run, name, func, params))


def _method(name: str, func, summary: str) -> Method:
    """The record of ``func``: its keyword-only parameters are the method's."""
    signature = inspect.signature(func).parameters.values()
    params = {p.name: p.default for p in signature if p.kind is p.KEYWORD_ONLY}
    return Method(name, summary, functools.partial(_segmenter, name, func), params)


def _build_seal(*, model="bsds500", device=None, affinity_cache=None) -> Segmenter:
    # imported here: baselines.seal needs torch, which the other methods never load
    from . import seal

    # the network is loaded here, once per segmenter, not per image
    run = seal.seal_segmenter(model=model, device=device, affinity_cache=affinity_cache)
    return _segmenter("seal", run)


def _build_lnsnet(*, model="bsds500", device=None, assignment="dense",
                  connectivity="largest", centres="official") -> Segmenter:  # fmt: skip
    # imported here, as for SEAL: torch is loaded only by the learned methods
    from . import lnsnet

    if connectivity not in lnsnet.CONNECTIVITY:
        raise ValueError(f"connectivity must be one of {lnsnet.CONNECTIVITY}, got {connectivity!r}")
    net = lnsnet.load_lnsnet(model, device=device, assignment=assignment, centres=centres)

    def run(rgb, n_segments):
        return lnsnet.segment_rgb(rgb, n_segments, net, connectivity=connectivity)

    return _segmenter("lnsnet", run)


#: the baselines, sorted by name
METHODS = (
    _method("ers", ers.ers, "Entropy Rate Superpixels, numba implementation (lazy greedy on a heap)"),
    _method("fh", fh.fh, "Felzenszwalb-Huttenlocher, scikit-image, scale calibrated to the count"),
    Method("lnsnet", "LNSNet (CVPR 2021), the authors' BSDS500 weights (no licence: never "
           "redistributed)", _build_lnsnet,
           {"model": "bsds500", "device": None, "assignment": "dense", "connectivity": "largest",
            "centres": "official"}),
    _method("lsc", lsc.lsc, "LSC (linear spectral clustering), OpenCV ximgproc implementation"),
    Method("seal", "SEAL: ERS on learned pixel affinities, the authors' weights (model: "
           "bsds500, cityscapes or a state-dict path; CC BY-NC-SA 4.0)", _build_seal,
           {"model": "bsds500", "device": None, "affinity_cache": None}),
    _method("seeds", seeds.seeds, "SEEDS, OpenCV ximgproc implementation (Lab histograms)"),
    _method("slic", slic.slic_skimage, "SLIC, scikit-image implementation (Lab, k-means in XYLab)"),
    _method("slic-opencv", slic.slic_opencv, "SLIC, OpenCV ximgproc implementation"),
    _method("snic", snic.snic, "SNIC, numba implementation (priority-queue region growing in XYLab)"),
    _method("watershed", watershed.watershed,
            "compact watershed of the Sobel gradient from grid markers, scikit-image"),
)  # fmt: skip
_BY_NAME = {method.name: method for method in METHODS}


def available_methods() -> list[str]:
    """Names of the baseline methods, sorted."""
    return list(_BY_NAME)


def get_method(name: str) -> Method:
    """The :class:`ssn.methods.Method` of the baseline ``name``.

    Raises
    ------
    ValueError
        If no baseline has that name (the message lists the valid names).
    """
    if not isinstance(name, str) or name not in _BY_NAME:
        raise ValueError(f"unknown baseline method {name!r}; valid methods: {', '.join(_BY_NAME)}")
    return _BY_NAME[name]


def segment(image, n_segments: int, *, method: str = "slic", channel_axis: int | None = -1,
            **params) -> np.ndarray:  # fmt: skip
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
    spec = get_method(method)
    check_parameters(method, params, spec.params)
    return spec.build(**params)(as_rgb_float(image, channel_axis=channel_axis), n_segments)
