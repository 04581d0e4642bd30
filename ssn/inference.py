"""Inference: ``ssn.segment`` (superpixels of a numpy image with an SSN model), the
models it runs (names, checkpoints, the paper's released models; loaded once and
kept). Devices follow :func:`ssn.devices.resolve_device`."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch

from ssn import connectivity, official
from ssn._kernels import rgb_to_lab_features, slic_labels
from ssn.checkpoint import load_model, pretrained_path
from ssn.devices import AUTOCAST_DTYPES, resolve_device, resolve_precision
from ssn.functional import grid_shape, position_scale
from ssn.memory import check_memory
from ssn.models import SSN, SSNConfig
from ssn.validation import as_rgb_float, check_int, check_n_segments

__all__ = ["network_precision", "resolve_model", "segment"]


def resolve_model(model, device=None) -> SSN:
    """An :class:`~ssn.models.SSN` in eval mode from a name, a checkpoint path or a module.

    ``"pix"`` needs no weights; ``"linear"`` and ``"deep"`` load the bundled BSDS500
    weights; ``"official-bsds500"``, ``"official-cityscapes"``, ``"official-voc2012"``
    and ``"official-sintel"`` the paper's released models (see :mod:`ssn.official`);
    anything else is read as a checkpoint path.

    A model loaded from a file is kept (the last 8, per file version and device), so
    segmenting many images with ``model="deep"`` reads the checkpoint once, and it is
    prepared for inference (:meth:`ssn.models.SSN.fold_for_inference`: BatchNorm folded
    into the convolutions, channels-last). The kept model is shared and for inference
    only (``ssn.checkpoint.load_model`` gives a private, trainable copy).

    Raises
    ------
    FileNotFoundError
        If the checkpoint (or the bundled weights) is missing, or a released model is
        neither cached nor under ``$SSN_WEIGHTS`` (the message says how to fetch it).
    ValueError
        If the checkpoint is corrupt or not an SSN checkpoint.
    """
    device = resolve_device(device)
    if isinstance(model, SSN):
        return model.to(device).eval()
    if model == "pix":
        return SSN(SSNConfig(feature_net="pix")).to(device).eval()
    if official.is_official(model):
        return _kept_model(model, None, str(device))
    if model in ("linear", "deep"):
        path = pretrained_path(model)
        if not path.is_file():
            raise FileNotFoundError(
                f"no bundled weights for model={model!r} at {path}; train them with "
                "`ssn train` or pass a checkpoint path as model="
            )
    elif isinstance(model, (str, Path)):
        path = Path(model)
        if not path.is_file():
            load_model(path, device)  # raises the checkpoint reader's error
    else:
        raise ValueError(
            "model must be 'pix', 'linear', 'deep', an official-* name, a checkpoint path or "
            f"an SSN, got {model!r}"
        )
    stat = path.stat()
    version = (stat.st_mtime_ns, stat.st_size, stat.st_ino)  # a rewrite changes one
    return _kept_model(str(path.resolve()), version, str(device))


@functools.lru_cache(maxsize=8)
def _kept_model(source: str, version, device: str) -> SSN:
    """The model of an official name or a checkpoint file (``version`` tells its edits)."""
    if official.is_official(source):
        return official.load(source, device).fold_for_inference()
    return load_model(source, device).fold_for_inference()


def network_precision(net: SSN, precision, device) -> str:
    """The precision ``net``'s feature network runs in under ``precision`` on ``device``
    (:func:`ssn.devices.resolve_precision`): ``"float32"`` or ``"bfloat16"``; always
    ``"float32"`` for SSN_pix, which has no network (the name is checked all the same).
    """
    resolved = resolve_precision(precision, device)
    return "float32" if net.config.feature_net == "pix" else resolved


def segment(
    image,
    n_segments: int = 100,
    *,
    model="pix",
    n_iter: int = 10,
    enforce_connectivity: bool | str = True,
    channel_axis: int | None = -1,
    device=None,
    next_frame=None,
    precision: str = "auto",
) -> np.ndarray:
    """Segment an image into superpixels with a Superpixel Sampling Network.

    Parameters
    ----------
    image : (H, W[, C]) array_like
        RGB, RGBA or grayscale image; integer images are scaled by their dtype's
        maximum, float images must lie in [0, 1].
    n_segments : int, optional
        Requested number of superpixels. The initial grid is
        ``floor(sqrt(K·W/H)) × floor(sqrt(K·H/W))`` (see
        :func:`ssn.functional.grid_shape`), and connectivity enforcement may add or
        remove a few, so ``labels.max() + 1`` is the realised count.
    model : str, path or SSN, optional
        The feature network: ``'pix'`` (XYLab, no learning); ``'linear'`` / ``'deep'``,
        the bundled CPU-trained BSDS500 weights; ``'official-bsds500'``,
        ``'official-cityscapes'``, ``'official-voc2012'`` or ``'official-sintel'``, the
        paper's released SSN_deep models (fetched with ``ssn models fetch``, or read
        from ``$SSN_WEIGHTS``; CC BY-NC-SA 4.0, see :mod:`ssn.official`); a checkpoint
        file (loaded with ``weights_only=True``) or a model instance.
    n_iter : int, optional
        Differentiable-SLIC iterations (10 at test time in the paper).
    enforce_connectivity : bool or {'largest', 'official'}, optional
        Make every label one 4-connected region. ``True`` (= ``'largest'``) keeps the
        largest piece of each superpixel and merges every other piece into a
        neighbour, so the count stays at most the grid count; ``'official'`` is the
        official SSN/scikit-image post-processing, which merges only pieces smaller
        than ``0.06·H·W/n`` and turns larger stray pieces into extra superpixels
        (~40% more than requested on BSDS500). See :mod:`ssn.connectivity`.
    channel_axis : int or None, optional
        Axis of the colour channels; ``None`` for a grayscale image.
    device : str or torch.device, optional
        Where to run; CUDA when available by default.
    next_frame : (H, W[, C]) array_like, optional
        The following video frame, for a flow model (one trained on Sintel, whose input
        is a frame pair: ``model.config.frame_pair`` set); same format as ``image``.
        Required by such a model and refused by any other.
    precision : {'auto', 'float32', 'bfloat16'}, optional
        What the feature network computes in (see :func:`network_precision`).
        ``'auto'``: bfloat16 on a CPU or GPU that computes it natively (AVX512-BF16 or
        AMX; compute capability 8.0 and later), float32 elsewhere. ``'bfloat16'``
        anywhere (emulated, slower, on a CPU without it). The features are cast back to
        float32: SLIC and everything after it run in float32. bf16 moves a third of the
        labels yet keeps ASA and boundary recall (``tests/test_precision.py``).

    Returns
    -------
    labels : (H, W) ndarray of int32
        Superpixel labels ``0..n-1``.

    Raises
    ------
    ValueError
        For a malformed image (see :func:`ssn.validation.as_rgb_float`), ``n_segments``
        outside ``[1, H·W]``, ``n_iter < 1``, an unusable model, a ``next_frame``
        missing for a flow model, given to another model or of another size, or an
        unknown ``precision`` (bfloat16 on a GPU without it).
    ssn.memory.MemoryLimitError
        On the CPU, for an image whose estimated peak memory exceeds the limit
        (``$SSN_MAX_MEMORY``, else the memory available; see :mod:`ssn.memory`).
    FileNotFoundError
        If the model's checkpoint does not exist.

    References
    ----------
    .. [1] V. Jampani, D. Sun, M.-Y. Liu, M.-H. Yang, J. Kautz. Superpixel Sampling
       Networks. ECCV 2018. :DOI:`10.1007/978-3-030-01234-2_22`

    Examples
    --------
    >>> from skimage import data
    >>> labels = segment(data.astronaut()[::4, ::4], n_segments=64, device="cpu")
    >>> labels.shape, labels.dtype
    ((128, 128), dtype('int32'))
    """
    rgb = as_rgb_float(image, channel_axis=channel_axis)
    height, width = rgb.shape[:2]
    n_segments = check_n_segments(n_segments, height, width)
    if enforce_connectivity is True:
        enforce_connectivity = "largest"
    if enforce_connectivity not in (False, "largest", "official"):
        raise ValueError(
            "enforce_connectivity must be True, False, 'largest' or 'official', "
            f"got {enforce_connectivity!r}"
        )
    n_iter = check_int("n_iter", n_iter, 1)
    device = resolve_device(device)
    net = resolve_model(model, device)
    dtype = AUTOCAST_DTYPES[network_precision(net, precision, device)]
    if device.type == "cpu":  # refused before minutes of work end in a MemoryError
        check_memory(height, width, net.config.feature_net)
    frame2 = _next_frame_tensor(net, next_frame, channel_axis)
    grid = grid_shape(n_segments, height, width)
    with torch.inference_mode():
        if device.type == "cpu":
            labels = _labels_cpu(net, rgb, grid, n_iter, frame2, dtype)
        else:
            tensor = _as_tensor(rgb).to(device)
            if frame2 is not None:
                frame2 = frame2.to(device)
            out = net(tensor, n_segments, n_iter=n_iter, next_frame=frame2, autocast_dtype=dtype)
            labels = out.labels[0].cpu().numpy()
    if enforce_connectivity:
        return connectivity.enforce_connectivity(
            labels, grid[0] * grid[1], mode=enforce_connectivity
        )
    return labels.astype(np.int32)


def _as_tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(rgb).permute(2, 0, 1).unsqueeze(0)


def _next_frame_tensor(net: SSN, next_frame, channel_axis) -> torch.Tensor | None:
    """The next frame as a tensor for a flow model; None for an image model."""
    net.check_next_frame(next_frame is not None)  # the pix kernel does not reach the model's
    if next_frame is None:
        return None
    return _as_tensor(as_rgb_float(next_frame, channel_axis=channel_axis))


def _labels_cpu(
    net: SSN, rgb: np.ndarray, grid: tuple[int, int], n_iter: int, next_frame=None,
    autocast_dtype: torch.dtype | None = None,
) -> np.ndarray:  # fmt: skip
    """Hard SLIC labels with the fused CPU kernel (same function as the torch path); the
    feature network under autocast to ``autocast_dtype`` when given, its features cast
    back to float32 for the kernel."""
    height, width = rgb.shape[:2]
    config = net.config
    if config.feature_net == "pix":
        scale = position_scale(grid, height, width, config.eta)
        features = rgb_to_lab_features(rgb, scale, config.color_scale)
    else:
        x = net.input_features(_as_tensor(rgb), grid, next_frame)
        with torch.autocast("cpu", dtype=autocast_dtype, enabled=autocast_dtype is not None):
            features = net.feature_net(x)
        features = features[0].float().contiguous().numpy()
    return slic_labels(features, grid, n_iter)[0]
