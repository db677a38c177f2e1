"""Measurements on a truth mask of one slice and landmark placement on that slice's plane."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lib.phantom.anatomy import StudyAnatomy
from lib.spine.geometry import SliceGeometry


@dataclass(frozen=True)
class MaskMeasurement:
    """Area (mm2), extent along an in-plane axis (mm) and area centroid (LPS mm) of one mask."""

    area_mm2: float
    extent_mm: float
    centroid_lps_mm: tuple[float, float, float]


def measure_mask(mask: np.ndarray, geometry: SliceGeometry, axis_lps: np.ndarray) -> MaskMeasurement:
    """Measure a boolean ``mask[row, col]``; ``axis_lps`` is projected into the plane for the extent.

    Area = pixel count x row spacing x column spacing. Extent = spread of pixel centres along the axis plus
    one pixel's footprint along it. Centroid = mean pixel centre.
    """
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return MaskMeasurement(0.0, 0.0, (float("nan"),) * 3)
    dr, dc = geometry.pixel_spacing_mm
    axis = _in_plane_unit(axis_lps, geometry)
    row_dir, col_dir = np.asarray(geometry.row_direction), np.asarray(geometry.column_direction)
    along = cols * dc * float(axis @ row_dir) + rows * dr * float(axis @ col_dir)
    footprint = abs(float(axis @ row_dir)) * dc + abs(float(axis @ col_dir)) * dr
    centroid = geometry.pixel_to_lps(float(rows.mean()), float(cols.mean()))
    return MaskMeasurement(
        area_mm2=float(rows.size * dr * dc),
        extent_mm=float(along.max() - along.min() + footprint),
        centroid_lps_mm=tuple(float(x) for x in centroid),
    )


def _in_plane_unit(axis_lps: np.ndarray, geometry: SliceGeometry) -> np.ndarray:
    n = geometry.normal
    a = np.asarray(axis_lps, float)
    a = a - (a @ n) * n
    return a / np.linalg.norm(a)


def closest_slice(geometries: list[SliceGeometry], point_lps: np.ndarray) -> int:
    """Index of the plane nearest to a point (by distance along each plane's normal)."""
    return int(np.argmin([abs(g.lps_to_pixel(point_lps)[2]) for g in geometries]))


def landmark_on_plane(anatomy: StudyAnatomy, u_mm: float, v_mm: float, s_near_mm: float,
                      geometry: SliceGeometry, search_mm: float = 45.0) -> tuple[float, float, float]:
    """Where the spine-local line (u, v, s varying) near ``s_near_mm`` pierces the plane (LPS mm)."""
    s = np.linspace(s_near_mm - search_mm, s_near_mm + search_mm, int(4 * search_mm) + 1)
    body = anatomy.curve.local_to_body(np.full_like(s, u_mm), np.full_like(s, v_mm), s)
    world = anatomy.pose.to_world(body)
    signed = (world - geometry.origin) @ geometry.normal
    crossings = np.flatnonzero(np.sign(signed[:-1]) != np.sign(signed[1:]))
    if crossings.size == 0:
        i = int(np.argmin(np.abs(signed)))
        point = world[i] - signed[i] * geometry.normal
    else:
        i = int(crossings[np.argmin(np.abs(s[crossings] - s_near_mm))])
        t = signed[i] / (signed[i] - signed[i + 1])
        point = world[i] + t * (world[i + 1] - world[i])
    return tuple(float(x) for x in point)
