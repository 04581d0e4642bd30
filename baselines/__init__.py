"""Baseline superpixel methods behind one interface.

Public API
----------
``segment(image, n_segments, *, method="slic", channel_axis=-1, **params)``
    Labels ``(H, W)`` int32, consecutive ``0..n-1``, every superpixel 4-connected.
``available_methods()``
    The registered method names: ``ers``, ``fh``, ``lsc``, ``seeds``, ``slic``,
    ``slic-opencv``, ``snic``, ``watershed``.
``get_method(name)``
    The :class:`~baselines.registry.Method` record (``.params`` holds the tunable
    parameters and their defaults, ``.summary`` a one-line description).

Every method takes the image through :func:`ssn.validation.as_rgb_float` and the count
through :func:`ssn.validation.check_n_segments`, so inputs are validated exactly like
``ssn.segment``. Each method is tuned so that the realised count is close to
``n_segments`` (within ±15% on BSDS500 for 200 ≤ K ≤ 1200).
"""

from .registry import Method, available_methods, get_method, segment

__all__ = ["Method", "available_methods", "get_method", "segment"]
