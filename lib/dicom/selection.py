"""Choosing the axial T2 series (and the best sagittal) of a study by geometry and tags, never by folder names.

A series is the axial T2 candidate when it is MR, its planes face the patient's superior axis (every plane's
normal closest to z, median tilt at most AXIAL_MAX_TILT_DEG, so angled per-disc blocks qualify), it is
T2-weighted, is no localizer, and its images are consistent. T2 weighting is read from EchoTime and
RepetitionTime when present; SeriesDescription hints (T2, t2_tse, T2W) are used only when the timing tags
are missing. Among candidates the one with most images, then the longest superior-inferior span, wins.
Every other series gets a rejection reason, which ends up in the error message when nothing qualifies.
"""
from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lib.dicom.headers import ImageHeader
from lib.dicom.series import SeriesInfo

#: Largest median angle (degrees) between an axial series' plane normals and the patient's superior axis.
AXIAL_MAX_TILT_DEG = 35.0
#: T2 weighting: EchoTime at least this (ms) ...
T2_MIN_ECHO_TIME_MS = 60.0
#: ... and RepetitionTime at least this (ms), when the tags are present.
T2_MIN_REPETITION_TIME_MS = 1500.0
#: Fewest images an axial series needs to be usable for lumbar grading.
MIN_AXIAL_SLICES = 3
#: ImageType values that mark a series as unusable for grading, with the reason given.
UNUSABLE_IMAGE_TYPES = {
    "LOCALIZER": "localizer (ImageType LOCALIZER)",
    "SCOUT": "localizer (ImageType SCOUT)",
    "MOSAIC": "Siemens mosaic (ImageType MOSAIC): many slices tiled in one image are not supported",
    "DIFFUSION": "diffusion-weighted series (ImageType DIFFUSION)",
    "ADC": "ADC map (ImageType ADC)",
    "PROJECTION IMAGE": "projection image (ImageType PROJECTION IMAGE, e.g. a MIP)",
}
_T2_HINT = re.compile(r"t2(?!\s*\*|\s*star)", re.IGNORECASE)  # T2, T2W, t2_tse; not T2* / T2star
_AXES = ("sagittal", "coronal", "axial")  # plane whose normal is mostly LPS x, y, z


class SelectionError(Exception):
    """No series qualifies; ``reason`` says what was found, ``file`` names a representative file."""

    def __init__(self, reason: str, file: Path | None):
        super().__init__(reason)
        self.reason = reason
        self.file = file


@dataclass(frozen=True)
class SeriesCandidate:
    """One series of the study, summarised, with why it cannot be the axial T2 series (None if it can)."""

    info: SeriesInfo
    headers: tuple[ImageHeader, ...]
    rejection: str | None
    rejection_file: Path | None

    def describe(self) -> str:
        """``label: rejection`` for messages (the label alone when the rejection only restates the plane)."""
        if not self.rejection or self.rejection == f"{self.info.plane}, not axial":
            return self.info.label()
        return f"{self.info.label()}: {self.rejection}"


def plane_of(normal: np.ndarray) -> str:
    """'sagittal', 'coronal' or 'axial': the patient axis closest to the plane normal."""
    return _AXES[int(np.argmax(np.abs(normal)))]


def tilt_from_axial_deg(normal: np.ndarray) -> float:
    """Angle in degrees between a plane normal and the patient's superior-inferior axis."""
    return float(np.degrees(np.arccos(min(1.0, abs(float(normal[2]))))))


def t2_weighting(echo_ms: float | None, repetition_ms: float | None, description: str) -> tuple[str, str]:
    """("T2" | "not T2" | "unknown", the basis of that verdict), timing tags first, description as fallback."""
    if echo_ms is not None:
        timing = f"EchoTime {echo_ms:g} ms" + (f", RepetitionTime {repetition_ms:g} ms" if repetition_ms else "")
        long_tr = repetition_ms is None or repetition_ms >= T2_MIN_REPETITION_TIME_MS
        if echo_ms >= T2_MIN_ECHO_TIME_MS and long_tr:
            return "T2", timing
        return "not T2", f"{timing} (T2 needs EchoTime >= {T2_MIN_ECHO_TIME_MS:g} ms, RepetitionTime >= " \
                         f"{T2_MIN_REPETITION_TIME_MS:g} ms)"
    if repetition_ms is not None and repetition_ms < T2_MIN_REPETITION_TIME_MS:
        return "not T2", f"RepetitionTime {repetition_ms:g} ms < {T2_MIN_REPETITION_TIME_MS:g} (no EchoTime)"
    if _T2_HINT.search(description or ""):
        return "T2", f"SeriesDescription '{description}' (timing tags missing)"
    return "unknown", f"no EchoTime and SeriesDescription '{description}' gives no T2 hint"


