"""Per-plane values of an image file: one plane for a classic file, one per frame for Enhanced (multi-frame) MR.

Enhanced MR (SOP class 1.2.840.10008.5.1.4.1.1.4.1 and its legacy-converted cousin) keeps each frame's
position, orientation, pixel spacing, rescale and timing in functional groups: the frame's item of
PerFrameFunctionalGroupsSequence, falling back to SharedFunctionalGroupsSequence. A file without them
cannot place its frames in the patient and is reported as such, frame by frame.
"""
from __future__ import annotations

from dataclasses import dataclass

from pydicom.dataset import Dataset

from lib.dicom import tags
from lib.spine.geometry import SliceGeometry


@dataclass(frozen=True)
class PlaneFacts:
    """What differs from one image plane to the next inside a file."""

    frame: int | None  # 0-based frame index in a multi-frame file, None for a single-frame file
    geometry: SliceGeometry | None
    geometry_problem: str | None
    echo_time_ms: float | None
    repetition_time_ms: float | None
    rescale_slope: float
    rescale_intercept: float


def plane_facts(ds: Dataset) -> list[PlaneFacts]:
    """One PlaneFacts per image plane held by ``ds`` (a header read without pixels)."""
    frame_count = tags.integer(tags.get(ds, "NumberOfFrames")) or 1
    if "PerFrameFunctionalGroupsSequence" in ds or "SharedFunctionalGroupsSequence" in ds or frame_count > 1:
        return _functional_group_facts(ds, frame_count)
    return [_classic_facts(ds)]


def _classic_facts(ds: Dataset) -> PlaneFacts:
    """The single plane of a classic (one image per file) header."""
    geometry, problem = tags.build_geometry(
        tags.PlaneValues(
            position=tags.get(ds, "ImagePositionPatient"),
            orientation=tags.get(ds, "ImageOrientationPatient"),
            spacing=tags.get(ds, "PixelSpacing"),
            rows=tags.get(ds, "Rows"),
            columns=tags.get(ds, "Columns"),
            thickness=tags.get(ds, "SliceThickness"),
        )
    )
    return PlaneFacts(
        frame=None,
        geometry=geometry,
        geometry_problem=problem,
        echo_time_ms=_positive(tags.get(ds, "EchoTime")),
        repetition_time_ms=_positive(tags.get(ds, "RepetitionTime")),
        rescale_slope=tags.number(tags.get(ds, "RescaleSlope")) or 1.0,
        rescale_intercept=tags.number(tags.get(ds, "RescaleIntercept")) or 0.0,
    )


def _functional_group_facts(ds: Dataset, frame_count: int) -> list[PlaneFacts]:
    """Each frame's plane from the Enhanced MR functional groups (per-frame item first, then shared)."""
    per_frame = tags.get(ds, "PerFrameFunctionalGroupsSequence") or []
    shared_seq = tags.get(ds, "SharedFunctionalGroupsSequence") or []
    shared = shared_seq[0] if len(shared_seq) else None
    if len(per_frame) != frame_count:
        problem = (
            f"multi-frame image ({frame_count} frames) without a PerFrameFunctionalGroupsSequence item per frame "
            f"(found {len(per_frame)}): the frames cannot be placed in the patient"
        )
        return [_unplaced(ds, i, problem) for i in range(frame_count)]
    return [_frame_facts(ds, i, per_frame[i], shared) for i in range(frame_count)]


def _frame_facts(ds: Dataset, index: int, frame: Dataset, shared: Dataset | None) -> PlaneFacts:
    """One frame's geometry, rescale and timing."""
    position = _group_item(frame, shared, "PlanePositionSequence")
    orientation = _group_item(frame, shared, "PlaneOrientationSequence")
    measures = _group_item(frame, shared, "PixelMeasuresSequence")
    transform = _group_item(frame, shared, "PixelValueTransformationSequence")
    echo = _group_item(frame, shared, "MREchoSequence")
    timing = _group_item(frame, shared, "MRTimingAndRelatedParametersSequence")
    geometry, problem = tags.build_geometry(
        tags.PlaneValues(
            position=tags.get(position, "ImagePositionPatient"),
            orientation=tags.get(orientation, "ImageOrientationPatient"),
            spacing=tags.get(measures, "PixelSpacing"),
            rows=tags.get(ds, "Rows"),
            columns=tags.get(ds, "Columns"),
            thickness=tags.get(measures, "SliceThickness"),
        )
    )
    if problem:
        problem = f"frame {index + 1}: {problem} (Enhanced MR functional groups)"
    slope = tags.number(tags.get(transform, "RescaleSlope"))
    if slope is None:
        slope = tags.number(tags.get(ds, "RescaleSlope")) or 1.0
    intercept = tags.number(tags.get(transform, "RescaleIntercept"))
    if intercept is None:
        intercept = tags.number(tags.get(ds, "RescaleIntercept")) or 0.0
    return PlaneFacts(
        frame=index,
        geometry=geometry,
        geometry_problem=problem,
        echo_time_ms=_positive(tags.get(echo, "EffectiveEchoTime")) or _positive(tags.get(ds, "EchoTime")),
        repetition_time_ms=_positive(tags.get(timing, "RepetitionTime")) or _positive(tags.get(ds, "RepetitionTime")),
        rescale_slope=slope,
        rescale_intercept=intercept,
    )


def _unplaced(ds: Dataset, index: int, problem: str) -> PlaneFacts:
    """A frame that cannot be placed; timing still read from the top level where present."""
    return PlaneFacts(
        frame=index,
        geometry=None,
        geometry_problem=problem,
        echo_time_ms=_positive(tags.get(ds, "EchoTime")),
        repetition_time_ms=_positive(tags.get(ds, "RepetitionTime")),
        rescale_slope=tags.number(tags.get(ds, "RescaleSlope")) or 1.0,
        rescale_intercept=tags.number(tags.get(ds, "RescaleIntercept")) or 0.0,
    )


def _group_item(frame: Dataset, shared: Dataset | None, keyword: str) -> Dataset | None:
    """The first item of a functional group macro, from the frame's own groups, else from the shared ones."""
    for holder in (frame, shared):
        seq = tags.get(holder, keyword)
        if seq is not None and len(seq):
            return seq[0]
    return None


def _positive(value: object) -> float | None:
    """A timing value in ms; 0 and negatives (anonymised or unset) count as absent."""
    parsed = tags.number(value)
    return parsed if parsed is not None and parsed > 0 else None
