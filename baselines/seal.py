"""SEAL: superpixels from learned pixel affinities (Tu et al., CVPR 2018) with ERS.

A small CNN predicts, for every pixel, the affinity to its right neighbour; run on the
transposed image it gives the affinity to the neighbour below. Those affinities, in
(0, 1), are the edge weights of the pixel graph on which ERS (:mod:`baselines.ers`)
grows the superpixels: no colour distance, no Gaussian kernel.

Written from the paper and the facts of the authors' released models (their code,
CC BY-NC-ND, is not used): the input is the image as BGR in [0, 1] with a fourth channel
``1 - Canny(image, 50, 100) / 255`` (OpenCV on the 8-bit BGR image); the net is a
horizontal 1x7 convolution, three residual blocks of 3x3 convolutions and two 1x1
heads, every normalisation an InstanceNorm that in eval mode applies its stored running
statistics; ERS runs on the 8-connected graph with balancing weight λ = 0.5 (× K).

The weights are the authors' (``seal-bsds500``, ``seal-cityscapes``: CC BY-NC-SA 4.0,
NVIDIA), fetched with ``ssn models fetch`` or read from ``$SSN_WEIGHTS``; see
:mod:`ssn.official`.
"""

from __future__ import annotations

import functools
import pickle
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "MODELS",
    "AffinityCache",
    "SEALNet",
    "load_seal_net",
    "pixel_affinities",
    "seal_affinities",
    "seal_input",
    "seal_labels",
]

#: ``model=`` names and the released models they stand for (ssn.official)
MODELS = {"bsds500": "seal-bsds500", "cityscapes": "seal-cityscapes"}

#: ERS's balancing weight λ of the authors' runs (scaled by K inside ERS)
LAMBDA = 0.5


class _RunningInstanceNorm(nn.InstanceNorm2d):
    """``InstanceNorm2d(affine=False, track_running_stats=True)`` without the batch counter.

    The released state dicts predate ``num_batches_tracked`` (PyTorch 0.4): leaving the
    counter out keeps this module's state dict key for key theirs. Instance norm with a
    fixed momentum never reads the counter. In eval mode the layer is the fixed map
    ``(x - running_mean) / sqrt(running_var + eps)`` per channel.
    """

    def __init__(self, channels: int):
        super().__init__(channels, affine=False, track_running_stats=True)
        self.register_buffer("num_batches_tracked", None)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # _NormBase's override would add the missing counter to an old state dict; there
        # is none here to receive it
        nn.Module._load_from_state_dict(self, state_dict, prefix, *args, **kwargs)


