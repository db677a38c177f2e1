"""The loaded series: slices with their own geometry and pixels, and how they stack into volumes.

Array conventions (docs/CONTRACTS.md): a slice's ``pixels[row, col]`` is float32 with RescaleSlope/Intercept
applied; a stacked volume is ``volume[i, j, k]`` with i = column, j = row, k = slice in canonical order,
float32, and its affine maps (i, j, k) to RAS millimetres (``lib.spine.geometry.stacked_affine_ras``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lib.spine.geometry import SliceGeometry, stacked_affine_ras

#: AxialSeries.acquisition values.
CONTIGUOUS = "contiguous"
ANGLED = "angled"


@dataclass(frozen=True)
class ImageSlice:
    """One image plane of a series: where it lies, where it came from, and its pixels.

    ``pixels`` is float32 (rows, columns), RescaleSlope/Intercept applied. ``frame_number`` is the 1-based
    frame of a multi-frame (Enhanced MR) file, None for a single-frame file; a multi-frame file's slices share
    its SOP instance UID and are told apart by it.
    """

    sop_instance_uid: str
    geometry: SliceGeometry
    file_path: Path
    instance_number: int | None
    pixels: np.ndarray
    frame_number: int | None = None


#: The name other modules use for a slice of the axial series; sagittal slices are the same class.
AxialSlice = ImageSlice


@dataclass(frozen=True)
class SeriesInfo:
    """The series-level tags, and what the selection concluded from them (plane, weighting and why)."""

    series_uid: str
    series_number: int | None
    description: str
    modality: str
    manufacturer: str
    model: str
    field_strength_t: float | None
    echo_time_ms: float | None
    repetition_time_ms: float | None
    patient_position: str
    image_type: tuple[str, ...]
    sop_class_uid: str
    transfer_syntax_uid: str
    image_count: int
    plane: str  # "axial", "sagittal", "coronal", "mixed" (localizer-like) or "unknown" (no usable geometry)
    weighting: str  # "T2", "not T2" or "unknown"
    weighting_basis: str  # e.g. "EchoTime 100 ms >= 60 and RepetitionTime 4000 ms >= 1500"

    def label(self) -> str:
        """Short human name for messages: ``sagittal series #3 'SAG T2 TSE' (15 images)``."""
        name = f"#{self.series_number}" if self.series_number is not None else self.series_uid
        description = f" '{self.description}'" if self.description else ""
        plane = {"mixed": "multi-plane ", "unknown": ""}.get(self.plane, f"{self.plane} ")
        return f"{plane}series {name}{description} ({self.image_count} images)"


def geometries_of(slices: tuple[ImageSlice, ...]) -> list[SliceGeometry]:
    """Each slice's own geometry, in the order of ``slices``."""
    return [s.geometry for s in slices]


def stack_slices(slices: tuple[ImageSlice, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(cols, rows, n) float32 volume of ``slices`` in their order, and its RAS affine (stacked_affine_ras)."""
    if not slices:
        raise ValueError("cannot stack an empty list of slices")
    volume = np.stack([s.pixels.T for s in slices], axis=-1).astype(np.float32, copy=False)
    return volume, stacked_affine_ras(geometries_of(slices))


@dataclass(frozen=True)
class SagittalSeries:
    """The study's best sagittal series (T2 preferred), for confirming the level count.

    Slices are ordered along the patient's right-to-left axis (increasing LPS x).
    """

    series_uid: str
    info: SeriesInfo
    slices: tuple[ImageSlice, ...]

    def geometries(self) -> list[SliceGeometry]:
        """Each slice's geometry, right to left."""
        return geometries_of(self.slices)

    def stacked_volume(self) -> tuple[np.ndarray, np.ndarray]:
        """(cols, rows, n) float32 volume, right to left, and its RAS affine."""
        return stack_slices(self.slices)


@dataclass(frozen=True)
class AxialSeries:
    """The axial T2 series chosen from a study, slices in canonical order (inferior to superior).

    ``blocks`` index into ``slices``: one block for a contiguous stack, one per disc for an angled acquisition.
    Each slice keeps its own geometry; ``stacked_volume`` is exact for a contiguous stack and nominal for
    angled blocks, whose exact affines come from ``block_volumes``. ``warnings`` lists the files skipped and
    why; ``rejected_series`` why each other series of the study was not chosen.
    """

    study_id: str
    study_uid: str
    series_uid: str
    study_dir: Path
    slices: tuple[ImageSlice, ...]
    blocks: tuple[tuple[int, ...], ...]
    acquisition: str
    info: SeriesInfo
    sagittal: SagittalSeries | None
    warnings: tuple[str, ...]
    rejected_series: tuple[str, ...] = field(default=())

    def geometries(self) -> list[SliceGeometry]:
        """Each slice's own geometry, in canonical order."""
        return geometries_of(self.slices)

    def stacked_volume(self) -> tuple[np.ndarray, np.ndarray]:
        """All slices as one (cols, rows, n) float32 volume, canonical order, and its RAS affine.

        The affine is exact for a contiguous stack and nominal for angled blocks (see stacked_affine_ras).
        """
        return stack_slices(self.slices)

    def block_volumes(self) -> list[tuple[np.ndarray, np.ndarray, tuple[int, ...]]]:
        """Per block: its (cols, rows, n_b) float32 volume, its true RAS affine, and its slice indices."""
        out = []
        for block in self.blocks:
            volume, affine = stack_slices(tuple(self.slices[i] for i in block))
            out.append((volume, affine, block))
        return out

    def block_of_slice(self) -> list[int]:
        """For each slice (canonical order), the index of the block holding it."""
        owner = [0] * len(self.slices)
        for b, block in enumerate(self.blocks):
            for i in block:
                owner[i] = b
        return owner
