"""Crops for the grading classifiers, sampled in millimetres in the anatomical frame of each level.

A crop is a float32 array ``(3, S, S)``: channels are the mid-disc slice's inferior neighbour, the mid-disc slice and
its superior neighbour (canonical order; a slice at the edge of its block stands in for a missing neighbour).
``crop[c, r, q]`` lies at ``centre + (r - (S-1)/2) * step * AP + (q - (S-1)/2) * step * LAT`` in patient LPS mm, where
``step = field_mm / S``, AP is the in-plane unit vector from the disc centroid to the dural sac centroid (anterior to
posterior, so rows run top = anterior, as on a radiological display) and LAT is the in-plane unit vector towards the
patient's left. Right-side regions use -LAT (mirrored), so a right foramen looks like a left one and one model grades
both. Pixel spacing, matrix, in-plane rotation and field of view of the acquisition therefore do not change the crop.

Intensities are normalised per crop from percentiles (vendors scale MR signal arbitrarily): 1st -> -1, 99th -> +1,
clipped to [-1.5, 1.5]. numpy/scipy only, no torch.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from scipy import ndimage

from lib.grading.structures import REGIONS, Region, Structure
from lib.spine.geometry import SliceGeometry, group_into_blocks


@dataclass(frozen=True)
class CropSpec:
    """Size of a crop: ``size_px`` samples across ``field_mm`` millimetres, square."""

    size_px: int = 96
    field_mm: float = 48.0

    def __post_init__(self):
        if self.size_px < 8:
            raise ValueError(f"CropSpec.size_px must be >= 8, got {self.size_px}")
        if self.field_mm <= 0:
            raise ValueError(f"CropSpec.field_mm must be > 0, got {self.field_mm}")

    @property
    def step_mm(self) -> float:
        return self.field_mm / self.size_px


#: Default fields of view: the canal crop holds the sac, the back of the disc and the ligamenta flava;
#: foramen and facet crops hold the joint or the foramen with its fat and root.
DEFAULT_FIELDS_MM: dict[Structure, float] = {Structure.CANAL: 56.0, Structure.FORAMEN: 40.0, Structure.FACET: 40.0}


class SeriesSlices:
    """Index over an axial series (``.slices[k]`` with ``.pixels``, ``.geometry``, ``.sop_instance_uid``, canonical
    order): slice by SOP Instance UID, and neighbours within the same block.

    A multi-frame file's frames share one SOP Instance UID; the first frame with a UID answers for it (stage 1's
    ``slice_sop_uid`` names no frame).
    """

    def __init__(self, series: Any):
        self.slices = list(series.slices)
        self.geometries: list[SliceGeometry] = [s.geometry for s in self.slices]
        self.index_by_sop: dict[str, int] = {}
        for k, s in enumerate(self.slices):
            self.index_by_sop.setdefault(str(s.sop_instance_uid), k)
        self._block_of: dict[int, list[int]] = {}
        for block in group_into_blocks(self.geometries):
            ordered = sorted(block)
            for k in block:
                self._block_of[k] = ordered

    def index_of(self, sop_uid: str) -> int:
        try:
            return self.index_by_sop[str(sop_uid)]
        except KeyError:
            raise KeyError(f"SOP Instance UID {sop_uid} is not a slice of this series") from None

    def neighbours(self, k: int) -> tuple[int, int, int]:
        """(inferior, k, superior) within k's block; k itself where a neighbour is missing."""
        block = self._block_of.get(k, [k])
        pos = block.index(k)
        lo = block[pos - 1] if pos > 0 else k
        hi = block[pos + 1] if pos + 1 < len(block) else k
        return lo, k, hi


def project_to_plane(point_lps: Sequence[float], geometry: SliceGeometry) -> np.ndarray:
    """Orthogonal projection of an LPS point onto the slice plane."""
    p = np.asarray(point_lps, float)
    n = geometry.normal
    return p - float((p - geometry.origin) @ n) * n


def anatomical_frame(geometry: SliceGeometry, disc_lps, sac_lps) -> tuple[np.ndarray, np.ndarray]:
    """(AP, LAT): in-plane unit vectors, AP from the disc centroid towards the dural sac centroid (posterior),
    LAT perpendicular to it towards the patient's left (+x LPS)."""
    n = geometry.normal
    ap = np.asarray(sac_lps, float) - np.asarray(disc_lps, float)
    ap = ap - float(ap @ n) * n
    if np.linalg.norm(ap) < 1e-6:  # coincident centroids: fall back to the patient's posterior direction
        ap = np.array([0.0, 1.0, 0.0]) - n[1] * n
    ap = ap / np.linalg.norm(ap)
    lat = np.cross(ap, n)
    lat = lat / np.linalg.norm(lat)
    if lat[0] < 0:
        lat = -lat
    return ap, lat


