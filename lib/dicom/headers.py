"""Reading the headers of every file in a study folder, without pixels.

Each image file gives one ``ImageHeader`` per image plane (one per frame for Enhanced MR); everything else is
a ``SkippedFile`` with the reason: not DICOM, a DICOMDIR, a non-image object (SR, SEG, PR ...), a file that
ends before its pixel data (truncated), a header without the UIDs we group by. Files are found at any depth,
whatever their names (no extension, .dcm, .IMA, upper case); series are told apart by SeriesInstanceUID only.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset

from lib.dicom import tags
from lib.dicom.frames import PlaneFacts, plane_facts
from lib.spine.geometry import SliceGeometry

#: Media Storage Directory (DICOMDIR) SOP class.
DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"
#: Modalities of objects that carry no image to read.
NON_IMAGE_MODALITIES = frozenset({"SR", "PR", "KO", "SEG", "RTSTRUCT", "RTPLAN", "RTRECORD", "REG", "DOC", "FID"})
#: SOP class prefixes of non-image objects: SR and KO, presentation states, raw data, encapsulated documents,
#: MR spectroscopy, radiotherapy.
NON_IMAGE_SOP_PREFIXES = (
    "1.2.840.10008.5.1.4.1.1.88.",
    "1.2.840.10008.5.1.4.1.1.11.",
    "1.2.840.10008.5.1.4.1.1.66",
    "1.2.840.10008.5.1.4.1.1.104.",
    "1.2.840.10008.5.1.4.1.1.4.2",
    "1.2.840.10008.5.1.4.1.1.481.",
)


@dataclass(frozen=True)
class ImageHeader:
    """Header facts of one image plane: a single-frame file, or one frame of a multi-frame file."""

    path: Path
    frame: int | None
    sop_instance_uid: str
    sop_class_uid: str
    study_uid: str
    series_uid: str
    series_number: int | None
    instance_number: int | None
    modality: str
    series_description: str
    image_type: tuple[str, ...]
    manufacturer: str
    model: str
    field_strength_t: float | None
    echo_time_ms: float | None
    repetition_time_ms: float | None
    patient_position: str
    transfer_syntax_uid: str
    samples_per_pixel: int
    rows: int
    columns: int
    geometry: SliceGeometry | None
    geometry_problem: str | None
    rescale_slope: float
    rescale_intercept: float

    @property
    def key(self) -> tuple[str, int | None]:
        """Identity of the plane: SOP instance UID, plus the frame for a multi-frame file."""
        return self.sop_instance_uid, self.frame


@dataclass(frozen=True)
class SkippedFile:
    """A file that gave no usable image plane, and why; ``series_uid`` when the header got that far."""

    path: Path
    reason: str
    series_uid: str | None = None


@dataclass(frozen=True)
class HeaderScan:
    """The result of reading every header of a study folder."""

    headers: tuple[ImageHeader, ...]
    skipped: tuple[SkippedFile, ...]


class _Skip(Exception):
    """Internal: this file is to be skipped; carries the reason and the series UID when known."""

    def __init__(self, reason: str, series_uid: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.series_uid = series_uid


def list_files(folder: Path) -> list[Path]:
    """Every regular file under ``folder`` at any depth, sorted, except files named DICOMDIR."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if name.upper() != "DICOMDIR" and path.is_file():
                found.append(path)
    return found


def scan_headers(files: list[Path]) -> HeaderScan:
    """Read the header of every file; image planes in ``headers``, the rest in ``skipped`` with reasons."""
    headers: list[ImageHeader] = []
    skipped: list[SkippedFile] = []
    for path in files:
        try:
            headers.extend(read_image_headers(path))
        except _Skip as skip:
            skipped.append(SkippedFile(path, skip.reason, skip.series_uid))
    return HeaderScan(tuple(headers), tuple(skipped))


def read_image_headers(path: Path) -> list[ImageHeader]:
    """The image planes of one file; raises ``_Skip`` (caught by scan_headers) for a file to skip."""
    ds, ended_before_pixels = read_header_dataset(path)
    series_uid = tags.text(ds, "SeriesInstanceUID") or None
    _refuse_non_images(ds, ended_before_pixels, series_uid)
    missing = [k for k in ("SOPInstanceUID", "SeriesInstanceUID") if not tags.text(ds, k)]
    if missing:
        raise _Skip(f"incomplete header: missing {', '.join(missing)}", series_uid)
    return [_image_header(path, ds, facts) for facts in plane_facts(ds)]


