"""SSN feature networks and the end-to-end superpixel sampling network.

``SSN_pix`` uses the scaled XYLab features directly, ``SSN_linear`` adds features from
one convolution, ``SSN_deep`` from the paper's 7-layer CNN. All feature networks map the
input features ``(B, c_in, H, W)`` to ``(B, k, H, W)`` as ``concat(input, net(input))``,
so the clustering always sees the XYLab channels.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ssn.color import rgb_to_lab
from ssn.functional import SlicResult, differentiable_slic, grid_shape, xylab_features

__all__ = [
    "SSN",
    "SSNConfig",
    "SSNDeep",
    "SSNLinear",
    "SSNPix",
    "build_feature_net",
    "caffe_interp_crop",
]

FEATURE_NETS = ("pix", "linear", "deep")
UPSAMPLE_MODES = ("resize", "caffe")
# Input channels of each frame-pair layout (None: a single image's XYLab).
FRAME_PAIR_CHANNELS = {None: 5, "lab": 8, "official": 15}


@dataclass
class SSNConfig:
    """Architecture hyper-parameters, saved in checkpoints as ``model_args``.

    Settings that depend on each other are derived when left out and refused when they
    contradict: ``in_channels`` is that of ``frame_pair``, and SSN_pix's ``n_features``
    its ``in_channels``. A checkpoint's ``model_args`` are read by :meth:`from_dict`.

    Attributes
    ----------
    feature_net : str
        ``"pix"``, ``"linear"`` or ``"deep"``.
    n_features : int | None
        ``k``, the number of clustering features (default 20, as in the paper;
        SSN_pix: its input channels).
    in_channels : int | None
        Input feature channels (default: those of ``frame_pair``, 5 for XYLab).
    color_scale : float
        Factor on the Lab channels (0.26).
    eta : float
        Position-scale factor at test time (2.5), the default of
        :meth:`SSN.forward`.
    n_iter_test : int
        Differentiable-SLIC iterations v at test time (10), the default of
        :meth:`SSN.forward`.
    train_eta, n_iter_train : float, int
        The settings the weights were trained with (2.5 and
        5; the official script's 0.25 for 201×201 patches with a 10×10 grid is
        eta = 5), recorded with them. Training passes its own explicitly.
    upsample : str
        How SSN_deep brings conv4 / conv6 back to the input size.
        ``"resize"`` (default): floor-mode pooling, bilinear resize to the input
        size (``align_corners=False``). ``"caffe"``: the official network's
        semantics, needed by the paper's released weights: ceil-mode pooling, Caffe
        ``Interp`` (zoom ×2 / ×4 to ``(n − 1)·z + 1`` samples, corner-aligned
        bilinear), then ``Crop`` of the top-left ``H × W``.
    carried_channels : int | None
        Input channels concatenated with the learned ones (and fed
        into conv7 beside the CNN's maps); ``None`` carries all ``in_channels``.
        The paper's Sintel model takes 15 input channels and carries the first 5.
    frame_pair : str | None
        The input of a flow model, which sees the frame and the next one.
        ``None``: one image, XYLab (5 channels). ``"lab"``: XYLab of the frame and
        the scaled Lab of the next frame (8 channels; this project's Sintel
        training). ``"official"``: ``[XYLab₁, XYLab₂, XYLab₁ − XYLab₂]`` (15
        channels), the layout of the paper's released Sintel model, read from the
        network definition stored in its ``.caffemodel``.
    """

    feature_net: str = "deep"
    n_features: int | None = None
    in_channels: int | None = None
    color_scale: float = 0.26
    eta: float = 2.5
    train_eta: float = 2.5
    n_iter_train: int = 5
    n_iter_test: int = 10
    upsample: str = "resize"
    carried_channels: int | None = None
    frame_pair: str | None = None

    def __post_init__(self):
        if self.frame_pair not in FRAME_PAIR_CHANNELS:
            raise ValueError(
                f"frame_pair must be one of {tuple(FRAME_PAIR_CHANNELS)}, got {self.frame_pair!r}"
            )
        expected = FRAME_PAIR_CHANNELS[self.frame_pair]
        if self.in_channels is None:
            self.in_channels = expected
        if self.in_channels != expected:
            raise ValueError(
                f"frame_pair={self.frame_pair!r} needs in_channels={expected}, "
                f"got {self.in_channels}"
            )
        if self.feature_net not in FEATURE_NETS:
            raise ValueError(f"feature_net must be one of {FEATURE_NETS}, got {self.feature_net!r}")
        if self.upsample not in UPSAMPLE_MODES:
            raise ValueError(f"upsample must be one of {UPSAMPLE_MODES}, got {self.upsample!r}")
        if self.carried_channels is not None and not (
            1 <= self.carried_channels <= self.in_channels
        ):
            raise ValueError(
                f"carried_channels must be in [1, in_channels={self.in_channels}], "
                f"got {self.carried_channels}"
            )
        pix = self.feature_net == "pix"
        if self.n_features is None:
            self.n_features = self.in_channels if pix else 20
        if pix and self.n_features != self.in_channels:
            raise ValueError(
                f"SSN_pix's features are its {self.in_channels} input channels: leave "
                f"n_features out, got {self.n_features}"
            )
        if not pix and self.n_features <= self.carried:
            raise ValueError(
                f"n_features must exceed the {self.carried} input channels carried to the "
                f"output, got {self.n_features} (feature_net={self.feature_net!r})"
            )

    @classmethod
    def from_dict(cls, model_args: dict) -> SSNConfig:
        """The config of a checkpoint's ``model_args``; those written before
        ``frame_pair`` existed, with 8 input channels, are of the ``"lab"`` layout."""
        if (
            "frame_pair" not in model_args
            and model_args.get("in_channels") == FRAME_PAIR_CHANNELS["lab"]
        ):
            model_args = {**model_args, "frame_pair": "lab"}
        return cls(**model_args)

    @property
    def carried(self) -> int:
        """Input channels that are part of the output features."""
        return self.in_channels if self.carried_channels is None else self.carried_channels

    def to_dict(self) -> dict:
        return asdict(self)


class SSNPix(nn.Module):
    """No learned features: returns its input (SSN_pix)."""

    def forward(self, x: Tensor) -> Tensor:
        return x


class SSNLinear(nn.Module):
    """One 3×3 convolution adds ``k - c_in`` learned channels (SSN_linear).

    Notes
    -----
    Input ``(B, c_in, H, W)``, output ``(B, k, H, W)``.
    """

    def __init__(self, in_channels: int = 5, n_features: int = 20):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, n_features - in_channels, 3, padding=1)
        nn.init.normal_(self.conv.weight, std=0.001)
        nn.init.zeros_(self.conv.bias)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat((x, self.conv(x)), dim=1)


def _conv_bn_relu(cin: int, cout: int) -> nn.Sequential:
    # Official layout: conv with bias, BatchNorm without learnable scale/shift, ReLU.
    conv = nn.Conv2d(cin, cout, 3, padding=1)
    nn.init.normal_(conv.weight, std=0.001)
    nn.init.zeros_(conv.bias)
    return nn.Sequential(conv, nn.BatchNorm2d(cout, affine=False), nn.ReLU(inplace=True))


class SSNDeep(nn.Module):
    """The paper's feature CNN (SSN_deep).

    conv1–2, max-pool 3×3/2, conv3–4, max-pool, conv5–6 (3×3, 64 channels, BatchNorm,
    ReLU); conv4 and conv6 upsampled bilinearly to the input size; conv7 (3×3, ReLU) on
    ``[carried input, conv2, up(conv4), up(conv6)]`` gives ``k - carried`` channels,
    concatenated with the carried input channels to ``k`` features.

    Parameters
    ----------
    in_channels : int, optional
        Input channels (5 for XYLab).
    n_features : int, optional
        ``k``, the output features.
    width : int, optional
        Channels of conv1–conv6.
    upsample : str, optional
        ``"resize"`` or ``"caffe"`` (see :class:`SSNConfig`).
    carried_channels : int, optional
        Leading input channels carried to the output (all by default).

    Notes
    -----
    Input ``(B, c_in, H, W)``, output ``(B, k, H, W)``, for any H, W ≥ 1.
    """

    def __init__(
        self,
        in_channels: int = 5,
        n_features: int = 20,
        width: int = 64,
        *,
        upsample: str = "resize",
        carried_channels: int | None = None,
    ):
        super().__init__()
        self.carried = in_channels if carried_channels is None else carried_channels
        self.caffe = upsample == "caffe"
        self.conv1 = _conv_bn_relu(in_channels, width)
        self.conv2 = _conv_bn_relu(width, width)
        self.conv3 = _conv_bn_relu(width, width)
        self.conv4 = _conv_bn_relu(width, width)
        self.conv5 = _conv_bn_relu(width, width)
        self.conv6 = _conv_bn_relu(width, width)
        self.conv7 = nn.Conv2d(self.carried + 3 * width, n_features - self.carried, 3, padding=1)
        nn.init.normal_(self.conv7.weight, std=0.001)
        nn.init.zeros_(self.conv7.bias)
        self.channels_last = False  # set by fold_for_inference

    def fold_for_inference(self) -> SSNDeep:
        """Prepare for inference, in place: BatchNorm folded into the convolutions (its
        running statistics), weights and activations channels-last (oneDNN's fast
        layout on CPUs). The same function to float32 rounding; no longer trainable."""
        from torch.nn.utils.fusion import fuse_conv_bn_eval

        self.eval()
        for block in (self.conv1, self.conv2, self.conv3, self.conv4, self.conv5, self.conv6):
            if isinstance(block[1], nn.BatchNorm2d):
                block[0], block[1] = fuse_conv_bn_eval(block[0], block[1]), nn.Identity()
        self.to(memory_format=torch.channels_last)
        self.channels_last = True
        return self

    def forward(self, x: Tensor) -> Tensor:
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        size = x.shape[-2:]
        c2 = self.conv2(self.conv1(x))
        c4 = self.conv4(self.conv3(self._pool(c2)))
        c6 = self.conv6(self.conv5(self._pool(c4)))
        if self.caffe:
            up4 = caffe_interp_crop(c4, 2, size)
            up6 = caffe_interp_crop(c6, 4, size)
        else:
            up4 = F.interpolate(c4, size=size, mode="bilinear", align_corners=False)
            up6 = F.interpolate(c6, size=size, mode="bilinear", align_corners=False)
        carried = x[:, : self.carried]
        out = F.relu(self._conv7((carried, c2, up4, up6)))
        return torch.cat((carried, out), dim=1)

    def _conv7(self, parts) -> Tensor:
        # conv7 of the channel concatenation of `parts`, as the sum of one convolution
        # per part: the same function without writing the 197-channel input, whose copy
        # cost as much as conv7 itself on a CPU.
        weights = self.conv7.weight.split([part.shape[1] for part in parts], dim=1)
        out = F.conv2d(parts[0], weights[0], self.conv7.bias, padding=1)
        for part, weight in zip(parts[1:], weights[1:], strict=True):
            out = out + F.conv2d(part, weight, padding=1)
        return out

    def _pool(self, x: Tensor) -> Tensor:
        return F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=self.caffe)


def caffe_interp_crop(x: Tensor, zoom: int, size) -> Tensor:
    """Caffe ``Interp`` by ``zoom_factor`` followed by ``Crop`` to ``size`` (top-left).

    ``Interp`` maps ``n`` samples to ``(n − 1)·zoom + 1`` with corner-aligned bilinear
    sampling (output sample ``i`` reads input position ``i / zoom``), i.e. PyTorch's
    ``align_corners=True`` at that size; ``Crop`` then keeps the first ``H`` rows and
    ``W`` columns. After the official network's ceil-mode pooling the zoomed map is never
    smaller than the input, and equal to it for sides of the form 8X + 1.

    Parameters
    ----------
    x : Tensor
        Feature maps ``(B, C, h, w)``.
    zoom : int
        The ``zoom_factor`` (2 for conv4, 4 for conv6).
    size : tuple of int
        ``(H, W)`` to crop to.

    Returns
    -------
    Tensor
        ``(B, C, H, W)``.
    """
    height, width = int(size[0]), int(size[1])
    zoomed = ((x.shape[-2] - 1) * zoom + 1, (x.shape[-1] - 1) * zoom + 1)
    if zoomed[0] < height or zoomed[1] < width:
        raise ValueError(f"Interp output {zoomed} is smaller than the crop size {(height, width)}")
    up = F.interpolate(x, size=zoomed, mode="bilinear", align_corners=True)
    return up[..., :height, :width]


def build_feature_net(config: SSNConfig) -> nn.Module:
    """The feature network named by ``config.feature_net``."""
    if config.feature_net == "pix":
        return SSNPix()
    if config.feature_net == "linear":
        return SSNLinear(config.in_channels, config.n_features)
    return SSNDeep(
        config.in_channels,
        config.n_features,
        upsample=config.upsample,
        carried_channels=config.carried_channels,
    )


class SSN(nn.Module):
    """Superpixel sampling network: feature net followed by differentiable SLIC.

    Parameters
    ----------
    config : SSNConfig, optional
        Architecture hyper-parameters.

    Examples
    --------
    >>> net = SSN(SSNConfig(feature_net="pix"))
    >>> out = net(torch.rand(1, 3, 40, 60), n_segments=24)
    >>> out.association.weights.shape, out.grid
    (torch.Size([1, 9, 40, 60]), (4, 6))
    """

    def __init__(self, config: SSNConfig | None = None):
        super().__init__()
        self.config = config or SSNConfig()
        self.feature_net = build_feature_net(self.config)
        self.register_load_state_dict_pre_hook(_rename_legacy_keys)

    def pixel_features(self, image: Tensor, grid: tuple[int, int], eta: float) -> Tensor:
        """Scaled XYLab input features ``(B, 5, H, W)`` of an RGB image in [0, 1]."""
        return xylab_features(image, grid, color_scale=self.config.color_scale, eta=eta)

    def input_features(
        self,
        image: Tensor,
        grid: tuple[int, int],
        next_frame: Tensor | None = None,
        *,
        eta: float | None = None,
    ) -> Tensor:
        """The network input ``(B, in_channels, H, W)`` for ``image`` (and the next frame).

        Parameters
        ----------
        image : Tensor
            RGB ``(B, 3, H, W)`` in [0, 1].
        grid : tuple[int, int]
            The superpixel grid, which sets the position scale.
        next_frame : Tensor, optional
            The following frame, same shape, for a flow model
            (``config.frame_pair`` set); refused by an image model.
        eta : float, optional
            The position-scale factor (default: ``config.eta``).
        """
        eta = self.config.eta if eta is None else eta
        x = self.pixel_features(image, grid, eta)
        self.check_next_frame(next_frame is not None)
        layout = self.config.frame_pair
        if layout is None:
            return x
        if next_frame.shape != image.shape:
            (h2, w2), (h, w) = next_frame.shape[-2:], image.shape[-2:]
            raise ValueError(
                f"next_frame is {w2}x{h2} but image is {w}x{h} (shapes "
                f"{tuple(next_frame.shape)} and {tuple(image.shape)})"
            )
        if layout == "lab":
            # the next frame's scaled Lab appended to the frame's XYLab
            return torch.cat((x, rgb_to_lab(next_frame) * self.config.color_scale), dim=1)
        x2 = self.pixel_features(next_frame, grid, eta)
        return torch.cat((x, x2, x - x2), dim=1)

    def fold_for_inference(self) -> SSN:
        """Prepare for inference, in place (see :meth:`SSNDeep.fold_for_inference`): the
        same superpixels, faster on CPUs; the model can no longer be trained or saved
        as a checkpoint of this architecture. Returns the model."""
        self.eval()
        if isinstance(self.feature_net, SSNDeep):
            self.feature_net.fold_for_inference()
        return self

    def check_next_frame(self, given: bool) -> None:
        """Refuse a next frame for an image model, and its absence for a flow model."""
        if given and self.config.frame_pair is None:
            raise ValueError(
                "next_frame (--next-frame) is only for flow models (trained on frame pairs); "
                "this model "
                f"takes one image ({self.config.in_channels} input channels)"
            )
        if not given and self.config.frame_pair is not None:
            raise ValueError(
                f"this model takes a frame pair ({self.config.in_channels} input channels, "
                "trained on Sintel): pass the following frame as next_frame= (on the command "
                "line: ssn segment --next-frame FRAME2)"
            )

    def forward(
        self,
        image: Tensor,
        n_segments: int,
        *,
        n_iter: int | None = None,
        eta: float | None = None,
        next_frame: Tensor | None = None,
        autocast_dtype: torch.dtype | None = None,
    ) -> SlicResult:
        """Superpixels of ``image`` ``(B, 3, H, W)`` (RGB in [0, 1]).

        Parameters
        ----------
        image : Tensor
            The RGB image(s).
        n_segments : int
            Requested number of superpixels (the grid decides the realised
            count, see :func:`ssn.functional.grid_shape`).
        n_iter : int, optional
            SLIC iterations (default: ``config.n_iter_test``; training passes
            its 5). Explicit, not tied to ``train()`` / ``eval()``, which switch
            only BatchNorm.
        eta : float, optional
            Position-scale factor (default: ``config.eta``; training passes its
            own).
        next_frame : Tensor, optional
            The following frame(s), RGB like ``image``, for a flow model.
        autocast_dtype : torch.dtype, optional
            Run the feature network under autocast to this dtype (e.g.
            ``torch.bfloat16`` for training on a GPU); differentiable SLIC always
            gets the features in the input's dtype, where its exponentials and
            normalisations keep their precision.
        """
        height, width = image.shape[-2:]
        grid = grid_shape(n_segments, height, width)
        x = self.input_features(image, grid, next_frame, eta=eta)
        if x.shape[1] != self.config.in_channels:
            raise ValueError(
                f"the model expects {self.config.in_channels} input channels, got {x.shape[1]}"
            )
        if n_iter is None:
            n_iter = self.config.n_iter_test
        with torch.autocast(
            x.device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None
        ):
            features = self.feature_net(x)
        return differentiable_slic(features.to(x.dtype), grid, n_iter=n_iter)


def _rename_legacy_keys(module, state_dict, prefix, *args) -> None:
    """Checkpoints written before the feature network was named ``feature_net`` keep
    their ``features.*`` keys; they load unchanged."""
    for key in [k for k in state_dict if k.startswith(prefix + "features.")]:
        state_dict[prefix + "feature_net." + key[len(prefix + "features.") :]] = state_dict.pop(key)