def grid_points(centre_lps, ap, lat, spec: CropSpec, mirrored: bool = False) -> np.ndarray:
    """LPS mm of every crop sample, shape (S, S, 3); rows along AP, columns along LAT (or -LAT when mirrored)."""
    offsets = (np.arange(spec.size_px) - (spec.size_px - 1) / 2.0) * spec.step_mm
    lat = -np.asarray(lat) if mirrored else np.asarray(lat)
    return (
        np.asarray(centre_lps, float)[None, None, :]
        + offsets[:, None, None] * np.asarray(ap)[None, None, :]
        + offsets[None, :, None] * lat[None, None, :]
    )


def sample_slice(pixels: np.ndarray, geometry: SliceGeometry, points_lps: np.ndarray, step_mm: float) -> np.ndarray:
    """Values of ``pixels`` at LPS points (projected onto the plane), shape points.shape[:-1].

    Bilinear interpolation, after a Gaussian pre-filter where the crop's step is coarser than the pixels, so that a
    fine acquisition is not aliased and looks like a coarse one of the same anatomy.
    """
    d = points_lps - geometry.origin
    dr, dc = geometry.pixel_spacing_mm
    cols = d @ np.asarray(geometry.row_direction, float) / dc
    rows = d @ np.asarray(geometry.column_direction, float) / dr
    sigma = [0.42 * np.sqrt(max(step_mm**2 - s**2, 0.0)) / s for s in (dr, dc)]
    margin = int(np.ceil(3 * max(sigma))) + 2
    r0 = int(np.clip(np.floor(rows.min()) - margin, 0, pixels.shape[0] - 1))
    r1 = int(np.clip(np.ceil(rows.max()) + margin + 1, r0 + 1, pixels.shape[0]))
    c0 = int(np.clip(np.floor(cols.min()) - margin, 0, pixels.shape[1] - 1))
    c1 = int(np.clip(np.ceil(cols.max()) + margin + 1, c0 + 1, pixels.shape[1]))
    window = np.asarray(pixels[r0:r1, c0:c1], np.float32)
    if max(sigma) > 0.3:
        window = ndimage.gaussian_filter(window, sigma=sigma, mode="nearest")
    coords = np.stack([rows - r0, cols - c0])
    return ndimage.map_coordinates(window, coords, order=1, mode="nearest").astype(np.float32)


def robust_normalise(crop: np.ndarray, low_pct: float = 1.0, high_pct: float = 99.0) -> np.ndarray:
    """Map the crop's ``low_pct`` percentile to -1 and ``high_pct`` to +1 (all channels together), clip to ±1.5."""
    lo, hi = np.percentile(crop, [low_pct, high_pct])
    scaled = 2.0 * (crop - lo) / max(float(hi - lo), 1e-6) - 1.0
    return np.clip(scaled, -1.5, 1.5).astype(np.float32)


def region_crop(index: SeriesSlices, k: int, centre_lps, frame, spec: CropSpec, mirrored: bool) -> np.ndarray:
    """One normalised crop (3, S, S) around ``centre_lps`` on slice k and its block neighbours."""
    geometry = index.geometries[k]
    centre = project_to_plane(centre_lps, geometry)
    points = grid_points(centre, frame[0], frame[1], spec, mirrored)
    channels = [
        sample_slice(index.slices[j].pixels, index.geometries[j], points, spec.step_mm) for j in index.neighbours(k)
    ]
    return robust_normalise(np.stack(channels))


def level_crops(
    index: SeriesSlices,
    level_entry: dict,
    specs: dict[Structure, CropSpec],
    regions: Sequence[Region] = REGIONS,
) -> dict[str, np.ndarray]:
    """Crops of one level, keyed by region name, from a stage 1 level entry (``slice_sop_uid`` and
    ``landmarks_lps_mm`` with the region landmarks plus ``disc_centroid`` and ``dural_sac_centroid``)."""
    k = index.index_of(level_entry["slice_sop_uid"])
    marks = level_entry["landmarks_lps_mm"]
    frame = anatomical_frame(index.geometries[k], marks["disc_centroid"], marks["dural_sac_centroid"])
    return {
        r.name: region_crop(index, k, marks[r.landmark], frame, specs[r.structure], r.mirrored)
        for r in regions
        if r.structure in specs
    }
