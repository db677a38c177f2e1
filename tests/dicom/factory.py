"""Small synthetic DICOM studies written with pydicom, for the ingestion tests.

Pixel values encode where they come from: ``pixels[r, c] = r * cols + c + 1000 * k`` for the k-th slice of a
series as generated (its expected canonical position), so tests can check order and axis conventions from the
pixels too. Files get random names in random nested folders, and InstanceNumbers are shuffled, so nothing but
the geometry can give the order.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
ENHANCED_MR_STORAGE = "1.2.840.10008.5.1.4.1.1.4.1"
ROWS, COLS = 8, 10
SPACING = (0.8, 0.7)  # (row spacing, column spacing) mm


@dataclass(frozen=True)
class Plane:
    """Where one synthetic slice lies: IPP and the row/column directions (LPS)."""

    position: tuple[float, float, float]
    row: tuple[float, float, float] = (1.0, 0.0, 0.0)
    col: tuple[float, float, float] = (0.0, 1.0, 0.0)

    @property
    def normal(self) -> np.ndarray:
        return np.cross(self.row, self.col)


@dataclass(frozen=True)
class SeriesSpec:
    """Series-level tags of a synthetic series."""

    description: str = "AX T2 FSE"
    modality: str = "MR"
    echo_time: float | None = 100.0
    repetition_time: float | None = 4000.0
    image_type: tuple[str, ...] = ("ORIGINAL", "PRIMARY", "M", "ND")
    series_number: int = 3
    series_uid: str = field(default_factory=generate_uid)
    rows: int = ROWS
    cols: int = COLS
    spacing: tuple[float, float] = SPACING
    thickness: float = 4.0
    slope: float = 1.0
    intercept: float = 0.0


def tilted_plane(centre_z: float, tilt_deg: float, offset_mm: float, spec: SeriesSpec = SeriesSpec()) -> Plane:
    """An axial plane tilted about the patient's left-right axis, its centre ``offset_mm`` along its normal
    from (0, 0, centre_z)."""
    t = np.deg2rad(tilt_deg)
    row = np.array([1.0, 0.0, 0.0])
    col = np.array([0.0, np.cos(t), np.sin(t)])
    normal = np.cross(row, col)
    centre = np.array([0.0, 0.0, centre_z]) + offset_mm * normal
    dr, dc = spec.spacing
    origin = centre - (spec.cols - 1) / 2 * dc * row - (spec.rows - 1) / 2 * dr * col
    return Plane(tuple(origin), tuple(row), tuple(col))


def axial_stack(n: int, z0: float = -60.0, step: float = 4.0, tilt_deg: float = 0.0) -> list[Plane]:
    """``n`` parallel axial planes, inferior to superior."""
    return [tilted_plane(z0, tilt_deg, k * step) for k in range(n)]


def angled_blocks(tilts=(-20.0, -8.0, 0.0, 12.0, 25.0), per_block: int = 4, step: float = 4.0) -> list[Plane]:
    """Five per-disc blocks, 40 mm apart, each tilted differently; inferior to superior (canonical order)."""
    planes = []
    for b, tilt in enumerate(tilts):
        planes += [tilted_plane(-100.0 + 40.0 * b, tilt, (s - (per_block - 1) / 2) * step) for s in range(per_block)]
    return planes


def sagittal_stack(n: int = 7, step: float = 4.0) -> list[Plane]:
    """Sagittal planes (rows along -z, columns along +y), right to left."""
    return [Plane((-12.0 + k * step, -100.0, 100.0), (0.0, 1.0, 0.0), (0.0, 0.0, -1.0)) for k in range(n)]


def three_plane_localizer() -> list[Plane]:
    """One axial, one sagittal and one coronal plane."""
    return [Plane((-100.0, -100.0, 0.0)), Plane((0.0, -100.0, 100.0), (0.0, 1.0, 0.0), (0.0, 0.0, -1.0)),
            Plane((-100.0, 0.0, 100.0), (1.0, 0.0, 0.0), (0.0, 0.0, -1.0))]


def slice_pixels(k: int, rows: int = ROWS, cols: int = COLS) -> np.ndarray:
    """The stored values of slice k: r * cols + c + 1000 * k (uint16)."""
    return (np.arange(rows * cols).reshape(rows, cols) + 1000 * k).astype(np.uint16)


def make_dataset(spec: SeriesSpec, plane: Plane, k: int, study_uid: str, instance_number: int,
                 sop_uid: str | None = None) -> FileDataset:
    """A classic single-frame image of the series at ``plane``, with pixels of slice k."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE if spec.modality == "CT" else MR_IMAGE_STORAGE
    meta.MediaStorageSOPInstanceUID = sop_uid or generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset("", Dataset(), file_meta=meta, preamble=b"\0" * 128)
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, spec.series_uid
    ds.Modality, ds.SeriesDescription, ds.SeriesNumber = spec.modality, spec.description, spec.series_number
    ds.InstanceNumber, ds.ImageType = instance_number, list(spec.image_type)
    ds.Manufacturer, ds.ManufacturerModelName, ds.MagneticFieldStrength = "GE MEDICAL SYSTEMS", "DISCOVERY MR750", 3.0
    ds.PatientPosition, ds.PatientID = "HFS", "TEST"
    if spec.echo_time is not None:
        ds.EchoTime = spec.echo_time
    if spec.repetition_time is not None:
        ds.RepetitionTime = spec.repetition_time
    ds.ImagePositionPatient = [round(v, 6) for v in plane.position]
    ds.ImageOrientationPatient = [round(v, 8) for v in (*plane.row, *plane.col)]
    ds.PixelSpacing, ds.SliceThickness = list(spec.spacing), spec.thickness
    ds.RescaleSlope, ds.RescaleIntercept = spec.slope, spec.intercept
    _set_pixels(ds, slice_pixels(k, spec.rows, spec.cols))
    return ds