def read_header_dataset(path: Path) -> tuple[Dataset, bool]:
    """The header of ``path`` (no pixels) and whether the file ended before any pixel data.

    Files with the 128-byte preamble and 'DICM' are read normally; others only with ``force`` and are kept
    only if they carry SOP class and instance UIDs (raw DICOM without preamble), so that text files, images
    of other formats and random bytes are told apart from DICOM.
    """
    standard = False
    try:
        with open(path, "rb") as fp:
            size = os.fstat(fp.fileno()).st_size
            if size == 0:
                raise _Skip("empty file (0 bytes), not DICOM")
            standard = fp.read(132)[128:132] == b"DICM"
            fp.seek(0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = pydicom.dcmread(fp, stop_before_pixels=True, force=not standard)
            ended = fp.tell() >= size
    except _Skip:
        raise
    except OSError as exc:
        raise _Skip(f"cannot open: {exc.strerror or exc}") from exc
    except Exception as exc:  # pydicom raises many kinds on garbage
        kind = "unreadable DICOM header" if standard else "not a DICOM file"
        raise _Skip(f"{kind} ({type(exc).__name__}: {str(exc)[:120]})") from exc
    if not standard and not (tags.text(ds, "SOPClassUID") and tags.text(ds, "SOPInstanceUID")):
        raise _Skip("not a DICOM file (no DICM preamble and no SOP UIDs)")
    return ds, ended


def _refuse_non_images(ds: Dataset, ended_before_pixels: bool, series_uid: str | None) -> None:
    """Raise ``_Skip`` for a DICOMDIR, a non-image object, or an image file cut before its pixels."""
    sop_class = _sop_class(ds)
    if sop_class == DICOMDIR_SOP_CLASS or "DirectoryRecordSequence" in ds:
        raise _Skip("DICOMDIR (media directory), not an image")
    modality = tags.text(ds, "Modality").upper()
    if modality in NON_IMAGE_MODALITIES or sop_class.startswith(NON_IMAGE_SOP_PREFIXES):
        raise _Skip(f"non-image object (Modality {modality or '?'}, SOP class {sop_class or '?'})", series_uid)
    if ended_before_pixels:
        raise _Skip("truncated file: it ends before its pixel data", series_uid)
    if "Rows" not in ds or "Columns" not in ds:
        raise _Skip(f"non-image object (no Rows/Columns; Modality {modality or '?'})", series_uid)


def _sop_class(ds: Dataset) -> str:
    """SOPClassUID, else the file meta MediaStorageSOPClassUID, else ''."""
    return tags.text(ds, "SOPClassUID") or tags.text(getattr(ds, "file_meta", None), "MediaStorageSOPClassUID")


def _image_header(path: Path, ds: Dataset, facts: PlaneFacts) -> ImageHeader:
    """Combine the file-level attributes with one plane's facts."""
    transfer_syntax = tags.text(getattr(ds, "file_meta", None), "TransferSyntaxUID")
    if not transfer_syntax:  # raw DICOM without meta: pydicom guessed it while reading
        transfer_syntax = _guessed_transfer_syntax(ds)
    return ImageHeader(
        path=path,
        frame=facts.frame,
        sop_instance_uid=tags.text(ds, "SOPInstanceUID"),
        sop_class_uid=_sop_class(ds),
        study_uid=tags.text(ds, "StudyInstanceUID"),
        series_uid=tags.text(ds, "SeriesInstanceUID"),
        series_number=tags.integer(tags.get(ds, "SeriesNumber")),
        instance_number=tags.integer(tags.get(ds, "InstanceNumber")),
        modality=tags.text(ds, "Modality").upper(),
        series_description=tags.text(ds, "SeriesDescription") or tags.text(ds, "ProtocolName"),
        image_type=tags.text_values(ds, "ImageType"),
        manufacturer=tags.text(ds, "Manufacturer"),
        model=tags.text(ds, "ManufacturerModelName"),
        field_strength_t=tags.number(tags.get(ds, "MagneticFieldStrength")),
        echo_time_ms=facts.echo_time_ms,
        repetition_time_ms=facts.repetition_time_ms,
        patient_position=tags.text(ds, "PatientPosition"),
        transfer_syntax_uid=transfer_syntax,
        samples_per_pixel=tags.integer(tags.get(ds, "SamplesPerPixel")) or 1,
        rows=tags.integer(tags.get(ds, "Rows")) or 0,
        columns=tags.integer(tags.get(ds, "Columns")) or 0,
        geometry=facts.geometry,
        geometry_problem=facts.geometry_problem,
        rescale_slope=facts.rescale_slope,
        rescale_intercept=facts.rescale_intercept,
    )


def _guessed_transfer_syntax(ds: Dataset) -> str:
    """Implicit / explicit little / explicit big endian, as pydicom found it reading a file without meta."""
    if getattr(ds, "is_implicit_VR", True):
        return "1.2.840.10008.1.2"
    return "1.2.840.10008.1.2.1" if getattr(ds, "is_little_endian", True) else "1.2.840.10008.1.2.2"


def read_study_uid(path: Path) -> str | None:
    """StudyInstanceUID of a DICOM file, None if it is not a readable DICOM file or has none."""
    try:
        ds, _ = read_header_dataset(path)
    except _Skip:
        return None
    return tags.text(ds, "StudyInstanceUID") or None


def is_dicom_file(path: Path) -> bool:
    """True when ``path`` reads as DICOM (with preamble, or raw with SOP UIDs) and is not a DICOMDIR."""
    if path.name.upper() == "DICOMDIR":
        return False
    try:
        ds, _ = read_header_dataset(path)
    except _Skip:
        return False
    return _sop_class(ds) != DICOMDIR_SOP_CLASS
