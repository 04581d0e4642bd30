"""Differentiable RGB → CIE-Lab conversion with scikit-image's constants.

Kept in torch (not ``skimage.color.rgb2lab``) so that features can be built on the
input's device inside a training graph; values match scikit-image's ``rgb2lab``
(D65 illuminant, 2° observer, L in [0, 100]).
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["LAB_LINEAR_SLOPE", "LAB_THRESHOLD", "RGB_TO_XYZ", "SRGB_THRESHOLD", "WHITE_D65",
           "rgb_to_lab"]  # fmt: skip

# The one table of the conversion's constants (scikit-image's), also read by the fused
# CPU kernel (ssn._kernels).
#: sRGB (linear) → XYZ
RGB_TO_XYZ = (
    (0.412453, 0.357580, 0.180423),
    (0.212671, 0.715160, 0.072169),
    (0.019334, 0.119193, 0.950227),
)
#: the D65 reference white (2° observer)
WHITE_D65 = (0.95047, 1.0, 1.08883)
#: sRGB values up to this are linear (divided by 12.92), above it gamma-expanded
SRGB_THRESHOLD = 0.04045
#: XYZ / white up to this maps to ``LAB_LINEAR_SLOPE · t + 16/116``, above it to ``t^(1/3)``
LAB_THRESHOLD = 0.008856
LAB_LINEAR_SLOPE = 7.787


def rgb_to_lab(image: Tensor) -> Tensor:
    """Convert sRGB in [0, 1] to CIE-Lab.

    Parameters
    ----------
    image : Tensor
        RGB image of shape ``(B, 3, H, W)`` with values in [0, 1].

    Returns
    -------
    Tensor
        Lab image of shape ``(B, 3, H, W)``: L in [0, 100], a and b roughly in
        [-128, 127], on the device and in the dtype of ``image``.

    Examples
    --------
    >>> (rgb_to_lab(torch.ones(1, 3, 2, 2))[0, :, 0, 0].round() + 0.0).tolist()  # white
    [100.0, 0.0, 0.0]
    """
    if image.ndim != 4 or image.shape[1] != 3:
        raise ValueError(f"image must have shape (B, 3, H, W), got {tuple(image.shape)}")
    linear = torch.where(
        image > SRGB_THRESHOLD,
        ((image.clamp(min=SRGB_THRESHOLD) + 0.055) / 1.055) ** 2.4,
        image / 12.92,
    )
    matrix = torch.tensor(RGB_TO_XYZ, dtype=image.dtype, device=image.device)
    white = torch.tensor(WHITE_D65, dtype=image.dtype, device=image.device)
    xyz = torch.einsum("ij,bjhw->bihw", matrix, linear) / white.view(1, 3, 1, 1)
    # The cube root's gradient is infinite at 0: the clamp keeps the unused branch finite.
    f = torch.where(
        xyz > LAB_THRESHOLD,
        xyz.clamp(min=LAB_THRESHOLD) ** (1.0 / 3.0),
        LAB_LINEAR_SLOPE * xyz + 16.0 / 116.0,
    )
    fx, fy, fz = f.unbind(dim=1)
    return torch.stack((116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)), dim=1)
