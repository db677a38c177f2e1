"""Plan the series of one study: where every slice lies (LPS mm), how it is labelled and acquired.

Geometry values are rounded the way they are written to DICOM, so the truth made from these geometries is
what a reader of the files recomputes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lib.phantom.anatomy import FIRST_GRADED_DISC, StudyAnatomy
from lib.spine.geometry import SliceGeometry

MATRICES = (256, 320, 384, 448, 512)
MATRIX_WEIGHTS = (0.25, 0.3, 0.25, 0.1, 0.1)
PIXEL_SPACING_RANGE_MM = (0.35, 0.9)
FOV_RANGE_MM = (160.0, 240.0)
#: Blocks of an angled acquisition differ by at least this much so that they stay separate blocks.
MIN_BLOCK_ANGLE_DEG = 1.6


@dataclass(frozen=True)
class SeriesPlan:
    """One series: slices in acquisition order and the protocol values written to its headers."""

    role: str  # axial_t2 | axial_t1 | sagittal_t2 | localizer
    acquisition: str  # contiguous | angled | sagittal | localizer
    description: str
    contrast: str  # key into lib.phantom.tissues contrasts: T2 | T1 | SSFP
    geometries: tuple[SliceGeometry, ...]
    instance_numbers: tuple[int, ...]
    spacing_between_slices_mm: float
    echo_time_ms: float
    repetition_time_ms: float
    echo_train_length: int
    series_number: int
    image_type: tuple[str, ...]
    noise_fraction: float  # Rician sigma relative to the CSF signal
    blur_px: float  # point-spread sigma in pixels
    sub_planes: int  # points averaged across the slice thickness


def _unit(v) -> np.ndarray:
    v = np.asarray(v, float)
    return v / np.linalg.norm(v)


def _rotation(axis, angle_deg: float) -> np.ndarray:
    """Rodrigues rotation matrix about a unit axis."""
    k = _unit(axis)
    a = np.deg2rad(angle_deg)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(a) * kx + (1 - np.cos(a)) * kx @ kx


def in_plane_axes(normal: np.ndarray, row_sign: float) -> tuple[np.ndarray, np.ndarray]:
    """Row direction along +-x and column direction along +y, both made perpendicular to ``normal``."""
    n = _unit(normal)
    row = _unit(np.array([1.0, 0.0, 0.0]) - n[0] * n) * row_sign
    y = np.array([0.0, 1.0, 0.0])
    col = _unit(y - (y @ n) * n - (y @ row) * row)
    return row, col


def make_geometry(centre, row, col, spacing_mm: float, rows: int, cols: int, thickness_mm: float) -> SliceGeometry:
    """A slice geometry centred on ``centre`` with values rounded as written to DICOM."""
    row = np.round(np.asarray(row, float), 6)
    col = np.round(np.asarray(col, float), 6)
    origin = np.asarray(centre, float) - row * spacing_mm * (cols - 1) / 2.0 - col * spacing_mm * (rows - 1) / 2.0
    sp = round(float(spacing_mm), 6)
    return SliceGeometry(
        tuple(float(x) for x in np.round(origin, 4)), tuple(float(x) for x in row), tuple(float(x) for x in col),
        (sp, sp), int(rows), int(cols), round(float(thickness_mm), 3),
    )


def disc_centre_world(anatomy: StudyAnatomy, index: int) -> np.ndarray:
    """World LPS mm of the centre of disc ``index``."""
    return anatomy.pose.to_world(anatomy.curve.point(anatomy.discs[index].centre_s_mm))


def spine_direction_world(anatomy: StudyAnatomy, s_mm: float, which: str) -> np.ndarray:
    """World direction of the spine's superior tangent or posterior axis at arc length s."""
    local = anatomy.curve.tangent(s_mm) if which == "tangent" else anatomy.curve.posterior(s_mm)
    return anatomy.pose.direction_to_world(local)


def _matrix_and_spacing(rng: np.random.Generator, max_matrix: int) -> tuple[int, int, float]:
    """(rows, columns, pixel spacing) with FOV and spacing in the clinical ranges."""
    choices = [(m, w) for m, w in zip(MATRICES, MATRIX_WEIGHTS) if m <= max_matrix]
    weights = np.array([w for _, w in choices])
    cols = int(choices[int(rng.choice(len(choices), p=weights / weights.sum()))][0])
    lo = max(FOV_RANGE_MM[0], PIXEL_SPACING_RANGE_MM[0] * cols)
    hi = min(FOV_RANGE_MM[1], PIXEL_SPACING_RANGE_MM[1] * cols)
    spacing = round(float(rng.uniform(lo, hi)) / cols, 4)
    rows = cols
    if rng.random() < 0.25:
        rows = int(round(cols * float(rng.choice([0.75, 0.8, 0.875])) / 16.0) * 16)
    return rows, cols, spacing


def _fov_centre(anatomy: StudyAnatomy, rng: np.random.Generator, index: int) -> np.ndarray:
    """Where the operator centred the FOV: near the canal of this level, a little off in every direction."""
    s = anatomy.discs[index].centre_s_mm
    post = spine_direction_world(anatomy, s, "posterior")
    return disc_centre_world(anatomy, index) + post * rng.uniform(0.0, 30.0) + np.array([rng.uniform(-12, 12), 0.0, 0.0])


