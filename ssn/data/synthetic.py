"""A tiny dataset in BSDS500's layout, for smoke runs where the real one is absent.

The tests train on it, and ``benchmarks/device_check.py`` uses it on a machine without
``$SSN_DATA`` (a GPU machine lent for a few minutes has no datasets).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["write_bsds500_like"]


def write_bsds500_like(
    root, counts=(("train", 4), ("val", 2), ("test", 1)), *, size=(41, 49), seed=0
) -> Path:
    """Write images and two annotations per image in BSDS500's folder layout.

    Parameters
    ----------
    root : path
        The dataset root to create (it gets ``images/<split>`` and
        ``groundTruth/<split>``).
    counts : sequence of (str, int), optional
        The splits and their number of images.
    size : (int, int), optional
        ``(height, width)`` of every image.
    seed : int, optional
        Seed of the colours and the noise.

    Returns
    -------
    Path
        ``root``.

    Notes
    -----
    Each image has four flat regions (a coarse annotation) and a fifth in its top-left
    corner (the fine annotation), in random colours with Gaussian noise (σ = 8).
    """
    from PIL import Image
    from scipy.io import savemat

    root = Path(root)
    height, width = size
    rng = np.random.default_rng(seed)
    for split, n_images in counts:
        (root / "images" / split).mkdir(parents=True)
        (root / "groundTruth" / split).mkdir(parents=True)
        for i in range(n_images):
            coarse = np.zeros((height, width), np.uint16) + 1
            coarse[:, width * 20 // 49 :] = 2
            coarse[height * 25 // 41 :, :] += 2
            fine = coarse.copy()
            fine[: height * 10 // 41, : width * 10 // 49] = 5
            palette = rng.integers(0, 255, (6, 3))
            image = np.clip(palette[fine] + rng.normal(0, 8, fine.shape + (3,)), 0, 255)
            Image.fromarray(image.astype(np.uint8)).save(root / "images" / split / f"{i}.jpg")
            cells = np.empty((1, 2), dtype=object)
            for k, seg in enumerate((coarse, fine)):
                cells[0, k] = {"Segmentation": seg, "Boundaries": np.zeros_like(seg, np.uint8)}
            savemat(root / "groundTruth" / split / f"{i}.mat", {"groundTruth": cells})
    return root