class _ResidualBlock(nn.Module):
    """Two replication-padded 3x3 convolutions with instance norm, plus the input."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3)
        self.in1 = _RunningInstanceNorm(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3)
        self.in2 = _RunningInstanceNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.in1(self.conv1(F.pad(x, (1, 1, 1, 1), mode="replicate"))))
        out = self.in2(self.conv2(F.pad(out, (1, 1, 1, 1), mode="replicate")))
        return F.relu(out + x)


class SEALNet(nn.Module):
    """SEAL's pixel-affinity network: the affinity of each pixel to its right neighbour.

    Its state dict has exactly the keys (and shapes) of the authors' released ``.pkl``
    files, so ``load_state_dict(state, strict=True)`` takes them as they are.

    Parameters
    ----------
    channels : int, optional
        Width of the trunk (128 in the released models).
    kernel_width : int, optional
        Width of the first, horizontal convolution (7 in the released models).

    Shape:
        - Input: ``(B, 4, H, W)``: BGR in [0, 1] and ``1 - Canny / 255`` (see
          :func:`seal_input`).
        - Output: ``(B, 1, H, W)``: affinity of pixel (y, x) to (y, x+1), in (0, 1).

    Examples
    --------
    >>> net = SEALNet().eval()
    >>> net(torch.rand(1, 4, 10, 12)).shape
    torch.Size([1, 1, 10, 12])
    """

    def __init__(self, channels: int = 128, kernel_width: int = 7):
        super().__init__()
        self.channels, self.kernel_width = channels, kernel_width
        self.conv1 = nn.Conv2d(3, channels, (1, kernel_width))
        self.in1 = _RunningInstanceNorm(channels)
        self.res2 = _ResidualBlock(channels)
        self.res3 = _ResidualBlock(channels)
        self.res4 = _ResidualBlock(channels)
        self.conv5 = nn.Conv2d(channels, 1, 1)
        self.in5 = _RunningInstanceNorm(1)
        # the second head mixes the image affinity with the Canny channel
        self.conv6 = nn.Conv2d(2, 8, 1)
        self.in6 = _RunningInstanceNorm(8)
        self.conv7 = nn.Conv2d(8, 1, 1)
        self.in7 = _RunningInstanceNorm(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = self.kernel_width // 2  # horizontal only: the kernel is 1 x kernel_width
        out = F.relu(self.in1(self.conv1(F.pad(x[:, :3], (pad, pad, 0, 0), mode="replicate"))))
        out = self.res4(self.res3(self.res2(out)))
        out = torch.sigmoid(self.in5(self.conv5(out)))
        out = F.relu(self.in6(self.conv6(torch.cat((out, x[:, 3:4]), 1))))
        return torch.sigmoid(self.in7(self.conv7(out)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(channels={self.channels}, kernel_width={self.kernel_width})"


def pixel_affinities(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Horizontal and vertical affinities of every pixel: the net on ``x`` and on ``x``
    transposed (rows and columns swapped), transposed back.

    Parameters
    ----------
    net : nn.Module
        A :class:`SEALNet` (in eval mode) on ``x``'s device, in ``x``'s dtype.
    x : (B, 4, H, W) torch.Tensor
        The network's input (:func:`seal_input`).

    Returns
    -------
    affinities : (B, 2, H, W) torch.Tensor
        Channel 0: affinity of (y, x) to (y, x+1); channel 1: of (y, x) to (y+1, x). The
        last column of channel 0 and the last row of channel 1 link to no pixel.
    """
    horizontal = net(x)
    vertical = net(x.transpose(-1, -2)).transpose(-1, -2)
    return torch.cat((horizontal, vertical), 1)


def seal_input(bgr: np.ndarray) -> np.ndarray:
    """The network's input of an 8-bit BGR image (OpenCV's ``imread`` order).

    Parameters
    ----------
    bgr : (H, W, 3) ndarray of uint8
        The image, channels in B, G, R order.

    Returns
    -------
    x : (4, H, W) ndarray of float32
        B, G, R in [0, 1], then ``1 - Canny(bgr, 50, 100) / 255`` (1 away from edges,
        0 on them).
    """
    import cv2

    bgr = np.ascontiguousarray(bgr)
    if bgr.dtype != np.uint8 or bgr.ndim != 3 or bgr.shape[2] != 3:
        raise ValueError(f"bgr must be an (H, W, 3) uint8 image, got {bgr.dtype} {bgr.shape}")
    edges = cv2.Canny(bgr, 50, 100)
    colour = bgr.transpose(2, 0, 1).astype(np.float32) / np.float32(255)
    canny = 1 - edges.astype(np.float32) / np.float32(255)
    return np.concatenate((colour, canny[None]), 0)