def _set_pixels(ds: Dataset, pixels: np.ndarray) -> None:
    """Monochrome 16-bit unsigned pixel module from a (rows, cols) or (frames, rows, cols) array."""
    ds.Rows, ds.Columns = pixels.shape[-2:]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelData = pixels.astype(np.uint16).tobytes()


@dataclass
class StudyWriter:
    """Writes series into one study folder with random names and nesting (seeded)."""

    root: Path
    seed: int = 0
    study_uid: str = field(default_factory=generate_uid)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.root.mkdir(parents=True, exist_ok=True)

    def random_path(self) -> Path:
        """A fresh random file path, 0-3 folders deep, random name and extension style."""
        folders = [self.rng.choice(["a", "B", "series", "x1", "DICOM"]) for _ in range(self.rng.randint(0, 3))]
        name = f"{self.rng.getrandbits(32):08X}" + self.rng.choice(["", ".dcm", ".IMA", ".DCM"])
        path = self.root.joinpath(*folders, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def write_series(self, spec: SeriesSpec, planes: list[Plane]) -> list[tuple[str, Path]]:
        """Write one file per plane (pixels of slice k = plane index), shuffled InstanceNumbers.

        Returns (SOP UID, path) per plane, in the order of ``planes``.
        """
        numbers = list(range(1, len(planes) + 1))
        self.rng.shuffle(numbers)
        out = []
        for k, plane in enumerate(planes):
            ds = make_dataset(spec, plane, k, self.study_uid, numbers[k])
            path = self.random_path()
            ds.save_as(path, write_like_original=False)
            out.append((ds.SOPInstanceUID, path))
        return out

    def write_dataset(self, ds: Dataset, path: Path | None = None) -> Path:
        """Write any dataset at a random (or the given) path."""
        path = path or self.random_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(path, write_like_original=False)
        return path


def with_spec(spec: SeriesSpec, **changes) -> SeriesSpec:
    """A copy of ``spec`` with a fresh series UID and the given changes."""
    return replace(spec, series_uid=generate_uid(), **changes)


def enhanced_mr(spec: SeriesSpec, planes: list[Plane], study_uid: str, with_groups: bool = True) -> FileDataset:
    """An Enhanced MR file holding one frame per plane, geometry in the per-frame functional groups."""
    ds = make_dataset(spec, planes[0], 0, study_uid, 1)
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = ENHANCED_MR_STORAGE
    for keyword in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "SliceThickness",
                    "EchoTime", "RepetitionTime", "RescaleSlope", "RescaleIntercept"):
        delattr(ds, keyword)
    ds.NumberOfFrames = len(planes)
    if with_groups:
        ds.SharedFunctionalGroupsSequence = [_shared_groups(spec)]
        ds.PerFrameFunctionalGroupsSequence = [_frame_groups(p) for p in planes]
    _set_pixels(ds, np.stack([slice_pixels(k, spec.rows, spec.cols) for k in range(len(planes))]))
    return ds


def _shared_groups(spec: SeriesSpec) -> Dataset:
    """Shared functional groups: pixel measures, timing, echo, rescale."""
    measures, timing, echo, transform, shared = Dataset(), Dataset(), Dataset(), Dataset(), Dataset()
    measures.PixelSpacing, measures.SliceThickness = list(spec.spacing), spec.thickness
    timing.RepetitionTime = spec.repetition_time
    echo.EffectiveEchoTime = spec.echo_time
    transform.RescaleSlope, transform.RescaleIntercept, transform.RescaleType = spec.slope, spec.intercept, "US"
    shared.PixelMeasuresSequence, shared.MRTimingAndRelatedParametersSequence = [measures], [timing]
    shared.MREchoSequence, shared.PixelValueTransformationSequence = [echo], [transform]
    return shared


def _frame_groups(plane: Plane) -> Dataset:
    """Per-frame functional groups: plane position and orientation."""
    position, orientation, frame = Dataset(), Dataset(), Dataset()
    position.ImagePositionPatient = [round(v, 6) for v in plane.position]
    orientation.ImageOrientationPatient = [round(v, 8) for v in (*plane.row, *plane.col)]
    frame.PlanePositionSequence, frame.PlaneOrientationSequence = [position], [orientation]
    return frame
