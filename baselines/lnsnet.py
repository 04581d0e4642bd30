"""LNSNet superpixels (Zhu et al., CVPR 2021) with the authors' released weights.

A non-iterative clustering network: 20-d features per pixel, one seed per cell of a
grid, each pixel joined to the seed nearest in feature space, then connectivity
enforced. The network is :class:`baselines.lnsnet_model.LNSNet`; this module is the
numpy side: the input (Lab and positions), the orientation, the weights and the
post-processing.

The weights: the authors' BSDS500 checkpoint ``lnsnet_BSDS_checkpoint.pth``
(repository ``zh460045050/LNSNet``). That repository has **no licence**: the file is
never redistributed with this project; a user fetches it from the authors' repository.

The authors' demo is ``assignment="dense", centres="official",
connectivity="official"``; the defaults differ in the post-processing only. Choices,
each a parameter:

- ``assignment``: ``"dense"`` compares each pixel with every seed, as the authors do
  (at matrix-product speed, exactly: :func:`baselines.lnsnet_model.assign_dense`);
  ``"local"`` only with the seeds in the 3×3 cells around its own, a cost that grows
  with N instead of N·K. The learnt features let a pixel join a distant seed: on the
  BSDS500 test images local gives the same arg-max to 96 % of the pixels at K = 100
  and 85 % at K = 1200 (3×3 cells; 5×5: 99.6 % and 96 %)
  (``results/training/lnsnet_reproduction.md``), so dense is the default.
- ``connectivity``: ``"official"`` is scikit-image SLIC's post-processing, the one the
  authors use (:func:`ssn.connectivity.enforce_connectivity`, mode ``"official"``). It
  keeps every stray piece above 6 % of a cell as a superpixel of its own: at K = 100 the
  BSDS500 test images get 180 superpixels on average, far from the ±15 % the baselines
  keep. The default ``"largest"`` keeps each label's largest piece and merges the rest
  (115 at K = 100, at most the 117 cells of the grid), as ``ssn.segment`` does;
  ``"none"`` returns the raw arg-max.
- ``centres``: ``"official"`` places a cell's unshifted seed as the authors' code does
  (half an image width off for cells of even height, see
  :func:`baselines.lnsnet_model.grid_centres`); ``"centred"`` at the cell's centre.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ssn.validation import as_rgb_float, check_n_segments

from ._common import relabel_consecutive, rgb_to_lab

__all__ = ["ASSIGNMENTS", "CONNECTIVITY", "lnsnet", "load_lnsnet"]

ASSIGNMENTS = ("dense", "local")
CONNECTIVITY = ("largest", "official", "none")


@functools.lru_cache(maxsize=8)
def _load_file(path: str, mtime_ns: int, device: str, radius, centres: str):
    import pickle

    import torch

    try:
        state = torch.load(path, weights_only=True, map_location="cpu")
    except (pickle.UnpicklingError, RuntimeError, EOFError) as err:
        # weights_only refuses anything but tensors and plain containers
        raise ValueError(
            f"{path} is not a plain state dict (refused by torch.load with "
            f"weights_only=True): {err}"
        ) from err
    return _from_state_dict(state, device, radius, centres, path)


def _from_state_dict(state, device, radius, centres, source="the state dict"):
    from .lnsnet_model import LNSNet

    if not isinstance(state, Mapping):
        raise ValueError(f"an LNSNet checkpoint holds a state dict, got {type(state).__name__}")
    net = LNSNet(radius=radius, centres=centres)
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as err:  # missing, unexpected or misshapen entries
        raise ValueError(f"{source} is not an LNSNet checkpoint: {err}") from err
    return net.to(device).eval().requires_grad_(False)


def load_lnsnet(model="bsds500", *, device=None, assignment="dense", centres="official"):
    """The LNSNet network, its weights loaded, in eval mode on ``device``.

    Parameters
    ----------
    model : "bsds500", path-like or mapping
        The released BSDS500 weights (``lnsnet-bsds500``, found and sha256-checked by
        :func:`ssn.official.locate`), a checkpoint file
        (a state dict, loaded with ``weights_only=True``) or a state dict.
    device : str, torch.device or None
        ``None``: CUDA when available, else the CPU.
    assignment : {"dense", "local"}
        The pixel-to-seed assignment (see the module notes).
    centres : {"official", "centred"}
        The unshifted seed of a cell (see the module notes).

    Returns
    -------
    LNSNet
        Loaded files are cached (by path, modification time and device).

    Raises
    ------
    FileNotFoundError
        If the checkpoint file is missing.
    ValueError
        For an unknown ``assignment``, ``centres`` or ``device``, or a checkpoint that
        is not LNSNet's state dict.
    """
    from ssn.devices import resolve_device

    if assignment not in ASSIGNMENTS:
        raise ValueError(f"assignment must be one of {ASSIGNMENTS}, got {assignment!r}")
    radius = 1 if assignment == "local" else None
    device = str(resolve_device(device))
    if isinstance(model, Mapping):
        return _from_state_dict(model, device, radius, centres)
    if isinstance(model, str) and model == "bsds500":
        from ssn import official

        path = official.locate("lnsnet-bsds500")
    elif isinstance(model, (str, os.PathLike)):
        path = Path(model)
        if not path.is_file():
            raise FileNotFoundError(f"model={str(model)!r}: no such LNSNet checkpoint file")
    else:
        raise ValueError(
            f"model must be 'bsds500', a checkpoint path or a state dict, got {model!r}"
        )
    return _load_file(str(path.resolve()), path.stat().st_mtime_ns, device, radius, centres)


def _network_input(rgb: np.ndarray, device, dtype):
    """``(1, 5, h, w)`` input of a landscape ``(h, w, 3)`` RGB image."""
    import torch

    from .lnsnet_model import lnsnet_input

    lab = torch.from_numpy(rgb_to_lab(rgb)).permute(2, 0, 1).unsqueeze(0)
    # standardised in float64 on the CPU (as the authors' float32 steps, less rounding)
    return lnsnet_input(lab).to(device=device, dtype=dtype)


def segment_rgb(rgb: np.ndarray, n_segments: int, net, *, connectivity="largest") -> np.ndarray:
    """LNSNet labels of a validated ``(H, W, 3)`` RGB image in [0, 1] (``H, W >= 2``).

    A portrait image is transposed first and its labels transposed back, as the
    authors do (the cell formula assumes ``H <= W``). Returns the labels after
    connectivity enforcement, not renumbered.
    """
    import torch

    from ssn.connectivity import enforce_connectivity

    if connectivity not in CONNECTIVITY:
        raise ValueError(f"connectivity must be one of {CONNECTIVITY}, got {connectivity!r}")
    height, width = rgb.shape[:2]
    if min(height, width) < 2:
        raise ValueError(
            f"lnsnet needs an image at least 2 pixels high and wide (its first layers "
            f"reflect one pixel at the borders), got {height}x{width}"
        )
    portrait = height > width
    if portrait:
        rgb = rgb.transpose(1, 0, 2)
    weight = next(net.parameters())
    with torch.inference_mode():
        x = _network_input(rgb, weight.device, weight.dtype)
        labels = net(x, n_segments)[0][0].cpu().numpy()
    if connectivity != "none":
        labels = enforce_connectivity(labels, n_segments, mode=connectivity)
    return labels.T if portrait else labels


def lnsnet(
    image,
    n_segments: int,
    *,
    channel_axis: int | None = -1,
    model="bsds500",
    device=None,
    assignment: str = "dense",
    connectivity: str = "largest",
    centres: str = "official",
) -> np.ndarray:
    """Segment ``image`` into about ``n_segments`` superpixels with LNSNet.

    Parameters
    ----------
    image : (H, W[, C]) array_like
        Grayscale, RGB or RGBA image; integer or float in [0, 1] (validated as by
        :func:`ssn.validation.as_rgb_float`); at least 2 × 2.
    n_segments : int
        Requested count, in ``[1, H*W]``. It sets the seed grid (the authors'
        formula: 13 × 9 = 117 cells for 100 on a 481 × 321 image); connectivity
        enforcement then changes the count.
    channel_axis : int or None
        Axis of the colour channels (``None`` for a grayscale image).
    model : "bsds500", path-like or mapping
        The weights (see :func:`load_lnsnet`).
    device : str, torch.device or None
        Where the network runs (default: CUDA when available, else the CPU).
    assignment : {"dense", "local"}
        Pixels compared with every seed (the authors' way), or only with the seeds of
        the 3×3 cells around their own (faster for large K; a different arg-max on 4-15 %
        of the pixels of real images).
    connectivity : {"largest", "official", "none"}
        The post-processing (see :func:`ssn.connectivity.enforce_connectivity`):
        ``"official"`` is the authors' (scikit-image SLIC's, which realises ~1.8 K
        superpixels at K = 100), ``"largest"`` keeps the count at most the grid's.
    centres : {"official", "centred"}
        Where a cell's seed lies before its learnt shift (see
        :func:`baselines.lnsnet_model.grid_centres`).

    Returns
    -------
    labels : (H, W) ndarray of int32
        Labels ``0..n-1`` in raster order of first appearance.

    Raises
    ------
    ValueError
        For an invalid image, count or option, an image thinner than 2 pixels, or a
        checkpoint that is not LNSNet's.
    TypeError
        For a non-numeric image.
    FileNotFoundError
        If the checkpoint is missing (see :func:`ssn.official.locate`).

    References
    ----------
    .. [1] L. Zhu, Q. She, B. Zhang, Y. Lu, Z. Lu, D. Li, J. Hu. Learning the
       superpixel in a non-iterative and lifelong manner. CVPR 2021.
       arXiv:2103.10681

    Examples
    --------
    >>> labels = lnsnet(np.zeros((32, 48, 3)), 6)  # doctest: +SKIP
    >>> labels.shape  # doctest: +SKIP
    (32, 48)
    """
    rgb = as_rgb_float(image, channel_axis=channel_axis)
    n = check_n_segments(n_segments, *rgb.shape[:2])
    net = load_lnsnet(model, device=device, assignment=assignment, centres=centres)
    if n == 1:
        return np.zeros(rgb.shape[:2], np.int32)
    labels = segment_rgb(rgb, n, net, connectivity=connectivity)
    return relabel_consecutive(labels.astype(np.int64, copy=False))[0]
