"""The initial superpixel cells: where each of the ``n`` cells along an axis starts.

One definition for the torch path (:class:`ssn.functional.CellGrid`) and the fused CPU
kernel (:mod:`ssn._kernels`), so that both put every pixel in the same cell.
"""

from __future__ import annotations

__all__ = ["cell_starts"]


def cell_starts(length: int, cells: int) -> list[int]:
    """The ``cells + 1`` boundaries of ``cells`` cells along an axis of ``length`` pixels.

    Cell ``i`` holds the coordinates ``[ceil(i·L/n), ceil((i+1)·L/n))``, so cells differ
    in size by at most one pixel and pixel ``p`` lies in cell ``floor(p·n/L)``.

    >>> cell_starts(10, 3)
    [0, 4, 7, 10]
    """
    return [(i * length + cells - 1) // cells for i in range(cells + 1)]
