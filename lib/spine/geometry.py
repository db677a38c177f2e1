"""Geometry of one DICOM image plane in patient coordinates (LPS, millimetres).

Conventions, used everywhere in the product:

* Patient coordinates are DICOM LPS: +x towards the patient's Left, +y Posterior, +z Superior (head).
* A slice's pixel array is indexed ``pixels[row, col]`` (shape ``(rows, columns)``), as pydicom returns it.
* ``row_direction`` (ImageOrientationPatient[0:3]) is the LPS direction of increasing column index;
  ``column_direction`` (ImageOrientationPatient[3:6]) is the direction of increasing row index.
* ``pixel_spacing_mm`` is DICOM PixelSpacing order: (spacing between rows, spacing between columns).
* ``position_lps_mm`` (ImagePositionPatient) is the centre of the pixel at row 0, column 0.

Stacked volumes (NIfTI work images and labels) are indexed ``volume[i, j, k]`` with i = column, j = row,
k = slice in series order; their affine maps (i, j, k) to RAS the way dcm2niix does.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SliceGeometry:
    """Where one image plane lies in the patient, read from its DICOM header."""

    position_lps_mm: tuple[float, float, float]
    row_direction: tuple[float, float, float]
    column_direction: tuple[float, float, float]
    pixel_spacing_mm: tuple[float, float]
    rows: int
    columns: int
    slice_thickness_mm: float = 0.0

    @property
    def normal(self) -> np.ndarray:
        """Unit normal of the plane, row_direction x column_direction (points superior for a standard axial)."""
        n = np.cross(np.asarray(self.row_direction, float), np.asarray(self.column_direction, float))
        return n / np.linalg.norm(n)

    @property
    def origin(self) -> np.ndarray:
        return np.asarray(self.position_lps_mm, float)

    @property
    def centre_lps_mm(self) -> np.ndarray:
        """LPS position of the centre of the image."""
        return self.pixel_to_lps((self.rows - 1) / 2.0, (self.columns - 1) / 2.0)

    def pixel_to_lps(self, row: float, col: float) -> np.ndarray:
        """LPS mm of a (row, col) pixel position; fractional positions are allowed."""
        dr, dc = self.pixel_spacing_mm
        return (
            self.origin
            + float(col) * dc * np.asarray(self.row_direction, float)
            + float(row) * dr * np.asarray(self.column_direction, float)
        )

    def pixels_to_lps(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Vectorised pixel_to_lps: arrays of rows and cols (same shape) -> array (..., 3) of LPS mm."""
        dr, dc = self.pixel_spacing_mm
        rows = np.asarray(rows, float)[..., None]
        cols = np.asarray(cols, float)[..., None]
        return (
            self.origin
            + cols * dc * np.asarray(self.row_direction, float)
            + rows * dr * np.asarray(self.column_direction, float)
        )

    def lps_to_pixel(self, point_lps_mm) -> tuple[float, float, float]:
        """(row, col, signed distance from the plane in mm) of an LPS point."""
        d = np.asarray(point_lps_mm, float) - self.origin
        dr, dc = self.pixel_spacing_mm
        col = float(d @ np.asarray(self.row_direction, float)) / dc
        row = float(d @ np.asarray(self.column_direction, float)) / dr
        return row, col, float(d @ self.normal)

    def distance_along_normal_mm(self, normal=None) -> float:
        """Position of the plane along ``normal`` (default its own), used to order slices."""
        n = self.normal if normal is None else np.asarray(normal, float)
        return float(self.origin @ n)

    def affine_ras(self, slice_step_mm: np.ndarray | None = None) -> np.ndarray:
        """4x4 affine from (i=col, j=row, k=slice) voxel indices to RAS mm, for a NIfTI of this plane.

        ``slice_step_mm`` is the LPS vector from one slice to the next; default normal * slice thickness (or 1 mm).
        """
        dr, dc = self.pixel_spacing_mm
        if slice_step_mm is None:
            slice_step_mm = self.normal * (self.slice_thickness_mm or 1.0)
        lps = np.eye(4)
        lps[:3, 0] = np.asarray(self.row_direction, float) * dc
        lps[:3, 1] = np.asarray(self.column_direction, float) * dr
        lps[:3, 2] = np.asarray(slice_step_mm, float)
        lps[:3, 3] = self.origin
        return np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps


