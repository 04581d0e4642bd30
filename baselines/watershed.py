"""Compact watershed (Neubert & Protzel, ICPR 2014), scikit-image implementation:
watershed of the Sobel gradient magnitude flooded from a regular grid of markers."""

from __future__ import annotations

import numpy as np

from ssn.connectivity import enforce_connectivity
from ssn.validation import check_positive

from ._common import grid_seeds


def watershed(rgb, n_segments, *, compactness=1e-4):
    from skimage.color import rgb2gray
    from skimage.filters import sobel
    from skimage.segmentation import watershed as ws

    compactness = check_positive("compactness", compactness)
    height, width = rgb.shape[:2]
    gradient = sobel(rgb2gray(rgb))
    markers = np.zeros((height, width), np.int32)
    ys, xs = grid_seeds(n_segments, height, width)
    markers[ys, xs] = np.arange(1, ys.size + 1)
    labels = ws(gradient, markers, compactness=compactness)
    return enforce_connectivity(labels - 1, n_segments, mode="split", min_size=0)
