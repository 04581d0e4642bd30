"""The initial superpixel cells: where each of the ``n`` cells along an axis starts.

One definition for the torch path (:class:`ssn.functional.CellGrid`) and the fused CPU
kernel (:mod:`ssn._kernels`), so that both put every pixel in the same cell.
"""

from __future__ import annotations

__all__ = ["cell_starts"]

# The association softmax over a pixel's 9 neighbouring cells, in the torch path
# (ssn.functional) and the numba kernels (ssn._kernels) alike: weights below exp(cutoff)
# are exactly 0 (exp(-d) below ~1e-20 changes no float32 result but makes denormals, very
# slow on x86; float64 keeps almost the exact softmax), and an out-of-grid neighbour sits at
# a distance far beyond it (the official layer uses 10000).
CUTOFF32, CUTOFF64 = -46.0, -690.0
EXCLUDED_DISTANCE = 1e9


def cell_starts(length: int, cells: int) -> list[int]:
    """The ``cells + 1`` boundaries of ``cells`` cells along an axis of ``length`` pixels.

    Cell ``i`` holds the coordinates ``[ceil(i·L/n), ceil((i+1)·L/n))``, so cells differ
    in size by at most one pixel and pixel ``p`` lies in cell ``floor(p·n/L)``.

    >>> cell_starts(10, 3)
    [0, 4, 7, 10]
    """
    return [(i * length + cells - 1) // cells for i in range(cells + 1)]