def plan_contiguous(anatomy: StudyAnatomy, rng: np.random.Generator, max_matrix: int) -> list[SliceGeometry]:
    """One axial stack from above L1-L2 into S1, possibly slightly oblique, in inferior-to-superior order."""
    tilt_x = 0.0 if rng.random() < 0.35 else float(rng.uniform(-7.0, 7.0))
    normal = _rotation([0, 1, 0], float(rng.uniform(-2, 2))) @ _rotation([1, 0, 0], tilt_x) @ np.array([0.0, 0.0, 1.0])
    row, col = in_plane_axes(normal, float(rng.choice([1.0, -1.0], p=[0.75, 0.25])))
    normal = np.cross(row, col) * np.sign(np.cross(row, col) @ normal)
    thickness = float(rng.choice([3.0, 3.5, 4.0, 4.5, 5.0], p=[0.15, 0.2, 0.35, 0.15, 0.15]))
    spacing = thickness + round(float(rng.uniform(0.0, 1.0)), 1)
    rows, cols, pix = _matrix_and_spacing(rng, max_matrix)
    top = disc_centre_world(anatomy, FIRST_GRADED_DISC) @ normal + rng.uniform(12.0, 24.0)
    bottom = disc_centre_world(anatomy, len(anatomy.discs) - 1) @ normal - rng.uniform(20.0, 30.0)
    count = int(np.ceil((top - bottom) / spacing)) + 1
    centre = _fov_centre(anatomy, rng, 3)
    geometries = []
    for k in range(count):
        d = bottom + k * spacing
        geometries.append(make_geometry(centre + (d - centre @ normal) * normal, row, col, pix, rows, cols, thickness))
    return geometries


def plan_angled(anatomy: StudyAnatomy, rng: np.random.Generator, max_matrix: int) -> list[SliceGeometry]:
    """Five blocks of 3-5 slices, each tilted to its disc and centred on it, caudal block first."""
    count = int(rng.integers(3, 6))
    thickness = float(rng.choice([3.0, 3.5, 4.0]))
    spacing = thickness + round(float(rng.uniform(0.0, 0.6)), 1)
    rows, cols, pix = _matrix_and_spacing(rng, max_matrix)
    row_sign = float(rng.choice([1.0, -1.0], p=[0.75, 0.25]))
    geometries, normals = [], []
    for index in range(len(anatomy.discs) - 1, FIRST_GRADED_DISC - 1, -1):
        tangent = spine_direction_world(anatomy, anatomy.discs[index].centre_s_mm, "tangent")
        normal = _rotation([1, 0, 0], float(rng.uniform(-2.5, 2.5))) @ tangent
        while normals and min(np.degrees(np.arccos(np.clip(normal @ n, -1, 1))) for n in normals) < MIN_BLOCK_ANGLE_DEG:
            normal = _rotation([1, 0, 0], 1.0) @ normal
        normals.append(normal)
        row, col = in_plane_axes(normal, row_sign)
        n_geo = np.cross(row, col)
        centre_disc = disc_centre_world(anatomy, index) + n_geo * rng.uniform(-1.0, 1.0)
        fov = _fov_centre(anatomy, rng, index)
        fov = fov - ((fov - centre_disc) @ n_geo) * n_geo
        for k in range(count):
            offset = (k - (count - 1) / 2.0) * spacing
            geometries.append(make_geometry(fov + offset * n_geo, row, col, pix, rows, cols, thickness))
    return geometries


def plan_sagittal(anatomy: StudyAnatomy, rng: np.random.Generator) -> tuple[list[SliceGeometry], float]:
    """11-15 sagittal slices across the canal; returns geometries (right to left) and the slice spacing."""
    yaw = np.degrees(np.arctan2(anatomy.pose.rotation[1, 0], anatomy.pose.rotation[0, 0]))
    normal = _rotation([0, 0, 1], yaw + float(rng.uniform(-2, 2))) @ np.array([1.0, 0.0, 0.0])
    row = _unit(np.array([0.0, 1.0, 0.0]) - normal[1] * normal)
    col = np.cross(normal, row)  # points inferior
    count = int(rng.choice([11, 13, 15]))
    thickness = float(rng.choice([3.0, 3.5, 4.0]))
    spacing = thickness + round(float(rng.uniform(0.3, 1.0)), 1)
    n = int(rng.choice([256, 320]))
    pix = round(float(rng.uniform(270.0, 310.0)) / n, 4)
    centre = anatomy.pose.to_world(anatomy.curve.point(anatomy.vertebrae[3].centre_s_mm)) + np.array([0, rng.uniform(0, 30), rng.uniform(-15, 15)])
    geometries = [
        make_geometry(centre + (k - (count - 1) / 2.0) * spacing * normal, row, col, pix, n, n, thickness)
        for k in range(count)
    ]
    return geometries, spacing


def plan_localizer(anatomy: StudyAnatomy, rng: np.random.Generator) -> list[SliceGeometry]:
    """Three orthogonal low-resolution planes through the mid-lumbar spine."""
    centre = anatomy.pose.to_world(anatomy.curve.point(anatomy.vertebrae[3].centre_s_mm))
    n = 256
    pix = round(float(rng.uniform(1.5, 1.8)), 4)
    thickness = float(rng.choice([8.0, 10.0]))
    x, y, z = np.eye(3)
    planes = [(x, y), (y, -z), (x, -z)]  # axial, sagittal, coronal
    return [make_geometry(centre, r, c, pix, n, n, thickness) for r, c in planes]
