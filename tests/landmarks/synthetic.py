"""A tiny synthetic lumbar series (no DICOM): five discs with a dural sac behind each, as a work image + sidecar.

Used where the phantom generator would be overkill: the runner's plumbing, bad inputs, exports. LPS mm throughout;
volumes ``[col, row, k]`` in canonical order (CONTRACTS.md).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from lib.dicom import write_nifti
from lib.spine.geometry import SliceGeometry, stacked_affine_ras

DISC_Z = (0.0, 36.0, 72.0, 108.0, 144.0)  # L5-S1 .. L1-L2


def axial_geometries(n: int = 48, step: float = 4.0, shape=(96, 112), spacing=(1.0, 0.9), flip_rows: bool = False,
                     z0: float = -12.0) -> list[SliceGeometry]:
    """Contiguous axial slices (inferior to superior) centred on x = 0, y = 10; rows x cols = ``shape``."""
    row_dir = np.array([-1.0, 0.0, 0.0]) if flip_rows else np.array([1.0, 0.0, 0.0])
    col_dir = np.array([0.0, 1.0, 0.0])
    rows, cols = shape
    out = []
    for k in range(n):
        centre = np.array([0.0, 10.0, z0 + k * step])
        origin = centre - (cols - 1) / 2 * spacing[1] * row_dir - (rows - 1) / 2 * spacing[0] * col_dir
        out.append(SliceGeometry(tuple(origin), tuple(row_dir), tuple(col_dir), spacing, rows, cols, step))
    return out


def label_slice(g: SliceGeometry) -> np.ndarray:
    """[row, col] uint8: disc (2) ellipse 40 x 30 mm within 5 mm of a disc centre, sac (1) 18 x 13 mm behind it."""
    r, c = np.meshgrid(np.arange(g.rows), np.arange(g.columns), indexing="ij")
    p = g.pixels_to_lps(r, c)
    out = np.zeros((g.rows, g.columns), np.uint8)
    z = float(g.centre_lps_mm[2])
    for dz in DISC_Z:
        if abs(z - dz) <= 5.0:
            out[((p[..., 0] - 1.0) / 20.0) ** 2 + ((p[..., 1] - 0.0) / 15.0) ** 2 <= 1.0] = 2
    out[((p[..., 0] - 1.0) / 9.0) ** 2 + ((p[..., 1] - 24.0) / 6.5) ** 2 <= 1.0] = 1
    return out


def synthetic_volumes(geometries: list[SliceGeometry]) -> tuple[np.ndarray, np.ndarray]:
    """(image float32, labels uint8), both [col, row, k]."""
    labels = np.stack([label_slice(g).T for g in geometries], axis=-1)
    rng = np.random.default_rng(0)
    image = (np.where(labels == 1, 900.0, np.where(labels == 2, 600.0, 150.0))
             + rng.normal(0, 20, labels.shape)).astype(np.float32)
    return image, labels


def write_work_image(work: Path, study_id: str, geometries: list[SliceGeometry], image: np.ndarray,
                     sidecar: bool = True) -> Path:
    """``work/images/<id>.nii.gz`` (+ ``work/geometry/<id>.json`` when ``sidecar``); returns the image path."""
    path = write_nifti(image, stacked_affine_ras(geometries), work / "images" / f"{study_id}.nii.gz")
    if sidecar:
        records = [{"index": k, "sop_uid": f"1.2.826.0.1.{k + 1}", "position": list(g.position_lps_mm),
                    "orientation": [*g.row_direction, *g.column_direction], "spacing": list(g.pixel_spacing_mm),
                    "rows": g.rows, "cols": g.columns, "thickness": g.slice_thickness_mm, "block": 0}
                   for k, g in enumerate(geometries)]
        (work / "geometry").mkdir(parents=True, exist_ok=True)
        (work / "geometry" / f"{study_id}.json").write_text(json.dumps(
            {"study_uid": "1.2.826.0.9", "series_uid": "1.2.826.0.9.1", "blocks": [list(range(len(geometries)))],
             "slices": records}))
    return path
