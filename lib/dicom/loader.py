"""``load_axial_series``: a study folder in, the axial T2 series (slices in canonical order) out.

Steps: list every file at any depth -> read headers only -> drop duplicate SOP instances -> summarise each
series -> choose the axial T2 (and the best sagittal) -> read the chosen pixels -> order the slices with
``canonical_order`` and group them with ``group_into_blocks``. Anything unusable is either skipped with a
warning (a non-DICOM or truncated file, an unreadable slice) or refused with a StudyError naming the study,
the file and the reason.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from lib.dicom.errors import StudyError, display_path
from lib.dicom.headers import ImageHeader, SkippedFile, list_files, scan_headers
from lib.dicom.pixels import UndecodableTransferSyntax, read_planes
from lib.dicom.selection import (
    MIN_AXIAL_SLICES,
    SelectionError,
    SeriesCandidate,
    choose_axial,
    choose_sagittal,
    summarize_study,
)
from lib.dicom.series import ANGLED, CONTIGUOUS, AxialSeries, ImageSlice, SagittalSeries
from lib.spine.geometry import SAME_BLOCK_MAX_ANGLE_DEG, SliceGeometry, canonical_order, group_into_blocks


class _Notes:
    """Warnings collected while loading, with file paths shown relative to the study folder."""

    def __init__(self, study_dir: Path):
        self.study_dir = study_dir
        self.lines: list[str] = []

    def add(self, path: Path | None, message: str) -> None:
        where = f"{display_path(path, self.study_dir)}: " if path is not None else ""
        self.lines.append(where + message)


def load_axial_series(
    study_dir: Path, study_id: str | None = None, *, min_slices: int = MIN_AXIAL_SLICES, with_sagittal: bool = True
) -> AxialSeries:
    """Find, read and order the axial T2 series of the study in ``study_dir`` (DICOM files at any depth).

    ``study_id`` defaults to the folder name. ``min_slices`` is the fewest images an axial series needs.
    Raises StudyError(study, file, reason) when the study cannot give an axial T2 series.
    """
    study_dir = Path(study_dir)
    study = study_id or study_dir.name

    def fail(file: Path | None, reason: str) -> StudyError:
        return StudyError(study, file, reason, root=study_dir)

    if not study_dir.is_dir():
        raise fail(None, f"study folder {study_dir} does not exist or is not a folder")
    files = list_files(study_dir)
    if not files:
        raise fail(None, f"empty folder: no files under {study_dir} (a DICOMDIR alone does not count)")
    scan = scan_headers(files)
    if not scan.headers:
        first = scan.skipped[0]
        raise fail(first.path, f"no readable DICOM image among {len(files)} file(s): {first.reason}")
    notes = _Notes(study_dir)
    headers = _drop_duplicate_sops(scan.headers, notes)
    candidates = summarize_study(headers, min_slices)
    try:
        chosen = choose_axial(candidates)
    except SelectionError as exc:
        raise fail(exc.file, exc.reason + _skipped_hint(scan.skipped, study_dir)) from None
    _note_skipped(scan.skipped, chosen.info.series_uid, notes)
    _note_other_studies(headers, chosen, notes)
    slices = _read_axial_slices(chosen, notes, fail)
    if len(slices) < min_slices:
        raise fail(chosen.headers[0].path, f"only {len(slices)} readable slice(s) left in {chosen.info.label()}")
    return _assemble(study, study_dir, chosen, slices, candidates, notes, with_sagittal)


def _skipped_hint(skipped: tuple[SkippedFile, ...], study_dir: Path) -> str:
    """'' or a note on the files skipped while reading headers, which may explain a missing series."""
    if not skipped:
        return ""
    first = skipped[0]
    return f" ({len(skipped)} file(s) skipped, e.g. {display_path(first.path, study_dir)}: {first.reason})"


def _assemble(
    study: str, study_dir: Path, chosen: SeriesCandidate, slices: list[ImageSlice],
    candidates: list[SeriesCandidate], notes: _Notes, with_sagittal: bool,
) -> AxialSeries:
    """Order the slices canonically, group blocks, attach the sagittal series, build the AxialSeries."""
    geometries = [s.geometry for s in slices]
    order = canonical_order(geometries)
    position = {original: k for k, original in enumerate(order)}
    blocks = tuple(tuple(position[i] for i in block) for block in group_into_blocks(geometries))
    ordered = tuple(slices[i] for i in order)
    sagittal = _load_sagittal(candidates, notes) if with_sagittal else None
    return AxialSeries(
        study_id=study,
        study_uid=chosen.headers[0].study_uid,
        series_uid=chosen.info.series_uid,
        study_dir=study_dir,
        slices=ordered,
        blocks=blocks,
        acquisition=acquisition_kind([ordered[b[0]].geometry for b in blocks]),
        info=chosen.info,
        sagittal=sagittal,
        warnings=tuple(notes.lines),
        rejected_series=tuple(_why_not(c, chosen) for c in candidates if c is not chosen),
    )


def _why_not(candidate: SeriesCandidate, chosen: SeriesCandidate) -> str:
    """Why a series other than the chosen one was not taken."""
    if candidate.rejection is None:
        return f"{candidate.info.label()}: also axial T2, but {chosen.info.label()} has more images or span"
    return candidate.describe()


def acquisition_kind(block_geometries: list[SliceGeometry]) -> str:
    """'angled' when blocks differ in orientation (per-disc blocks), else 'contiguous'."""
    if len(block_geometries) < 2:
        return CONTIGUOUS
    first = block_geometries[0].normal
    cos_tol = np.cos(np.deg2rad(SAME_BLOCK_MAX_ANGLE_DEG))
    differs = any(abs(float(first @ g.normal)) < cos_tol for g in block_geometries[1:])
    return ANGLED if differs else CONTIGUOUS


def _drop_duplicate_sops(headers: tuple[ImageHeader, ...], notes: _Notes) -> tuple[ImageHeader, ...]:
    """Keep the first image plane of each SOP instance UID (and frame); warn about the others."""
    kept: dict[tuple[str, int | None], ImageHeader] = {}
    for header in headers:
        first = kept.setdefault(header.key, header)
        if first is not header:
            notes.add(header.path, f"skipped: duplicate SOP instance UID {header.sop_instance_uid} "
                                   f"(kept {display_path(first.path, notes.study_dir)})")
    return tuple(kept.values())


def _note_skipped(skipped: tuple[SkippedFile, ...], series_uid: str, notes: _Notes) -> None:
    """One warning per skipped file; those of the chosen series say a slice is missing."""
    for item in skipped:
        if item.series_uid == series_uid:
            notes.add(item.path, f"slice missing from the axial series: {item.reason}")
        elif item.series_uid is None and item.reason.startswith("truncated"):
            notes.add(item.path, f"skipped: {item.reason} (series unknown: possibly a missing slice)")
        else:
            notes.add(item.path, f"skipped: {item.reason}")


def _note_other_studies(headers: tuple[ImageHeader, ...], chosen: SeriesCandidate, notes: _Notes) -> None:
    """Warn when the folder mixes several studies (only the chosen series' study is used)."""
    studies = Counter(h.study_uid for h in headers)
    if len(studies) > 1:
        notes.add(None, f"the folder holds {len(studies)} studies (StudyInstanceUID); only the one of "
                        f"{chosen.info.label()} ({chosen.headers[0].study_uid}) is used")


def _read_axial_slices(
    chosen: SeriesCandidate, notes: _Notes, fail: Callable[[Path | None, str], StudyError]
) -> list[ImageSlice]:
    """Slices of the chosen series with pixels; unreadable ones dropped with a warning."""
    headers = _drop_duplicate_positions(chosen.headers, notes)
    try:
        pixels, failures = read_planes(list(headers))
    except UndecodableTransferSyntax as exc:
        raise fail(exc.file, str(exc)) from None
    for failure in failures:
        notes.add(failure.header.path, f"slice missing from the axial series: {failure.reason}")
    if not pixels:
        first = failures[0]
        raise fail(first.header.path, f"no slice of {chosen.info.label()} could be read: {first.reason}")
    return [_slice(h, pixels[h.key]) for h in headers if h.key in pixels]


def _drop_duplicate_positions(headers: tuple[ImageHeader, ...], notes: _Notes) -> tuple[ImageHeader, ...]:
    """One image per plane position: repeated positions (e.g. a second echo) keep the longest EchoTime."""
    best: dict[tuple, ImageHeader] = {}
    for header in headers:
        g = header.geometry
        assert g is not None  # the selection refuses series with unplaced images
        key = tuple(np.round(g.position_lps_mm, 2)) + tuple(np.round(g.row_direction + g.column_direction, 3))
        other = best.get(key)
        if other is None:
            best[key] = header
            continue
        keep, drop = (header, other) if (header.echo_time_ms or 0) > (other.echo_time_ms or 0) else (other, header)
        best[key] = keep
        notes.add(drop.path, f"skipped: same position as {display_path(keep.path, notes.study_dir)} "
                             f"(kept the one with the longer EchoTime)")
    kept = set(id(h) for h in best.values())
    return tuple(h for h in headers if id(h) in kept)


def _slice(header: ImageHeader, pixels: np.ndarray) -> ImageSlice:
    """An ImageSlice from a placed header and its pixels."""
    assert header.geometry is not None
    return ImageSlice(
        sop_instance_uid=header.sop_instance_uid,
        geometry=header.geometry,
        file_path=header.path,
        instance_number=header.instance_number,
        pixels=pixels,
        frame_number=None if header.frame is None else header.frame + 1,
    )


def _load_sagittal(candidates: list[SeriesCandidate], notes: _Notes) -> SagittalSeries | None:
    """The best sagittal series with pixels, right to left; None (with a warning if it failed) otherwise."""
    chosen = choose_sagittal(candidates)
    if chosen is None:
        return None
    try:
        pixels, failures = read_planes(list(chosen.headers))
    except UndecodableTransferSyntax as exc:
        notes.add(exc.file, f"sagittal series not loaded: {exc}")
        return None
    for failure in failures:
        notes.add(failure.header.path, f"slice missing from the sagittal series: {failure.reason}")
    slices = [_slice(h, pixels[h.key]) for h in chosen.headers if h.key in pixels]
    if not slices:
        return None
    slices.sort(key=lambda s: float(s.geometry.origin @ _leftward_normal(s.geometry)))
    return SagittalSeries(series_uid=chosen.info.series_uid, info=chosen.info, slices=tuple(slices))


def _leftward_normal(geometry: SliceGeometry) -> np.ndarray:
    """The plane normal oriented towards the patient's left (+x LPS)."""
    n = geometry.normal
    return n if n[0] >= 0 else -n