def summarize(series_uid: str, headers: list[ImageHeader], min_slices: int = MIN_AXIAL_SLICES) -> SeriesCandidate:
    """Summarise one series and decide whether it can be the axial T2 series."""
    ordered = tuple(sorted(headers, key=lambda h: (str(h.path), h.frame or 0)))
    info = _series_info(series_uid, ordered)
    rejection, file = _axial_rejection(info, ordered, min_slices)
    return SeriesCandidate(info=info, headers=ordered, rejection=rejection, rejection_file=file)


def summarize_study(headers: tuple[ImageHeader, ...], min_slices: int = MIN_AXIAL_SLICES) -> list[SeriesCandidate]:
    """Every series of the study, by SeriesInstanceUID, in series-number order."""
    by_series: dict[str, list[ImageHeader]] = {}
    for header in headers:
        by_series.setdefault(header.series_uid, []).append(header)
    candidates = [summarize(uid, group, min_slices) for uid, group in by_series.items()]
    return sorted(candidates, key=lambda c: (c.info.series_number is None, c.info.series_number or 0,
                                             c.info.series_uid))


def choose_axial(candidates: list[SeriesCandidate]) -> SeriesCandidate:
    """The axial T2 series with most images (then the longest span); SelectionError when there is none."""
    usable = [c for c in candidates if c.rejection is None]
    if usable:
        return max(usable, key=lambda c: (c.info.image_count, _z_span_mm(c.headers)))
    reason, file = _no_axial_reason(candidates)
    raise SelectionError(reason, file)


def choose_sagittal(candidates: list[SeriesCandidate]) -> SeriesCandidate | None:
    """The best sagittal MR series (T2 first, then most images) whose images can be stacked, or None."""
    sagittal = [
        c for c in candidates
        if c.info.modality == "MR" and c.info.plane == "sagittal" and _sagittal_usable(c)
    ]
    if not sagittal:
        return None
    return max(sagittal, key=lambda c: (c.info.weighting == "T2", c.info.image_count))


def _sagittal_usable(candidate: SeriesCandidate) -> bool:
    """No localizer, mosaic or colour image; every image placed and of one size."""
    info = candidate.info
    if any(t in UNUSABLE_IMAGE_TYPES for t in info.image_type) or candidate.headers[0].samples_per_pixel != 1:
        return False
    return all(h.geometry is not None for h in candidate.headers) and _inconsistency(candidate.headers) is None


def _series_info(series_uid: str, headers: tuple[ImageHeader, ...]) -> SeriesInfo:
    """SeriesInfo from the series' headers (timing: the median over images)."""
    first = headers[0]
    echo = _median([h.echo_time_ms for h in headers])
    repetition = _median([h.repetition_time_ms for h in headers])
    weighting, basis = t2_weighting(echo, repetition, first.series_description)
    return SeriesInfo(
        series_uid=series_uid,
        series_number=first.series_number,
        description=first.series_description,
        modality=first.modality,
        manufacturer=first.manufacturer,
        model=first.model,
        field_strength_t=first.field_strength_t,
        echo_time_ms=echo,
        repetition_time_ms=repetition,
        patient_position=first.patient_position,
        image_type=first.image_type,
        sop_class_uid=first.sop_class_uid,
        transfer_syntax_uid=first.transfer_syntax_uid,
        image_count=len(headers),
        plane=_series_plane(headers),
        weighting=weighting,
        weighting_basis=basis,
    )


def _series_plane(headers: tuple[ImageHeader, ...]) -> str:
    """The plane shared by all placed images; 'mixed' for several (a localizer), 'unknown' for none."""
    planes = {plane_of(h.geometry.normal) for h in headers if h.geometry is not None}
    if not planes:
        return "unknown"
    return planes.pop() if len(planes) == 1 else "mixed"


