"""Coarse pixel grids for smooth per-pixel quantities, and bilinear interpolation back to full size."""
from __future__ import annotations

import numpy as np


def coarse_nodes(start: int, stop: int, step: int) -> np.ndarray:
    """Pixel indices start, start+step, ... reaching at least stop-1 (one node past the last pixel)."""
    count = (stop - 1 - start) // step + 2
    return start + step * np.arange(count, dtype=float)


def upsample_bilinear(coarse: np.ndarray, step: int, rows: int, cols: int) -> np.ndarray:
    """Values at every pixel of a (rows, cols) image from (C, nr, nc) values at coarse_nodes."""
    r = np.arange(rows, dtype=np.float32) / step
    i = np.minimum(r.astype(int), coarse.shape[1] - 2)
    f = (r - i)[None, :, None]
    along_rows = coarse[:, i, :] * (1 - f) + coarse[:, i + 1, :] * f
    c = np.arange(cols, dtype=np.float32) / step
    j = np.minimum(c.astype(int), coarse.shape[2] - 2)
    g = (c - j)[None, None, :]
    return along_rows[:, :, j] * (1 - g) + along_rows[:, :, j + 1] * g