#: Two slices belong to the same block when their normals differ by less than this angle.
SAME_BLOCK_MAX_ANGLE_DEG = 1.0


def _superior_normal(geometry: SliceGeometry) -> np.ndarray:
    """The plane normal, flipped if needed so that it points towards the head (+z in LPS)."""
    n = geometry.normal
    return n if n[2] >= 0 else -n


def group_into_blocks(geometries: list[SliceGeometry]) -> list[list[int]]:
    """Group slices that share an orientation (normals within SAME_BLOCK_MAX_ANGLE_DEG) into blocks.

    A contiguous axial stack gives one block; an angled acquisition gives one block per disc.
    Two parallel blocks with a gap between them (e.g. two levels acquired with the same tilt) are split
    where the step between neighbours exceeds 2.5 times the block's median step.
    Returns lists of indices into ``geometries``; blocks and the slices within them in canonical order.
    """
    normals = [_superior_normal(g) for g in geometries]
    cos_tol = np.cos(np.deg2rad(SAME_BLOCK_MAX_ANGLE_DEG))
    groups: list[list[int]] = []
    for i, n in enumerate(normals):
        for group in groups:
            if float(normals[group[0]] @ n) >= cos_tol:
                group.append(i)
                break
        else:
            groups.append([i])
    blocks: list[list[int]] = []
    for group in groups:
        n = normals[group[0]]
        group.sort(key=lambda i: geometries[i].distance_along_normal_mm(n))
        blocks.extend(_split_at_gaps(group, [geometries[i].distance_along_normal_mm(n) for i in group]))
    blocks.sort(key=lambda b: float(np.mean([geometries[i].centre_lps_mm[2] for i in b])))
    return blocks


def _split_at_gaps(indices: list[int], positions_mm: list[float]) -> list[list[int]]:
    """Split a sorted run of parallel slices where the gap is much larger than the typical step."""
    if len(indices) < 3:
        return [indices]
    steps = np.diff(positions_mm)
    typical = float(np.median(steps))
    out, current = [], [indices[0]]
    for idx, step in zip(indices[1:], steps):
        if typical > 0 and step > 2.5 * typical:
            out.append(current)
            current = []
        current.append(idx)
    out.append(current)
    return out


def canonical_order(geometries: list[SliceGeometry]) -> list[int]:
    """Indices of slices in the product's canonical order: inferior to superior.

    Blocks are ordered by the z (superior) coordinate of their centres and the slices within a block by their
    position along the block normal oriented superiorly. Work images, label volumes and the phantom truth masks
    all stack slices in this order, so slice k of a label is slice k of the series.
    """
    return [i for block in group_into_blocks(geometries) for i in block]


def stacked_affine_ras(geometries: list[SliceGeometry]) -> np.ndarray:
    """Affine (i=col, j=row, k=slice) -> RAS mm for slices stacked in the given order.

    Exact for a contiguous stack of parallel, evenly spaced slices; for angled blocks it is a nominal affine
    (first slice's plane, mean step to the last slice), and each slice's true geometry must be kept beside it.
    """
    first = geometries[0]
    if len(geometries) > 1:
        step = (geometries[-1].origin - first.origin) / (len(geometries) - 1)
        n = first.normal
        parallel = abs(float(n @ geometries[-1].normal)) >= np.cos(np.deg2rad(SAME_BLOCK_MAX_ANGLE_DEG))
        if not parallel:
            # Angled blocks: keep only the through-plane part so the nominal affine stays well conditioned.
            step = n * float(step @ n) if abs(float(step @ n)) > 1e-3 else n * (first.slice_thickness_mm or 1.0)
    else:
        step = None
    return first.affine_ras(step)
