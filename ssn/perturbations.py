"""Image perturbations for robustness tests: noise, blur, rotation and shear.

The robustness protocols of the two superpixel benchmarks of the field, Stutz et al.
[1]_ and Barcelos et al. [2]_, segment perturbed copies of the test images and score
them against the ground truth:

=================  =============================================  ====================
perturbation       what it does                                   strength
=================  =============================================  ====================
gaussian_noise     add N(0, sigma^2) to every channel of every    ``sigma``, a fraction
                   pixel, clip to the intensity range             of the range
salt_and_pepper    set a fraction of the pixels (all channels)    ``amount`` in (0, 1]
                   to black or white, each with probability 1/2
gaussian_blur      a ``size`` x ``size`` Gaussian kernel          ``size`` (odd)
average_blur       a ``size`` x ``size`` box filter               ``size`` (odd)
rotation           rotate about the image centre, same frame      ``angle`` (degrees,
                                                                  counter-clockwise)
shear              shift each row along x in proportion to its    ``factor`` (pixels
                   distance from the centre row, same frame       per row)
=================  =============================================  ====================

Stutz et al. crop the transformed images so that no pixel falls outside the frame;
here the frame is kept and the pixels whose source lies outside it are *void*: they
are marked in a ``valid`` mask, filled with 0 in the image and the ground truth, and
every metric of :mod:`ssn.metrics` leaves them out (``valid=``). The ground truth is
transformed with nearest-neighbour interpolation (labels are never mixed), the image
with bilinear interpolation. Noise is drawn from ``numpy.random.default_rng(seed)``:
the same seed gives the same image, and :func:`perturb` records every parameter.

Each function takes an image first, ``(H, W)`` or ``(H, W, C)`` with channels last
(``channel_axis``), as uint8, uint16 or float in [0, 1], and returns the same dtype
(float16 becomes float32); integer images are rounded back after the arithmetic.

References
----------
.. [1] D. Stutz, A. Hermans, B. Leibe. Superpixels: an evaluation of the
   state-of-the-art. CVIU 166, 2018. :doi:`10.1016/j.cviu.2017.03.007`
   (code: github.com/davidstutz/superpixel-benchmark, ``lib_eval/transformation.cpp``)
.. [2] I. B. Barcelos et al. A comprehensive review and new taxonomy on superpixel
   segmentation. ACM Computing Surveys 56(8), 2024. :doi:`10.1145/3652509`
   (code: github.com/IsabelaBB/superpixel-benchmark, ``Scripts/Evaluation``)

Examples
--------
>>> import numpy as np
>>> from ssn.perturbations import perturb
>>> image = np.zeros((4, 6, 3), np.uint8)
>>> gt = np.arange(24).reshape(4, 6)
>>> out = perturb(image, [gt], kind="rotation", strength=180)
>>> out.ground_truths[0][0, :3].tolist(), bool(out.valid.all())
([23, 22, 21], True)
>>> out.parameters["angle"]
180.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

__all__ = [
    "PERTURBATIONS",
    "Perturbed",
    "average_blur",
    "gaussian_blur",
    "gaussian_noise",
    "perturb",
    "rotate",
    "salt_and_pepper",
    "shear",
]

#: The perturbation kinds :func:`perturb` knows, and the parameter its strength sets.
PERTURBATIONS = {
    "gaussian_noise": "sigma",
    "salt_and_pepper": "amount",
    "gaussian_blur": "size",
    "average_blur": "size",
    "rotation": "angle",
    "shear": "factor",
}

# Source coordinates are rounded to this many decimals before they are tested against
# the frame and rounded to pixels: cos(90 degrees) is 6e-17, not 0, and would otherwise
# move a half-pixel coordinate across the frame's edge.
_COORDINATE_DECIMALS = 9


# ----------------------------------------------------------------------- validation


def _as_image(image, channel_axis) -> tuple[np.ndarray, float]:
    """The image with channels last (a view) and its intensity range (255, 65535, 1.0)."""
    arr = np.asarray(image)
    if arr.dtype == np.uint8 or arr.dtype == np.uint16:
        scale = float(np.iinfo(arr.dtype).max)
    elif arr.dtype in (np.float16, np.float32, np.float64):
        if not np.all(np.isfinite(arr)):
            raise ValueError("image holds NaN or infinite values")
        scale = 1.0
    else:
        raise ValueError(
            f"image must be uint8, uint16 or float in [0, 1], got dtype {arr.dtype}; "
            "convert it with skimage.util.img_as_float"
        )
    if channel_axis is None:
        if arr.ndim != 2:
            raise ValueError(f"a grayscale image (channel_axis=None) is (H, W), got {arr.shape}")
    else:
        if arr.ndim != 3:
            raise ValueError(
                f"image must be (H, W, C) with channel_axis={channel_axis}, got shape "
                f"{arr.shape}; pass channel_axis=None for a grayscale (H, W) image"
            )
        arr = np.moveaxis(arr, channel_axis, -1)
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"image is empty (shape {arr.shape})")
    return arr, scale


def _float_type(dtype) -> type:
    """float32 stays float32 (float16 is promoted to it); everything else: float64."""
    return np.float32 if dtype in (np.float16, np.float32) else np.float64


def _restore(values: np.ndarray, like: np.ndarray, scale: float, channel_axis) -> np.ndarray:
    """Clip to the intensity range, round integer images, move channels back."""
    values = np.clip(values, 0.0, scale)
    if np.issubdtype(like.dtype, np.integer):
        values = np.floor(values + 0.5).astype(like.dtype)
    else:
        values = values.astype(_float_type(like.dtype), copy=False)
    if channel_axis is not None:
        values = np.moveaxis(values, -1, channel_axis)
    return values


def _check_positive(name: str, value, upper: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value <= 0 or (upper is not None and value > upper):
        bound = f" and at most {upper:g}" if upper is not None else ""
        raise ValueError(f"{name} must be above 0{bound}, got {value:g}")
    return value


def _check_size(size) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be a positive odd integer (pixels), got {size!r}")
    if size % 2 == 0:
        raise ValueError(
            f"size must be odd so that the kernel has a centre, got {size}; use {size + 1}"
        )
    return int(size)


# ---------------------------------------------------------------------- photometric


def gaussian_noise(image, *, sigma: float, seed=0, channel_axis: int | None = -1) -> np.ndarray:
    """Add Gaussian noise to every channel of every pixel, clipped to the range.

    Parameters
    ----------
    image : (H, W[, C]) ndarray
        uint8, uint16, or float in [0, 1].
    sigma : float
        Standard deviation of the noise as a fraction of the intensity range (0.04 is
        about 10 grey levels of a uint8 image).
    seed : int or numpy.random.Generator, optional
        The noise's seed (default 0: the same image every call).
    channel_axis : int or None, optional
        The channel axis; None for a grayscale (H, W) image.

    Returns
    -------
    noisy : ndarray
        ``image``'s shape and dtype.

    Raises
    ------
    ValueError
        If ``sigma`` is not above 0, or the image is not (H, W[, C]) uint8, uint16 or
        finite float.

    Notes
    -----
    Stutz et al.'s ``applyGaussianAdditiveNoise`` draws one sample per channel from a
    normal distribution whose second parameter, named ``variance``, is the standard
    deviation (``std::normal_distribution``), in grey levels, and truncates; here the
    scale is a fraction of the range and integer images are rounded.

    Examples
    --------
    >>> noisy = gaussian_noise(np.full((64, 64), 0.5), sigma=0.1, channel_axis=None)
    >>> round(float(noisy.std()), 1)
    0.1
    """
    sigma = _check_positive("sigma", sigma)
    arr, scale = _as_image(image, channel_axis)
    rng = np.random.default_rng(seed)
    values = arr.astype(_float_type(arr.dtype)) + rng.normal(0.0, sigma * scale, arr.shape)
    return _restore(values, arr, scale, channel_axis)


def salt_and_pepper(image, *, amount: float, seed=0, channel_axis: int | None = -1) -> np.ndarray:
    """Set a fraction of the pixels to black or white (impulse noise).

    Parameters
    ----------
    image : (H, W[, C]) ndarray
        uint8, uint16, or float in [0, 1].
    amount : float
        Probability, in (0, 1], that a pixel is replaced; a replaced pixel is black
        (pepper) or white (salt) with probability 1/2 each, in all its channels.
    seed : int or numpy.random.Generator, optional
        The noise's seed (default 0).
    channel_axis : int or None, optional
        The channel axis; None for a grayscale (H, W) image.

    Returns
    -------
    noisy : ndarray
        ``image``'s shape and dtype.

    Raises
    ------
    ValueError
        If ``amount`` is not in (0, 1], or the image is invalid.

    Notes
    -----
    Whole pixels, as Stutz et al.'s ``applySaltAndPepperNoise``; Barcelos et al. call
    ``skimage.util.random_noise(mode="s&p")``, which replaces channels independently.

    Examples
    --------
    >>> noisy = salt_and_pepper(np.full((2, 3), 0.5), amount=1.0, channel_axis=None)
    >>> bool(np.isin(noisy, [0.0, 1.0]).all())
    True
    """
    amount = _check_positive("amount", amount, upper=1.0)
    arr, scale = _as_image(image, channel_axis)
    rng = np.random.default_rng(seed)
    height, width = arr.shape[:2]
    hit = rng.random((height, width)) < amount
    salt = rng.random((height, width)) < 0.5
    values = arr.astype(_float_type(arr.dtype))
    values[hit & salt] = scale
    values[hit & ~salt] = 0.0
    return _restore(values, arr, scale, channel_axis)


def _blur(arr: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    values = arr.astype(_float_type(arr.dtype))
    # separable; "mirror" is OpenCV's default border (BORDER_REFLECT_101: dcb|abcd|cba)
    for axis in (0, 1):
        values = ndimage.correlate1d(values, kernel, axis=axis, mode="mirror")
    return values


def gaussian_sigma(size: int) -> float:
    """The standard deviation OpenCV gives a Gaussian kernel of ``size`` (sigma <= 0).

    0.3 * ((size - 1) / 2 - 1) + 0.8 (``cv::getGaussianKernel``), the sigma of
    ``cv::GaussianBlur(image, size, 0)``.

    >>> gaussian_sigma(3), round(gaussian_sigma(9), 6)
    (0.8, 1.7)
    """
    return 0.3 * ((_check_size(size) - 1) * 0.5 - 1) + 0.8


def gaussian_blur(
    image, *, size: int, sigma: float | None = None, channel_axis: int | None = -1
) -> np.ndarray:
    """Blur with a ``size`` x ``size`` Gaussian kernel.

    Parameters
    ----------
    image : (H, W[, C]) ndarray
        uint8, uint16, or float in [0, 1].
    size : int
        Odd kernel side in pixels (1 leaves the image as it is).
    sigma : float, optional
        Standard deviation in pixels; default :func:`gaussian_sigma` of ``size``, as
        OpenCV's ``GaussianBlur`` with sigma 0.
    channel_axis : int or None, optional
        The channel axis; None for a grayscale (H, W) image.

    Returns
    -------
    blurred : ndarray
        ``image``'s shape and dtype.

    Raises
    ------
    ValueError
        If ``size`` is not a positive odd integer, ``sigma`` is not above 0, or the
        image is invalid.

    Notes
    -----
    The kernel is exp(-x^2 / (2 sigma^2)) at x = -(size-1)/2 .. (size-1)/2, normalised
    to sum 1, applied along rows then columns; borders are mirrored without repeating
    the edge pixel (OpenCV's default).

    Examples
    --------
    >>> impulse = np.zeros((5, 5)); impulse[2, 2] = 0.8
    >>> sigma = 1 / math.sqrt(2 * math.log(2))  # kernel [0.25, 0.5, 0.25]
    >>> gaussian_blur(impulse, size=3, sigma=sigma, channel_axis=None)[1:4, 1:4].round(6)
    array([[0.05, 0.1 , 0.05],
           [0.1 , 0.2 , 0.1 ],
           [0.05, 0.1 , 0.05]])
    """
    size = _check_size(size)
    sigma = gaussian_sigma(size) if sigma is None else _check_positive("sigma", sigma)
    arr, scale = _as_image(image, channel_axis)
    x = np.arange(size) - (size - 1) / 2
    kernel = np.exp(-(x**2) / (2.0 * sigma**2))
    return _restore(_blur(arr, kernel / kernel.sum()), arr, scale, channel_axis)


def average_blur(image, *, size: int, channel_axis: int | None = -1) -> np.ndarray:
    """Blur with a ``size`` x ``size`` box filter (the mean of the window).

    Parameters
    ----------
    image : (H, W[, C]) ndarray
        uint8, uint16, or float in [0, 1].
    size : int
        Odd window side in pixels (1 leaves the image as it is).
    channel_axis : int or None, optional
        The channel axis; None for a grayscale (H, W) image.

    Returns
    -------
    blurred : ndarray
        ``image``'s shape and dtype.

    Raises
    ------
    ValueError
        If ``size`` is not a positive odd integer, or the image is invalid.

    Notes
    -----
    ``cv::blur`` with OpenCV's default border, as Stutz et al.'s ``applyBlur`` and
    Barcelos et al.'s ``add_noise.py`` call it.

    Examples
    --------
    >>> impulse = np.zeros((3, 3)); impulse[1, 1] = 0.9
    >>> average_blur(impulse, size=3, channel_axis=None).round(6)  # mirrored borders
    array([[0.4, 0.2, 0.4],
           [0.2, 0.1, 0.2],
           [0.4, 0.2, 0.4]])
    """
    size = _check_size(size)
    arr, scale = _as_image(image, channel_axis)
    return _restore(_blur(arr, np.full(size, 1.0 / size)), arr, scale, channel_axis)


# ----------------------------------------------------------------------- geometric


def _warp(arr: np.ndarray, rows: np.ndarray, cols: np.ndarray, order: int):
    """Sample ``arr`` at the source coordinates of every output pixel.

    Returns the sampled array (float for order 1, ``arr``'s dtype for order 0) and the
    valid mask: the output pixels whose source lies inside the frame, i.e. in the
    footprint [-0.5, H - 0.5) x [-0.5, W - 0.5) of its pixels.
    """
    height, width = arr.shape[:2]
    rows = np.round(rows, _COORDINATE_DECIMALS)
    cols = np.round(cols, _COORDINATE_DECIMALS)
    valid = (rows >= -0.5) & (rows < height - 0.5) & (cols >= -0.5) & (cols < width - 0.5)
    if order == 0:
        # nearest source pixel, halves rounded up; void pixels read pixel (0, 0), then 0
        r = np.clip(np.floor(rows + 0.5).astype(np.intp), 0, height - 1)
        c = np.clip(np.floor(cols + 0.5).astype(np.intp), 0, width - 1)
        out = arr[r, c]
    else:
        values = arr.astype(_float_type(arr.dtype))
        coords = np.stack([np.clip(rows, 0, height - 1), np.clip(cols, 0, width - 1)])
        channels = values[..., None] if values.ndim == 2 else values
        out = np.stack(
            [
                ndimage.map_coordinates(channels[..., k], coords, order=1)
                for k in range(channels.shape[-1])
            ],
            axis=-1,
        )
        out = out[..., 0] if values.ndim == 2 else out
    out[~valid] = 0
    return out, valid


def _rotation_sources(shape, angle: float):
    """Source (row, col) of every output pixel: the content turns ``angle`` degrees
    counter-clockwise about the centre ((H - 1) / 2, (W - 1) / 2)."""
    height, width = shape[:2]
    cy, cx = (height - 1) / 2, (width - 1) / 2
    r, c = np.mgrid[0:height, 0:width].astype(np.float64)
    x, y = c - cx, cy - r  # y up
    t = math.radians(angle)
    # inverse map: the source is the output point turned back by -angle
    xs = math.cos(t) * x + math.sin(t) * y
    ys = -math.sin(t) * x + math.cos(t) * y
    return cy - ys, xs + cx


def _shear_sources(shape, factor: float):
    """Source (row, col) of every output pixel: row r moves factor * (r - cy) pixels
    along x (right below the centre row, left above it)."""
    height, width = shape[:2]
    r, c = np.mgrid[0:height, 0:width].astype(np.float64)
    return r, c - factor * (r - (height - 1) / 2)


def _check_order(order) -> int:
    if order not in (0, 1):
        raise ValueError(f"order must be 0 (nearest, for labels) or 1 (bilinear), got {order!r}")
    return int(order)


def _geometric(image, sources, order, channel_axis):
    order = _check_order(order)
    if order == 0:  # labels: any integer 2-D array, values kept as they are
        arr = np.asarray(image)
        if arr.ndim != 2 or not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool):
            raise ValueError(
                f"order=0 is for (H, W) integer label images, got dtype {arr.dtype} and "
                f"shape {arr.shape}"
            )
        return _warp(arr, *sources(arr.shape), order=0)
    arr, scale = _as_image(image, channel_axis)
    out, valid = _warp(arr, *sources(arr.shape), order=1)
    return _restore(out, arr, scale, channel_axis), valid


def rotate(
    image, *, angle: float, order: int = 1, channel_axis: int | None = -1
) -> tuple[np.ndarray, np.ndarray]:
    """Rotate about the image centre, keeping the frame; pixels from outside are void.

    Parameters
    ----------
    image : (H, W[, C]) ndarray
        An image (uint8, uint16 or float in [0, 1]; ``order=1``) or an (H, W) integer
        label image (``order=0``).
    angle : float
        Degrees, counter-clockwise as the image is displayed.
    order : {1, 0}, optional
        1: bilinear (images); 0: nearest neighbour (labels: ids are never mixed).
    channel_axis : int or None, optional
        The channel axis of an image (``order=1``); None for grayscale.

    Returns
    -------
    rotated : ndarray
        ``image``'s shape and dtype; 0 where ``valid`` is False.
    valid : (H, W) ndarray of bool
        True where the pixel's source lies inside the original frame (within half a
        pixel of a pixel centre), False on the void corners.

    Raises
    ------
    ValueError
        If ``angle`` is not finite, ``order`` is not 0 or 1, or the input does not suit
        ``order``.

    Examples
    --------
    >>> labels = np.arange(25).reshape(5, 5)
    >>> rotated, valid = rotate(labels, angle=45, order=0)
    >>> int(rotated[0, 2]), int(rotated[2, 4]), int((~valid).sum())  # 4 void corners
    (8, 18, 4)
    """
    angle = float(angle)
    if not math.isfinite(angle):
        raise ValueError(f"angle must be a finite number of degrees, got {angle}")
    return _geometric(image, lambda shape: _rotation_sources(shape, angle), order, channel_axis)


def shear(
    image, *, factor: float, order: int = 1, channel_axis: int | None = -1
) -> tuple[np.ndarray, np.ndarray]:
    """Shear along x about the centre row, keeping the frame; pixels from outside are void.

    Parameters
    ----------
    image : (H, W[, C]) ndarray
        An image (``order=1``) or an (H, W) integer label image (``order=0``).
    factor : float
        Pixels each row moves per row of distance from the centre row (rows below it
        move right, rows above it left); ``factor * (H - 1) / 2`` is the shift of the
        first and last rows.
    order : {1, 0}, optional
        1: bilinear (images); 0: nearest neighbour (labels).
    channel_axis : int or None, optional
        The channel axis of an image (``order=1``); None for grayscale.

    Returns
    -------
    sheared : ndarray
        ``image``'s shape and dtype; 0 where ``valid`` is False.
    valid : (H, W) ndarray of bool
        True where the pixel's source lies inside the original frame.

    Raises
    ------
    ValueError
        If ``factor`` is not finite, ``order`` is not 0 or 1, or the input does not
        suit ``order``.

    Examples
    --------
    >>> sheared, valid = shear(np.arange(12).reshape(3, 4), factor=1.0, order=0)
    >>> sheared
    array([[ 1,  2,  3,  0],
           [ 4,  5,  6,  7],
           [ 0,  8,  9, 10]])
    >>> valid.astype(int)
    array([[1, 1, 1, 0],
           [1, 1, 1, 1],
           [0, 1, 1, 1]])
    """
    factor = float(factor)
    if not math.isfinite(factor):
        raise ValueError(f"factor must be a finite number, got {factor}")
    return _geometric(image, lambda shape: _shear_sources(shape, factor), order, channel_axis)


# ------------------------------------------------------------------------- dispatch


@dataclass(frozen=True)
class Perturbed:
    """A perturbed image with its ground truths, void mask and parameters.

    Attributes
    ----------
    image : (H, W[, C]) ndarray
        The perturbed image (the input's dtype).
    ground_truths : list of (H, W) ndarray
        The annotations, moved with the image (nearest neighbour) for rotation and
        shear, unchanged otherwise; 0 on void pixels.
    valid : (H, W) ndarray of bool
        False on void pixels (all True for noise and blur): pass it to the metrics.
    parameters : dict
        Everything that determines the result: ``kind``, ``strength``, the parameter
        it sets and the others (seed, sigma, interpolation, fill), for provenance.
    """

    image: np.ndarray
    ground_truths: list[np.ndarray] = field(default_factory=list)
    valid: np.ndarray | None = None
    parameters: dict = field(default_factory=dict)


def perturb(image, ground_truths=(), *, kind: str, strength: float, seed: int = 0) -> Perturbed:
    """Apply one perturbation of :data:`PERTURBATIONS` to an image and its annotations.

    Parameters
    ----------
    image : (H, W, C) ndarray
        The image, channels last (uint8, uint16 or float in [0, 1]).
    ground_truths : sequence of (H, W) ndarray of int, optional
        Its annotations.
    kind : str
        A key of :data:`PERTURBATIONS`.
    strength : float
        The value of the kind's parameter (``sigma``, ``amount``, ``size``, ``angle``
        or ``factor``; see the module's table).
    seed : int, optional
        Seed of the noise kinds (recorded for every kind).

    Returns
    -------
    Perturbed

    Raises
    ------
    ValueError
        If ``kind`` is unknown, ``strength`` is invalid for it, or an input is invalid.

    Examples
    --------
    >>> out = perturb(np.zeros((8, 8, 3), np.uint8), kind="gaussian_blur", strength=3)
    >>> out.parameters
    {'kind': 'gaussian_blur', 'strength': 3, 'size': 3, 'sigma': 0.8, 'seed': 0}
    """
    if kind not in PERTURBATIONS:
        raise ValueError(f"unknown perturbation {kind!r}; use one of {', '.join(PERTURBATIONS)}")
    ground_truths = [np.asarray(gt) for gt in ground_truths]
    parameters = {"kind": kind, "strength": strength, PERTURBATIONS[kind]: strength}
    valid = None
    if kind == "gaussian_noise":
        out = gaussian_noise(image, sigma=strength, seed=seed)
        parameters["sigma_unit"] = "fraction of the intensity range"
    elif kind == "salt_and_pepper":
        out = salt_and_pepper(image, amount=strength, seed=seed)
    elif kind == "gaussian_blur":
        out = gaussian_blur(image, size=strength)
        parameters["sigma"] = round(gaussian_sigma(strength), 12)
    elif kind == "average_blur":
        out = average_blur(image, size=strength)
    else:
        warp = rotate if kind == "rotation" else shear
        argument = {PERTURBATIONS[kind]: strength}
        out, valid = warp(image, **argument)
        ground_truths = [warp(gt, **argument, order=0)[0] for gt in ground_truths]
        parameters[PERTURBATIONS[kind]] = float(strength)
        parameters.update(image_interpolation="bilinear", labels_interpolation="nearest",
                          void_fill=0)  # fmt: skip
    if valid is None:
        valid = np.ones(np.shape(out)[:2], dtype=bool)
    parameters["seed"] = seed
    return Perturbed(out, ground_truths, valid, parameters)
