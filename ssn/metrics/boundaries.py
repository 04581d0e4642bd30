"""Boundary maps, the two evaluation protocols, boundary recall and precision.

Published boundary recall (BR) numbers depend on how a boundary pixel is defined and on
the matching tolerance: the same SSN output at 500 superpixels scores BR 0.98 with one
evaluator and 0.86 with another. Both common conventions are offered, by name:

========  ===========================================  =============================
protocol  boundary pixel                               default tolerance r
========  ===========================================  =============================
stutz     a 4-neighbour has another label (both sides  round(0.0025 * image diagonal)
          of a label change are marked)                (1 on BSDS500, 3 on 1024x512)
ssn       the right or the bottom neighbour has        1 (as the SEAL evaluator used
          another label (one side only)                for the SSN paper's BSDS plots)
========  ===========================================  =============================

``stutz`` follows ``Evaluation::is4ConnectedBoundaryPixel`` and
``computeBoundaryRecall`` of the superpixel benchmark of Stutz et al. [1]_; ``ssn``
follows ``computeBR`` of the SEAL evaluator [2]_ that the SSN paper [3]_ used. Both
search a (2r+1) x (2r+1) window, clipped at the image border.

References
----------
.. [1] D. Stutz, A. Hermans, B. Leibe. Superpixels: an evaluation of the
   state-of-the-art. CVIU 166, 2018. :doi:`10.1016/j.cviu.2017.03.007`
.. [2] W.-C. Tu et al. Learning superpixels with segmentation-aware affinity loss.
   CVPR 2018. Evaluator: github.com/wctu/SEAL, ``eval/cpp/eval_superpixel.cpp``.
.. [3] V. Jampani, D. Sun, M.-Y. Liu, M.-H. Yang, J. Kautz. Superpixel sampling
   networks. ECCV 2018. arXiv:1807.10174
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ._labels import as_label_image, as_valid_mask, check_same_shape

__all__ = [
    "PROTOCOLS",
    "Protocol",
    "boundary_map",
    "boundary_precision",
    "boundary_recall",
    "get_protocol",
    "resolve_tolerance",
]


@dataclass(frozen=True)
class Protocol:
    """An evaluation protocol: how boundary pixels are found and matched.

    Attributes
    ----------
    name : str
        ``"stutz"`` or ``"ssn"``.
    two_sided : bool
        True when both pixels of a label change are boundary pixels (4-connected),
        False when only the left/top pixel is (right or bottom neighbour differs).
    tolerance_fraction : float or None
        r = round(fraction * image diagonal) when no tolerance is given; None means a
        fixed default.
    default_tolerance : int
        The tolerance used when ``tolerance_fraction`` is None and none is given.
    recall_without_gt_boundary : float
        BR reported when the ground truth has no boundary pixel at all (the reference
        evaluators disagree: Stutz's returns 0, SEAL's returns 1).
    description : str
        One line for reports.
    """

    name: str
    two_sided: bool
    tolerance_fraction: float | None
    default_tolerance: int
    recall_without_gt_boundary: float
    description: str

    def tolerance(self, shape: tuple[int, ...], tolerance: int | None = None) -> int:
        """Return the tolerance r for an image of ``shape`` (see :func:`resolve_tolerance`)."""
        if tolerance is not None:
            return _check_tolerance(tolerance)
        if self.tolerance_fraction is None:
            return self.default_tolerance
        height, width = int(shape[0]), int(shape[1])
        # std::round in the C++ benchmark rounds halves away from zero.
        return int(math.floor(self.tolerance_fraction * math.hypot(height, width) + 0.5))

    def to_dict(self, tolerance: int | None = None) -> dict:
        """The protocol as a JSON-ready dict, with the tolerance actually used."""
        out = {"name": self.name, "boundary": self.description}
        if tolerance is not None:
            out["tolerance"] = int(tolerance)
        return out


PROTOCOLS: dict[str, Protocol] = {
    "stutz": Protocol(
        name="stutz",
        two_sided=True,
        tolerance_fraction=0.0025,
        default_tolerance=1,
        recall_without_gt_boundary=0.0,
        description="4-connected, both sides of a label change; r = round(0.0025 * diagonal)",
    ),
    "ssn": Protocol(
        name="ssn",
        two_sided=False,
        tolerance_fraction=None,
        default_tolerance=1,
        recall_without_gt_boundary=1.0,
        description="SEAL: right or bottom neighbour differs (one side); r explicit, default 1",
    ),
}


def get_protocol(protocol: str | Protocol) -> Protocol:
    """Look a protocol up by name.

    Raises
    ------
    ValueError
        If the name is not one of ``PROTOCOLS``.
    """
    if isinstance(protocol, Protocol):
        return protocol
    try:
        return PROTOCOLS[protocol]
    except (KeyError, TypeError):
        raise ValueError(f"protocol must be one of {sorted(PROTOCOLS)}, got {protocol!r}") from None


def _check_tolerance(tolerance) -> int:
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, np.integer)):
        raise ValueError(f"tolerance must be a non-negative integer (pixels), got {tolerance!r}")
    if tolerance < 0:
        raise ValueError(f"tolerance must be non-negative, got {tolerance}")
    return int(tolerance)


def resolve_tolerance(
    shape: tuple[int, ...], *, protocol: str | Protocol = "stutz", tolerance: int | None = None
) -> int:
    """The boundary tolerance r for an image of ``shape`` under ``protocol``.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W[, ...])`` of the image.
    protocol : {"stutz", "ssn"}, optional
        ``stutz``: r = round(0.0025 * sqrt(H**2 + W**2)); ``ssn``: r = 1.
    tolerance : int, optional
        An explicit r, which overrides the protocol's default.

    Returns
    -------
    r : int

    Raises
    ------
    ValueError
        If the protocol is unknown or the tolerance negative or not an integer.

    Examples
    --------
    >>> resolve_tolerance((321, 481))
    1
    >>> resolve_tolerance((512, 1024))
    3
    >>> resolve_tolerance((321, 481), protocol="ssn", tolerance=2)
    2
    """
    return get_protocol(protocol).tolerance(shape, tolerance)


def _boundary(labels: np.ndarray, two_sided: bool, valid: np.ndarray | None = None) -> np.ndarray:
    boundary = np.zeros(labels.shape, dtype=bool)
    horizontal = labels[:, 1:] != labels[:, :-1]  # pixel (i, j) vs its right neighbour
    vertical = labels[1:, :] != labels[:-1, :]  # pixel (i, j) vs its bottom neighbour
    if valid is not None:
        # the edge of the valid region is the image border, not a boundary: only a
        # label change between two valid pixels counts (as cropping to them would)
        horizontal &= valid[:, 1:] & valid[:, :-1]
        vertical &= valid[1:, :] & valid[:-1, :]
    boundary[:, :-1] |= horizontal
    boundary[:-1, :] |= vertical
    if two_sided:
        boundary[:, 1:] |= horizontal
        boundary[1:, :] |= vertical
    return boundary


def boundary_map(labels, *, protocol: str | Protocol = "stutz", valid=None) -> np.ndarray:
    """Boundary pixels of a label image under an evaluation protocol.

    Parameters
    ----------
    labels : (H, W) array_like of int
        Label image (any integer ids).
    protocol : {"stutz", "ssn"}, optional
        ``stutz``: a pixel is a boundary pixel when any 4-neighbour has another label;
        ``ssn``: when its right or bottom neighbour has another label.
    valid : (H, W) array_like of bool, optional
        The pixels that count (e.g. those inside the frame after a rotation): a label
        change is a boundary only between two valid pixels, so the edge of the valid
        region is not one, as the image border is not.

    Returns
    -------
    boundary : (H, W) ndarray of bool

    Raises
    ------
    ValueError
        If ``labels`` is not a non-empty 2-D integer array, the protocol is unknown or
        ``valid`` is not a boolean mask of the image's shape with a True pixel.

    Examples
    --------
    >>> boundary_map([[0, 0, 1, 1]]).astype(int)
    array([[0, 1, 1, 0]])
    >>> boundary_map([[0, 0, 1, 1]], protocol="ssn").astype(int)
    array([[0, 1, 0, 0]])
    >>> boundary_map([[0, 0, 1, 1]], valid=[[True, True, True, False]]).astype(int)
    array([[0, 1, 1, 0]])
    """
    proto = get_protocol(protocol)
    labels = as_label_image(labels)
    return _boundary(labels, proto.two_sided, as_valid_mask(valid, labels.shape))


def _dilate(boundary: np.ndarray, radius: int) -> np.ndarray:
    """Chebyshev dilation by ``radius``: a (2r+1)^2 window, clipped at the border."""
    if radius == 0:
        return boundary
    if radius > 8:  # van Herk filter: cost independent of the radius
        size = 2 * radius + 1
        out = ndimage.maximum_filter1d(boundary.view(np.uint8), size, axis=0, mode="constant")
        out = ndimage.maximum_filter1d(out, size, axis=1, mode="constant")
        return out.view(bool)
    # Small radii: separable OR of shifted copies, ~20x faster than the filter.
    rows = boundary.copy()
    for k in range(1, radius + 1):
        rows[k:] |= boundary[:-k]
        rows[:-k] |= boundary[k:]
    out = rows.copy()
    for k in range(1, radius + 1):
        out[:, k:] |= rows[:, :-k]
        out[:, :-k] |= rows[:, k:]
    return out


def _recall(gt_boundary: np.ndarray, sp_dilated: np.ndarray, proto: Protocol) -> float:
    n_gt = np.count_nonzero(gt_boundary)
    if n_gt == 0:
        return float(proto.recall_without_gt_boundary)
    return float(np.count_nonzero(gt_boundary & sp_dilated) / n_gt)


def _precision(sp_boundary: np.ndarray, gt_dilated: np.ndarray) -> float:
    n_sp = np.count_nonzero(sp_boundary)
    if n_sp == 0:
        return 0.0
    return float(np.count_nonzero(sp_boundary & gt_dilated) / n_sp)


def _prepare(labels, ground_truth, protocol, tolerance, valid):
    proto = get_protocol(protocol)
    labels = as_label_image(labels, "labels")
    ground_truth = as_label_image(ground_truth, "ground_truth")
    check_same_shape(labels, ground_truth, ("labels", "ground_truth"))
    radius = proto.tolerance(labels.shape, tolerance)
    return proto, labels, ground_truth, radius, as_valid_mask(valid, labels.shape)


def boundary_recall(
    labels,
    ground_truth,
    *,
    protocol: str | Protocol = "stutz",
    tolerance: int | None = None,
    valid=None,
) -> float:
    """Boundary recall (BR): fraction of ground-truth boundary pixels that are matched.

    A ground-truth boundary pixel is matched when a superpixel boundary pixel lies in
    the (2r+1) x (2r+1) window around it (clipped at the image border).

    Parameters
    ----------
    labels : (H, W) array_like of int
        Superpixel label image.
    ground_truth : (H, W) array_like of int
        Ground-truth segmentation.
    protocol : {"stutz", "ssn"}, optional
        Boundary definition and default tolerance; see the module docstring.
    tolerance : int, optional
        Tolerance r in pixels; default from the protocol.
    valid : (H, W) array_like of bool, optional
        The pixels that count; the others (void, e.g. outside the frame after a
        rotation) hold no boundary pixel of either side (see :func:`boundary_map`), so
        the result is that of the image cropped to a rectangular valid region.

    Returns
    -------
    recall : float
        In [0, 1]. A single superpixel gives 0 on any ground truth with a boundary.
        Without any ground-truth boundary pixel the result is the protocol's
        ``recall_without_gt_boundary`` (``stutz``: 0 as in Stutz's C++, ``ssn``: 1 as
        in SEAL's).

    Raises
    ------
    ValueError
        If the shapes differ, an image is empty or not integer, the protocol is unknown,
        the tolerance is negative, or ``valid`` is not a boolean mask of the image's
        shape with a True pixel.

    Examples
    --------
    >>> sp = [[0, 0, 1, 1, 1, 1]] * 3
    >>> gt = [[0, 0, 0, 1, 1, 1]] * 3
    >>> boundary_recall(sp, gt, tolerance=0)  # gt boundary: columns 2, 3; sp: 1, 2
    0.5
    >>> boundary_recall(sp, gt, tolerance=1)
    1.0
    """
    proto, labels, ground_truth, radius, valid = _prepare(
        labels, ground_truth, protocol, tolerance, valid
    )
    sp_dilated = _dilate(_boundary(labels, proto.two_sided, valid), radius)
    return _recall(_boundary(ground_truth, proto.two_sided, valid), sp_dilated, proto)


def boundary_precision(
    labels,
    ground_truth,
    *,
    protocol: str | Protocol = "stutz",
    tolerance: int | None = None,
    valid=None,
) -> float:
    """Boundary precision (BP): fraction of superpixel boundary pixels near a GT boundary.

    A superpixel boundary pixel is a true positive when a ground-truth boundary pixel
    lies in the (2r+1) x (2r+1) window around it.

    Parameters
    ----------
    labels : (H, W) array_like of int
        Superpixel label image.
    ground_truth : (H, W) array_like of int
        Ground-truth segmentation.
    protocol : {"stutz", "ssn"}, optional
        Boundary definition and default tolerance.
    tolerance : int, optional
        Tolerance r in pixels; default from the protocol.
    valid : (H, W) array_like of bool, optional
        The pixels that count, as in :func:`boundary_recall`.

    Returns
    -------
    precision : float
        In [0, 1]; 0 when the superpixels have no boundary pixel (a single superpixel).

    Raises
    ------
    ValueError
        As :func:`boundary_recall`.

    Notes
    -----
    This is the standard precision, counted on the superpixel side. The Stutz
    benchmark's ``computeBoundaryPrecision`` (``Pre``) instead counts true positives
    on the ground-truth side (GT boundary pixels with a superpixel boundary pixel in
    their window) and divides by those plus the unmatched superpixel boundary pixels,
    so its values differ; they are not reproduced here.

    Examples
    --------
    >>> sp = [[0, 0, 1, 1, 1, 1]] * 3
    >>> gt = [[0, 0, 0, 1, 1, 1]] * 3
    >>> boundary_precision(sp, gt, tolerance=0)  # sp boundary: columns 1, 2
    0.5
    """
    proto, labels, ground_truth, radius, valid = _prepare(
        labels, ground_truth, protocol, tolerance, valid
    )
    gt_dilated = _dilate(_boundary(ground_truth, proto.two_sided, valid), radius)
    return _precision(_boundary(labels, proto.two_sided, valid), gt_dilated)
