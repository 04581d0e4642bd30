"""Training-patch augmentation as in the SSN paper, and the segment indices of the labels.

:class:`PatchSampler` draws, in this order from one ``numpy.random.Generator``: a scale
factor (BSDS500, official: ``Normal(1, 0.75)`` clipped to ``[0.75, 3]``), a horizontal
flip (probability 1/2) and a random crop (201×201). Images, labels, masks and flow are
transformed together, so they stay aligned; a flip negates the horizontal flow and a
scale multiplies the flow. Inputs smaller than the patch are padded (image 0, labels
``-1``, ``valid`` False) instead of failing.

:func:`segment_indices` numbers at most ``max_segments`` segments of a label image (the
official code keeps 50 one-hot channels): segments are numbered in increasing order of
their label value, as the official ``convert_label`` does, and the first
``max_segments`` are kept. Pixels of any further segment (and void / padding pixels) get
index ``-1``, the official all-zero one-hot vector: they add nothing to the
reconstruction loss. ``policy="largest"`` keeps the largest segments instead of the first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["OFFICIAL_SCALE", "PatchSampler", "ScaleDistribution", "segment_indices"]


@dataclass(frozen=True)
class ScaleDistribution:
    """``clip(Normal(mean, std), low, high)``."""

    mean: float = 1.0
    std: float = 0.75
    low: float = 0.75
    high: float = 3.0

    def sample(self, rng: np.random.Generator) -> float:
        return float(np.clip(rng.normal(self.mean, self.std), self.low, self.high))


#: the official BSDS500 training scale distribution
OFFICIAL_SCALE = ScaleDistribution()


def _resize(array: np.ndarray, size: tuple[int, int], *, nearest: bool) -> np.ndarray:
    import cv2

    h, w = size
    # INTER_NEAREST_EXACT samples at pixel centres like INTER_LINEAR does, so labels stay
    # aligned with the image (plain INTER_NEAREST is shifted by up to half a pixel)
    interpolation = cv2.INTER_NEAREST_EXACT if nearest else cv2.INTER_LINEAR
    dtype = array.dtype
    if array.dtype == np.bool_:
        work = array.astype(np.uint8)
    elif array.dtype in (np.int64, np.uint32, np.uint64):
        if array.size and (
            array.min() < np.iinfo(np.int32).min or array.max() > np.iinfo(np.int32).max
        ):
            raise ValueError("labels do not fit int32 for resizing")
        work = array.astype(np.int32)
    else:
        work = array
    out = cv2.resize(work, (w, h), interpolation=interpolation)
    if out.ndim < array.ndim:  # cv2 drops a trailing channel axis of size 1
        out = out[..., None]
    return out.astype(dtype, copy=False)


def _pad(array: np.ndarray, size: tuple[int, int], value) -> np.ndarray:
    h, w = array.shape[:2]
    ph, pw = max(size[0] - h, 0), max(size[1] - w, 0)
    if not (ph or pw):
        return array
    widths = [(0, ph), (0, pw)] + [(0, 0)] * (array.ndim - 2)
    return np.pad(array, widths, mode="constant", constant_values=value)


@dataclass(frozen=True)
class PatchSampler:
    """Random scale → horizontal flip → crop, applied to aligned arrays.

    Parameters
    ----------
    patch_size : int or (int, int)
        Crop size (height, width); the paper uses 201.
    flip : bool
        Random horizontal flips.
    scale : ScaleDistribution or None
        Random rescaling (BSDS500 in the paper: :data:`OFFICIAL_SCALE`); None disables it.
    """

    patch_size: int | tuple[int, int] = 201
    flip: bool = True
    scale: ScaleDistribution | None = None

    def __post_init__(self):
        self.size  # noqa: B018 -- validates patch_size

    @property
    def size(self) -> tuple[int, int]:
        ps = self.patch_size
        size = (ps, ps) if isinstance(ps, int) else tuple(ps)
        if len(size) != 2 or min(size) < 1:
            raise ValueError(f"patch_size must be a positive int or (height, width), got {ps!r}")
        return size

    def __call__(
        self,
        rng: np.random.Generator,
        *,
        images=(),
        labels=(),
        masks=(),
        flow: np.ndarray | None = None,
    ) -> dict:
        """Transform aligned arrays with one random draw.

        Parameters
        ----------
        rng : numpy.random.Generator
        images : sequence of (H, W[, C]) ndarray
            Interpolated bilinearly when scaled; padded with 0.
        labels : sequence of (H, W) integer ndarray
            Nearest-neighbour; padded with -1.
        masks : sequence of (H, W) bool ndarray
            Nearest-neighbour; padded with False.
        flow : (H, W, 2) float ndarray, optional
            Bilinear, multiplied by the scale; u negated by a flip; padded with 0.

        Returns
        -------
        dict with ``images``, ``labels``, ``masks`` (lists), ``flow`` (or None), ``valid``
        ((h, w) bool, False on padding), ``scale`` (float), ``flipped`` (bool),
        ``offset`` ((top, left) in the scaled, flipped input).
        """
        images, labels, masks = list(images), list(labels), list(masks)
        arrays = images + labels + masks + ([flow] if flow is not None else [])
        if not arrays:
            raise ValueError("nothing to transform")
        shape = arrays[0].shape[:2]
        for a in arrays:
            if a.shape[:2] != shape:
                raise ValueError(f"arrays differ in size: {shape} vs {a.shape[:2]}")
        ph, pw = self.size
        factor = self.scale.sample(rng) if self.scale is not None else 1.0
        flipped = bool(self.flip and rng.random() < 0.5)
        valid = np.ones(shape, dtype=bool)
        if factor != 1.0:
            new = (max(1, round(shape[0] * factor)), max(1, round(shape[1] * factor)))
            images = [_resize(a, new, nearest=False) for a in images]
            labels = [_resize(a, new, nearest=True) for a in labels]
            masks = [_resize(a, new, nearest=True) for a in masks]
            if flow is not None:
                flow = _resize(
                    flow.astype(np.float32, copy=False), new, nearest=False
                ) * np.float32(factor)
            valid = np.ones(new, dtype=bool)
            shape = new
        if flipped:
            images = [a[:, ::-1] for a in images]
            labels = [a[:, ::-1] for a in labels]
            masks = [a[:, ::-1] for a in masks]
            if flow is not None:
                flow = flow[:, ::-1] * np.array([-1, 1], dtype=flow.dtype)
        size = (max(shape[0], ph), max(shape[1], pw))
        images = [_pad(a, size, 0) for a in images]
        labels = [_pad(a, size, -1) for a in labels]
        masks = [_pad(a, size, False) for a in masks]
        valid = _pad(valid, size, False)
        if flow is not None:
            flow = _pad(flow, size, 0)
        top = int(rng.integers(0, size[0] - ph + 1))
        left = int(rng.integers(0, size[1] - pw + 1))
        window = (slice(top, top + ph), slice(left, left + pw))

        def crop(a):
            return np.ascontiguousarray(a[window])

        return {
            "images": [crop(a) for a in images],
            "labels": [crop(a) for a in labels],
            "masks": [crop(a) for a in masks],
            "flow": crop(flow) if flow is not None else None,
            "valid": crop(valid),
            "scale": factor,
            "flipped": flipped,
            "offset": (top, left),
        }


def segment_indices(
    labels: np.ndarray,
    *,
    max_segments: int = 50,
    void=None,
    policy: str = "first",
) -> np.ndarray:
    """Number the segments of a label image ``0..max_segments-1``; the rest become -1.

    These indices are the reconstruction loss's target: the official code's one-hot
    channels, computed from the indices where the loss needs them.

    Parameters
    ----------
    labels : (H, W) integer ndarray
        Negative values are ignored (padding).
    max_segments : int
        Number of segments kept (official: 50 one-hot channels).
    void : int or None
        A label value to ignore as well (255 for VOC / Cityscapes train ids).
    policy : {"first", "largest"}
        Which segments are kept when there are more than ``max_segments``: the ones with
        the smallest label values (official) or the largest areas (ties: smaller value).

    Returns
    -------
    segments : (H, W) int64 ndarray
        Segment index 0..max_segments-1 per pixel, -1 for ignored or dropped pixels.

    Raises
    ------
    ValueError
        If ``labels`` is not 2-D integer data, ``max_segments`` < 1 or ``policy`` unknown.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be a 2-D integer array, got {labels.dtype} {labels.shape}")
    if max_segments < 1:
        raise ValueError(f"max_segments must be >= 1, got {max_segments}")
    if policy not in ("first", "largest"):
        raise ValueError(f"policy must be 'first' or 'largest', got {policy!r}")
    values, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    keep = values >= 0
    if void is not None:
        keep &= values != void
    kept = np.flatnonzero(keep)
    if kept.size > max_segments:
        if policy == "largest":
            order = np.lexsort((values[kept], -counts[kept]))
            kept = np.sort(kept[order[:max_segments]])
        else:
            kept = kept[:max_segments]
    lut = np.full(values.size, -1, dtype=np.int64)
    lut[kept] = np.arange(kept.size)
    return lut[inverse.reshape(labels.shape)]
