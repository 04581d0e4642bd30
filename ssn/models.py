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

__all__ = ["SSN", "SSNConfig", "SSNDeep", "SSNLinear", "SSNPix", "build_feature_net"]

FEATURE_NETS = ("pix", "linear", "deep")


@dataclass
class SSNConfig:
    """Architecture hyper-parameters, saved in checkpoints as ``model_args``.

    Attributes:
        feature_net: ``"pix"``, ``"linear"`` or ``"deep"``.
        n_features: k, the number of clustering features (20 in the paper).
        in_channels: input feature channels (5 for XYLab).
        color_scale: factor on the Lab channels (0.26).
        eta: position-scale factor at test time (2.5).
        train_eta: position-scale factor when training (the official script's 0.25
            for 201×201 patches with a 10×10 grid is eta = 5; the paper uses 2.5).
        n_iter_train, n_iter_test: differentiable-SLIC iterations v (5 and 10).
    """

    feature_net: str = "deep"
    n_features: int = 20
    in_channels: int = 5
    color_scale: float = 0.26
    eta: float = 2.5
    train_eta: float = 2.5
    n_iter_train: int = 5
    n_iter_test: int = 10

    def __post_init__(self):
        if self.feature_net not in FEATURE_NETS:
            raise ValueError(f"feature_net must be one of {FEATURE_NETS}, got {self.feature_net!r}")
        if self.feature_net == "pix":
            self.n_features = self.in_channels
        elif self.n_features <= self.in_channels:
            raise ValueError(
                f"n_features ({self.n_features}) must exceed in_channels ({self.in_channels}) "
                f"for feature_net={self.feature_net!r}"
            )

    def to_dict(self) -> dict:
        return asdict(self)


class SSNPix(nn.Module):
    """No learned features: returns its input (SSN_pix)."""

    def forward(self, x: Tensor) -> Tensor:
        return x


class SSNLinear(nn.Module):
    """One 3×3 convolution adds ``k - c_in`` learned channels (SSN_linear).

    Shape:
        - Input: ``(B, c_in, H, W)``; Output: ``(B, k, H, W)``.
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
    ``[input, conv2, up(conv4), up(conv6)]`` gives ``k - c_in`` channels, concatenated
    with the input to ``k`` features.

    Shape:
        - Input: ``(B, c_in, H, W)``; Output: ``(B, k, H, W)``, any H, W ≥ 1.
    """

    def __init__(self, in_channels: int = 5, n_features: int = 20, width: int = 64):
        super().__init__()
        self.conv1 = _conv_bn_relu(in_channels, width)
        self.conv2 = _conv_bn_relu(width, width)
        self.conv3 = _conv_bn_relu(width, width)
        self.conv4 = _conv_bn_relu(width, width)
        self.conv5 = _conv_bn_relu(width, width)
        self.conv6 = _conv_bn_relu(width, width)
        self.conv7 = nn.Conv2d(in_channels + 3 * width, n_features - in_channels, 3, padding=1)
        nn.init.normal_(self.conv7.weight, std=0.001)
        nn.init.zeros_(self.conv7.bias)

    def forward(self, x: Tensor) -> Tensor:
        size = x.shape[-2:]
        c2 = self.conv2(self.conv1(x))
        c4 = self.conv4(self.conv3(F.max_pool2d(c2, 3, stride=2, padding=1)))
        c6 = self.conv6(self.conv5(F.max_pool2d(c4, 3, stride=2, padding=1)))
        up4 = F.interpolate(c4, size=size, mode="bilinear", align_corners=False)
        up6 = F.interpolate(c6, size=size, mode="bilinear", align_corners=False)
        out = F.relu(self.conv7(torch.cat((x, c2, up4, up6), dim=1)))
        return torch.cat((x, out), dim=1)


def build_feature_net(config: SSNConfig) -> nn.Module:
    """The feature network named by ``config.feature_net``."""
    if config.feature_net == "pix":
        return SSNPix()
    if config.feature_net == "linear":
        return SSNLinear(config.in_channels, config.n_features)
    return SSNDeep(config.in_channels, config.n_features)


class SSN(nn.Module):
    """Superpixel sampling network: feature net followed by differentiable SLIC.

    Args:
        config: architecture hyper-parameters.

    Example:
        >>> net = SSN(SSNConfig(feature_net="pix"))
        >>> out = net(torch.rand(1, 3, 40, 60), n_segments=24)
        >>> out.association.shape, out.grid
        (torch.Size([1, 9, 40, 60]), (4, 6))
    """

    def __init__(self, config: SSNConfig | None = None):
        super().__init__()
        self.config = config or SSNConfig()
        self.features = build_feature_net(self.config)

    def pixel_features(self, image: Tensor, grid: tuple[int, int]) -> Tensor:
        """Scaled XYLab input features ``(B, 5, H, W)`` of an RGB image in [0, 1]."""
        eta = self.config.train_eta if self.training else self.config.eta
        return xylab_features(image, grid, color_scale=self.config.color_scale, eta=eta)

    def frame_inputs(self, next_frame: Tensor) -> Tensor:
        """The extra input of a flow model: the scaled Lab ``(B, 3, H, W)`` of the next frame.

        A model with ``in_channels == 8`` (the Sintel task) sees the XYLab of the first
        frame followed by these channels.
        """
        return rgb_to_lab(next_frame) * self.config.color_scale

    def forward(
        self,
        image: Tensor,
        n_segments: int,
        *,
        n_iter: int | None = None,
        extra_inputs: Tensor | None = None,
    ) -> SlicResult:
        """Superpixels of ``image`` ``(B, 3, H, W)`` (RGB in [0, 1]).

        Args:
            image: the RGB image(s).
            n_segments: requested number of superpixels (the grid decides the realised
                count, see :func:`ssn.functional.grid_shape`).
            n_iter: SLIC iterations; defaults to ``n_iter_train`` in training mode and
                ``n_iter_test`` in eval mode.
            extra_inputs: further input channels appended to XYLab (e.g. the second
                frame's Lab for flow), ``in_channels - 5`` of them.
        """
        height, width = image.shape[-2:]
        grid = grid_shape(n_segments, height, width)
        x = self.pixel_features(image, grid)
        if extra_inputs is not None:
            x = torch.cat((x, extra_inputs), dim=1)
        if x.shape[1] != self.config.in_channels:
            raise ValueError(
                f"the model expects {self.config.in_channels} input channels, got {x.shape[1]}"
            )
        if n_iter is None:
            n_iter = self.config.n_iter_train if self.training else self.config.n_iter_test
        return differentiable_slic(self.features(x), grid, n_iter=n_iter)