def load_seal_net(model="bsds500", device=None) -> SEALNet:
    """A :class:`SEALNet` with released or saved weights, in eval mode, on ``device``.

    Parameters
    ----------
    model : str or path-like, optional
        ``"bsds500"`` or ``"cityscapes"``: the authors' released weights
        (``seal-bsds500`` / ``seal-cityscapes``, found and sha256-checked by
        :func:`ssn.official.get_state_dict`); otherwise the path of a state dict of the
        same network, loaded with ``weights_only=True``.
    device : str or torch.device, optional
        As :func:`ssn.devices.resolve_device` (default: the best available).

    Raises
    ------
    ValueError
        If ``model`` is neither a name nor a path, or the file is not a SEAL state dict
        (also one that ``torch.load(..., weights_only=True)`` refuses).
    FileNotFoundError
        If the released model is not available offline (the message says how to fetch
        it), or the file does not exist.
    ssn.data.checksum.ChecksumError
        If the released model's file differs from its pinned digest.
    """
    from ssn import official
    from ssn.devices import resolve_device

    device = resolve_device(device)
    if isinstance(model, str) and model in MODELS:
        state = official.get_state_dict(MODELS[model])
    elif isinstance(model, (str, Path)):
        path = Path(model)
        if not path.is_file():
            raise FileNotFoundError(
                f"SEAL model {str(model)!r} is neither {' nor '.join(map(repr, MODELS))} nor "
                "an existing state-dict file"
            )
        try:  # tensors and plain containers only: a file never runs code here
            state = torch.load(path, weights_only=True, map_location="cpu")
        except (pickle.UnpicklingError, RuntimeError, EOFError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ValueError(f"{path} is not a SEAL state dict: {first}") from None
    else:
        raise ValueError(
            f"model must be {', '.join(map(repr, MODELS))} or the path of a SEAL state dict, "
            f"got {model!r}"
        )
    net = SEALNet()
    _check_state(state, net.state_dict(), model)
    net.load_state_dict(state, strict=True)
    return net.eval().to(device)


def _check_state(state, expected: dict, source) -> None:
    """One line naming what differs when ``state`` is not ``expected``'s state dict.

    Raises
    ------
    ValueError
        If keys are missing or unexpected, or a tensor's shape differs.
    """

    def listed(keys):
        return ", ".join(keys[:2]) + (", ..." if len(keys) > 2 else "")

    if not isinstance(state, dict):
        raise ValueError(f"{source} is not a SEAL state dict: it holds a {type(state).__name__}")
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [
        k
        for k in expected
        if k in state and tuple(getattr(state[k], "shape", ())) != tuple(expected[k].shape)
    ]
    problems = [
        f"{len(missing)} keys missing ({listed(missing)})" if missing else "",
        f"{len(unexpected)} unexpected ({listed(unexpected)})" if unexpected else "",
        f"{len(shapes)} of another shape ({listed(shapes)})" if shapes else "",
    ]
    if missing or unexpected or shapes:
        raise ValueError(
            f"{source} is not a SEAL state dict: {', '.join(p for p in problems if p)}"
        )


def seal_affinities(rgb: np.ndarray, net: nn.Module) -> np.ndarray:
    """SEAL's horizontal and vertical affinities of an RGB image.

    Parameters
    ----------
    rgb : (H, W, 3) ndarray
        RGB in [0, 1] (as :func:`ssn.validation.as_rgb_float` gives it); quantised to
        8 bits, as the authors read images, and turned to BGR for the network.
    net : nn.Module
        A :class:`SEALNet` in eval mode (:func:`load_seal_net`); it runs on its device.

    Returns
    -------
    affinities : (2, H, W) ndarray of float32
        As :func:`pixel_affinities`, for the one image.
    """
    from ._common import to_uint8

    x = seal_input(to_uint8(rgb)[..., ::-1])
    parameter = next(net.parameters())
    tensor = torch.from_numpy(x)[None].to(parameter.device, parameter.dtype)
    with torch.inference_mode():
        return pixel_affinities(net, tensor)[0].float().cpu().numpy()


def seal_labels(
    affinities: np.ndarray, n_segments: int, *, lam: float = LAMBDA, connectivity: int = 8
) -> np.ndarray:
    """Superpixels of SEAL's affinities: ERS on the graph they weigh.

    Parameters
    ----------
    affinities : (2, H, W) ndarray
        Horizontal and vertical affinities (:func:`seal_affinities`).
    n_segments : int
        Number of superpixels requested.
    lam : float, optional
        ERS's balancing weight, scaled by ``n_segments`` (0.5, as the authors ran it).
    connectivity : {4, 8}, optional
        The graph: 8 (the authors'), diagonal edges weighted by
        :func:`baselines.ers.affinity_diagonals`, or 4.

    Returns
    -------
    labels : (H, W) ndarray of int32
        Consecutive labels, each superpixel 4-connected (see :func:`baselines.ers.ers_weighted`).
    """
    from .ers import ers_weighted

    a_x, a_y = np.asarray(affinities, dtype=np.float64)
    return ers_weighted(a_x[:, :-1], a_y[:-1, :], n_segments, lam=lam, connectivity=connectivity)


class AffinityCache:
    """SEAL's affinities kept on disk, so that one image segmented at several K (the
    workflow's jobs, one per K) runs the network once.

    A file is named by a digest of the network's weights and of the image's bytes, so a
    folder may be shared by models, processes and jobs: a different image or model never
    reads another's affinities. Files are written whole (a temporary file, then a rename),
    so concurrent jobs at most compute the same affinities twice.

    Parameters
    ----------
    folder : path-like
        Created when missing.
    net : nn.Module
        The network whose affinities are kept (its weights are digested once, here).
    """

    def __init__(self, folder, net: nn.Module):
        import hashlib

        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.blake2b(digest_size=16)
        for name, tensor in net.state_dict().items():
            digest.update(name.encode())
            digest.update(tensor.detach().to("cpu", torch.float64).contiguous().numpy().tobytes())
        # a float64 net computes other affinities than its float32 copy
        digest.update(str(next(net.parameters()).dtype).encode())
        self._weights = digest.digest()

    def path(self, rgb: np.ndarray) -> Path:
        """The file of ``rgb``'s affinities (which may not exist yet)."""
        import hashlib

        rgb = np.ascontiguousarray(rgb)
        digest = hashlib.blake2b(self._weights, digest_size=20)
        digest.update(f"{rgb.shape}{rgb.dtype}".encode())
        digest.update(rgb.data)
        return self.folder / f"{digest.hexdigest()}.npy"

    def get(self, rgb: np.ndarray, compute) -> np.ndarray:
        """The affinities of ``rgb``: read back, or ``compute(rgb)`` and stored."""
        import os
        import tempfile

        path = self.path(rgb)
        try:
            return np.load(path, allow_pickle=False)
        except (FileNotFoundError, ValueError, EOFError):  # absent, or cut short by a crash
            pass
        value = compute(rgb)
        handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".npy.tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                np.save(file, value, allow_pickle=False)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return value


@functools.lru_cache(maxsize=4)
def _kept(model, version, device: str) -> SEALNet:
    """The network of ``model`` on ``device``, loaded once for the segmenters built from
    it (``version`` tells a file's edits apart)."""
    return load_seal_net(model, device)


def seal_segmenter(*, model="bsds500", device=None, affinity_cache=None):
    """``run(rgb, n_segments)`` of SEAL with the network loaded once (see
    :func:`load_seal_net` for ``model`` and ``device``); ``rgb`` and ``n_segments`` come
    validated (``baselines._run``).

    ``affinity_cache``: None (the default) runs the network on every call, which is what
    a timing must measure; a folder keeps each image's affinities there
    (:class:`AffinityCache`), so that the same image at another K, in this process or
    another, only runs ERS.
    """
    from ssn.devices import resolve_device

    device = str(resolve_device(device))
    if isinstance(model, (str, Path)) and model not in MODELS and Path(model).is_file():
        stat = Path(model).stat()
        model, version = str(Path(model).resolve()), (stat.st_mtime_ns, stat.st_size, stat.st_ino)
    else:
        version = None
    try:
        net = _kept(model, version, device)
    except TypeError:  # unhashable (a list): load_seal_net says what is wrong with it
        net = load_seal_net(model, device)
    cache = None if affinity_cache is None else AffinityCache(affinity_cache, net)

    def run(rgb, n_segments):
        if cache is None:
            affinities = seal_affinities(rgb, net)
        else:
            affinities = cache.get(rgb, lambda image: seal_affinities(image, net))
        return seal_labels(affinities, n_segments)

    return run
