"""Synthetic planes, masks and lumbar spines for the spine core tests (LPS mm throughout)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lib.spine.geometry import SliceGeometry


def unit(v) -> np.ndarray:
    v = np.asarray(v, float)
    return v / np.linalg.norm(v)


def tilted_axial(tilt_deg: float = 0.0, inplane_deg: float = 0.0, flip_rows: bool = False):
    """(row_direction, column_direction) of an axial plane tilted about LPS x (nose up for positive tilt) and
    rotated in-plane; ``flip_rows`` mirrors the column axis (row_direction points to the patient's right)."""
    t, r = np.deg2rad(tilt_deg), np.deg2rad(inplane_deg)
    tilt = np.array([[1, 0, 0], [0, np.cos(t), -np.sin(t)], [0, np.sin(t), np.cos(t)]])
    row = tilt @ np.array([np.cos(r), np.sin(r), 0.0])
    col = tilt @ np.array([-np.sin(r), np.cos(r), 0.0])
    return (-row if flip_rows else row), col


def plane(centre_lps, row_dir, col_dir, spacing=(0.5, 0.5), shape=(256, 256), thickness=3.0) -> SliceGeometry:
    """A plane whose image centre lies at ``centre_lps``; spacing is (row spacing, col spacing) mm."""
    rows, cols = shape
    dr, dc = spacing
    row_dir, col_dir = unit(row_dir), unit(col_dir)
    origin = np.asarray(centre_lps, float) - (cols - 1) / 2 * dc * row_dir - (rows - 1) / 2 * dr * col_dir
    return SliceGeometry(
        tuple(origin), tuple(row_dir), tuple(col_dir), (float(dr), float(dc)), int(rows), int(cols), float(thickness)
    )


def pixel_grid_lps(geometry: SliceGeometry) -> np.ndarray:
    """LPS mm of every pixel centre, shape (rows, cols, 3)."""
    r, c = np.meshgrid(np.arange(geometry.rows), np.arange(geometry.columns), indexing="ij")
    return geometry.pixels_to_lps(r, c)


def ellipse_mask(geometry: SliceGeometry, centre_lps, axis_lps, semi_along_mm, semi_across_mm) -> np.ndarray:
    """Boolean ``[rows, cols]`` ellipse in the plane: semi-axis ``semi_along_mm`` along the in-plane ``axis_lps``."""
    n = geometry.normal
    axis = unit(np.asarray(axis_lps, float) - (np.asarray(axis_lps, float) @ n) * n)
    across = np.cross(n, axis)
    d = pixel_grid_lps(geometry) - np.asarray(centre_lps, float)
    return (d @ axis / semi_along_mm) ** 2 + (d @ across / semi_across_mm) ** 2 <= 1.0


@dataclass(frozen=True)
class Disc:
    centre: np.ndarray  # LPS mm
    normal: np.ndarray  # unit, superior-pointing axis of the disc
    ap_mm: float  # AP semi-axis

    @property
    def posterior(self) -> np.ndarray:
        """Unit posterior direction in the disc's plane."""
        return unit(np.cross(self.normal, np.array([1.0, 0.0, 0.0])))

    @property
    def grading_point(self) -> np.ndarray:
        """The posterior disc margin in the midline at mid-disc height (LPS mm)."""
        return self.centre + self.ap_mm * self.posterior


@dataclass(frozen=True)
class SpinePhantom:
    """Five lumbar discs (ellipsoids) along a lordotic curve and a dural sac tube behind them.

    Disc k (0 = L5-S1) sits at z = k * spacing, tilted about x by ``tilts_deg[k]``; semi-axes lateral 22 mm,
    AP 16 mm, height 5 mm. The sac is an elliptic tube (lateral 9 mm, AP 7 mm) 25 mm posterior of each disc centre.
    """

    spacing_mm: float = 38.0
    tilts_deg: tuple[float, ...] = (28.0, 14.0, 5.0, 0.0, -4.0)
    lateral_mm: float = 22.0
    ap_mm: float = 16.0
    half_height_mm: float = 5.0

    @property
    def discs(self) -> list[Disc]:
        out = []
        for k, tilt in enumerate(self.tilts_deg):
            t = np.deg2rad(tilt)
            centre = np.array([2.0, 10.0 + 6.0 * np.sin(k * 0.7), k * self.spacing_mm])
            out.append(Disc(centre, np.array([0.0, -np.sin(t), np.cos(t)]), self.ap_mm))
        return out

    def labels(self, geometry: SliceGeometry) -> np.ndarray:
        """uint8 ``[rows, cols]``: 1 dural sac, 2 disc, 0 elsewhere, evaluated at the pixel centres."""
        p = pixel_grid_lps(geometry)
        out = np.zeros((geometry.rows, geometry.columns), np.uint8)
        for disc in self.discs:
            ap = disc.posterior
            d = p - disc.centre
            inside = (
                (d[..., 0] / self.lateral_mm) ** 2 + (d @ ap / self.ap_mm) ** 2 <= 1.0
            ) & (np.abs(d @ disc.normal) <= self.half_height_mm)
            out[inside] = 2
            sac = (d[..., 0] / 9.0) ** 2 + ((d @ ap - 25.0) / 7.0) ** 2 <= 1.0
            out[sac & (np.abs(d @ disc.normal) <= self.spacing_mm / 2)] = 1
        return out

    def contiguous(self, z_from=-20.0, z_to=170.0, step=4.0, spacing=(1.0, 1.0), shape=(120, 120)):
        """An axial stack: list of geometries (inferior to superior)."""
        row, col = tilted_axial()
        return [plane((2.0, 20.0, z), row, col, spacing, shape, step) for z in np.arange(z_from, z_to + 1e-6, step)]

    def angled_blocks(self, offsets=(-4.5, -1.5, 1.5, 4.5), spacing=(1.0, 1.0), shape=(120, 120)):
        """One block of parallel slices per disc, tilted to the disc; list of geometries (block by block)."""
        out = []
        for disc, tilt in zip(self.discs, self.tilts_deg):
            row, col = tilted_axial(tilt)
            out.extend(plane(disc.centre + o * disc.normal, row, col, spacing, shape, 3.0) for o in offsets)
        return out