def _axial_rejection(
    info: SeriesInfo, headers: tuple[ImageHeader, ...], min_slices: int
) -> tuple[str | None, Path | None]:
    """Why this series cannot be the axial T2 series, and the file to name; (None, None) when it can."""
    first = headers[0].path
    if info.modality != "MR":
        return f"modality {info.modality or '?'}, not MR", first
    if headers[0].samples_per_pixel != 1:
        return f"colour images (SamplesPerPixel {headers[0].samples_per_pixel})", first
    for image_type, reason in UNUSABLE_IMAGE_TYPES.items():
        if image_type in info.image_type:
            return reason, first
    unplaced = next((h for h in headers if h.geometry is None), None)
    if unplaced is not None:
        return unplaced.geometry_problem, unplaced.path
    if info.plane == "mixed":
        planes = sorted({plane_of(h.geometry.normal) for h in headers})  # type: ignore[union-attr]
        return f"localizer-like: images in {len(planes)} planes ({', '.join(planes)})", first
    if info.plane != "axial":
        return f"{info.plane}, not axial", first
    tilt = statistics.median(tilt_from_axial_deg(h.geometry.normal) for h in headers)  # type: ignore[union-attr]
    if tilt > AXIAL_MAX_TILT_DEG:
        return f"planes tilted {tilt:.0f} deg from axial (at most {AXIAL_MAX_TILT_DEG:g})", first
    if info.weighting != "T2":
        verdict = "not T2" if info.weighting == "not T2" else "T2 weighting unknown"
        return f"{verdict}: {info.weighting_basis}", first
    if info.image_count < min_slices:
        return f"only {info.image_count} image(s): an axial series needs at least {min_slices}", first
    return _inconsistency(headers) or (None, None)


def _inconsistency(headers: tuple[ImageHeader, ...]) -> tuple[str, Path] | None:
    """A reason and file when images differ in Rows/Columns or PixelSpacing (they must stack), else None."""
    def size_of(h: ImageHeader) -> tuple[int, int, float, float]:
        spacing = h.geometry.pixel_spacing_mm if h.geometry else (0.0, 0.0)
        return h.rows, h.columns, round(spacing[0], 3), round(spacing[1], 3)

    counts = Counter(size_of(h) for h in headers)
    if len(counts) == 1:
        return None
    common = counts.most_common(1)[0][0]
    odd = next(h for h in headers if size_of(h) != common)
    r, c, dr, dc = size_of(odd)
    return (
        f"inconsistent image size within the series: {common[0]}x{common[1]} at {common[2]:g}x{common[3]:g} mm "
        f"({counts[common]} images) but {r}x{c} at {dr:g}x{dc:g} mm in this file",
        odd.path,
    )


def _no_axial_reason(candidates: list[SeriesCandidate]) -> tuple[str, Path | None]:
    """The message when no axial T2 series exists, and the most relevant file to name."""
    if not candidates:
        return "no image series found", None
    mr = [c for c in candidates if c.info.modality == "MR"]
    if not mr:
        modalities = sorted({c.info.modality or "?" for c in candidates})
        return f"modality {', '.join(modalities)}, not MR", candidates[0].headers[0].path
    axial = [c for c in mr if c.info.plane == "axial"]
    found = axial or [c for c in mr if c.info.plane == "unknown"] or mr
    best = max(found, key=lambda c: (c.info.weighting == "T2", c.info.image_count))
    listing = "; ".join(c.describe() for c in (axial or mr))
    prefix = "no usable axial T2 series: " if axial else "no axial series: found "
    return prefix + listing, best.rejection_file or best.headers[0].path


def _z_span_mm(headers: tuple[ImageHeader, ...]) -> float:
    """Superior-inferior extent of the images' centres (mm)."""
    zs = [float(h.geometry.centre_lps_mm[2]) for h in headers if h.geometry is not None]
    return max(zs) - min(zs) if zs else 0.0


def _median(values: list[float | None]) -> float | None:
    """Median of the values present, None when there are none."""
    present = [v for v in values if v is not None]
    return float(statistics.median(present)) if present else None
