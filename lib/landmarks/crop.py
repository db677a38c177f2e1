"""The millimetre grid the landmark model sees: a square crop in the plane of the mid-disc slice, axes anatomical.

Data contract::

    crop[v, u]    v = row of the crop, along +AP (posterior, disc -> dural sac)
                  u = column of the crop, along +lateral (towards the patient's LEFT, +x LPS)
    pixel (v, u)  centre at  centre + (u - c) * spacing * lateral + (v - c) * spacing * ap,  c = (size - 1) / 2

``lateral`` and ``ap`` are the in-plane unit vectors of :class:`lib.spine.measurements.AnatomicalFrame` (LPS), so the
crop looks the same for any pixel spacing, row/column direction (flipped included) and plane tilt. The source slice is
``pixels[row, col]`` with its :class:`SliceGeometry`; sampling is bilinear (scipy ``map_coordinates``), zero outside.

Example::

    grid = CropGrid.from_frame(measurements.frame, spacing_mm=0.75, size_px=96)
    image = grid.sample(pixels, geometry)          # (96, 96) float32
    v, u = grid.to_px(point_lps)                   # crop pixel of an LPS point
    point = grid.to_lps(v, u)                      # and back (on the plane)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from lib.spine.geometry import SliceGeometry
from lib.spine.measurements import AnatomicalFrame


@dataclass(frozen=True)
class CropGrid:
    """A ``size_px`` x ``size_px`` grid of ``spacing_mm`` pixels centred at ``centre_lps_mm`` (see module docstring)."""

    centre_lps_mm: tuple[float, float, float]
    lateral: tuple[float, float, float]
    ap: tuple[float, float, float]
    spacing_mm: float
    size_px: int

    def __post_init__(self):
        if self.spacing_mm <= 0:
            raise ValueError(f"spacing_mm must be > 0, got {self.spacing_mm}")
        if self.size_px < 8:
            raise ValueError(f"size_px must be >= 8, got {self.size_px}")

    @classmethod
    def from_frame(cls, frame: AnatomicalFrame, spacing_mm: float, size_px: int, ap_offset_mm: float = 0.0):
        """Grid centred on the frame origin (the dural sac centroid) moved ``ap_offset_mm`` along AP."""
        centre = frame.to_lps(0.0, ap_offset_mm)
        return cls(_tup(centre), _tup(frame.lateral), _tup(frame.ap), float(spacing_mm), int(size_px))

    @property
    def half(self) -> float:
        return (self.size_px - 1) / 2.0

    def to_lps(self, v: float, u: float) -> np.ndarray:
        """LPS mm of crop position (v, u); fractional positions allowed."""
        s = self.spacing_mm
        return (np.asarray(self.centre_lps_mm) + (u - self.half) * s * np.asarray(self.lateral)
                + (v - self.half) * s * np.asarray(self.ap))

    def to_px(self, point_lps_mm) -> tuple[float, float]:
        """(v, u) crop position of an LPS point, projected onto the grid's plane."""
        d = np.asarray(point_lps_mm, float) - np.asarray(self.centre_lps_mm)
        return (float(d @ np.asarray(self.ap)) / self.spacing_mm + self.half,
                float(d @ np.asarray(self.lateral)) / self.spacing_mm + self.half)

    def points_lps(self) -> np.ndarray:
        """LPS mm of every crop pixel centre, shape (size, size, 3), indexed [v, u]."""
        idx = (np.arange(self.size_px) - self.half) * self.spacing_mm
        v, u = np.meshgrid(idx, idx, indexing="ij")
        return (np.asarray(self.centre_lps_mm) + u[..., None] * np.asarray(self.lateral)
                + v[..., None] * np.asarray(self.ap))

    def source_coordinates(self, geometry: SliceGeometry) -> np.ndarray:
        """(2, size, size) fractional (row, col) of each crop pixel in the slice of ``geometry``."""
        d = self.points_lps() - geometry.origin
        dr, dc = geometry.pixel_spacing_mm
        rows = d @ np.asarray(geometry.column_direction, float) / dr
        cols = d @ np.asarray(geometry.row_direction, float) / dc
        return np.stack([rows, cols])

    def sample(self, pixels: np.ndarray, geometry: SliceGeometry, order: int = 1) -> np.ndarray:
        """Resample ``pixels[row, col]`` of the slice onto the grid (bilinear by default, 0 outside): (size, size)."""
        pixels = np.asarray(pixels, np.float32)
        if pixels.shape != (geometry.rows, geometry.columns):
            raise ValueError(f"pixels {pixels.shape} do not match the geometry ({geometry.rows}, {geometry.columns})")
        coords = self.source_coordinates(geometry)
        return ndimage.map_coordinates(pixels, coords, order=order, mode="constant", cval=0.0).astype(np.float32)

    def jittered(self, angle_rad: float = 0.0, shift_mm: tuple[float, float] = (0.0, 0.0), scale: float = 1.0):
        """The grid rotated in-plane by ``angle_rad``, moved by (lateral, AP) ``shift_mm`` and its spacing scaled."""
        lat, ap = np.asarray(self.lateral), np.asarray(self.ap)
        c, s = np.cos(angle_rad), np.sin(angle_rad)
        new_lat, new_ap = c * lat + s * ap, -s * lat + c * ap
        centre = np.asarray(self.centre_lps_mm) + shift_mm[0] * lat + shift_mm[1] * ap
        return CropGrid(_tup(centre), _tup(new_lat), _tup(new_ap), self.spacing_mm * float(scale), self.size_px)


def _tup(v) -> tuple[float, float, float]:
    return tuple(float(x) for x in np.asarray(v, float))
