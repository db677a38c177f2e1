"""Write MR Image Storage files with pydicom: explicit VR little endian, file meta, deterministic UIDs."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage

from lib.phantom.planning import SeriesPlan
from lib.phantom.study import PhantomStudy, RenderedSeries
from lib.phantom.uids import make_uid
from lib.spine.geometry import SliceGeometry

STUDY_DESCRIPTION = "SYNTHETIC PHANTOM — not patient data"
#: Implementation Class UID of this generator (2.25 root, fixed).
IMPLEMENTATION_CLASS_UID = make_uid(0, 0, "lib.phantom implementation")
IMPLEMENTATION_VERSION = "PHANTOM_1_0"


def _ds(value: float) -> str:
    """A Decimal String of at most 16 characters."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text if len(text) <= 16 else f"{value:.10g}"


def _geometry_tags(ds: Dataset, g: SliceGeometry) -> None:
    ds.ImagePositionPatient = [_ds(x) for x in g.position_lps_mm]
    ds.ImageOrientationPatient = [_ds(x) for x in (*g.row_direction, *g.column_direction)]
    ds.PixelSpacing = [_ds(x) for x in g.pixel_spacing_mm]
    ds.SliceThickness = _ds(g.slice_thickness_mm)
    ds.Rows, ds.Columns = g.rows, g.columns
    ds.SliceLocation = _ds(float(g.centre_lps_mm @ g.normal))


def _patient_and_study(ds: Dataset, study: PhantomStudy) -> None:
    number = f"{study.index:04d}"
    ds.PatientName = f"PHANTOM^{number}"
    ds.PatientID = f"PHANTOM{number}"
    ds.PatientBirthDate = ""
    ds.PatientSex = "O"
    ds.PatientIdentityRemoved = "YES"
    ds.StudyInstanceUID = study.study_uid
    ds.StudyID = number
    ds.AccessionNumber = f"SYN{study.seed % 10000:04d}{number}"
    ds.StudyDescription = STUDY_DESCRIPTION
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = "20240101"
    ds.StudyTime = "090000"
    ds.ReferringPhysicianName = ""
    ds.BodyPartExamined = "LSPINE"
    ds.PatientPosition = study.plan.patient_position
    ds.FrameOfReferenceUID = study.frame_of_reference_uid
    ds.PositionReferenceIndicator = ""


def _equipment_and_protocol(ds: Dataset, study: PhantomStudy, plan: SeriesPlan) -> None:
    scanner = study.plan.scanner
    ds.Manufacturer = scanner.vendor.manufacturer
    ds.ManufacturerModelName = scanner.model
    ds.MagneticFieldStrength = _ds(scanner.field_strength_t)
    ds.InstitutionName = "SYNTHETIC"
    ds.SeriesDescription = plan.description
    ds.ProtocolName = plan.description or "LSPINE"
    ds.SeriesNumber = plan.series_number
    ds.AcquisitionNumber = 1
    ds.ImageType = list(plan.image_type)
    gradient = plan.acquisition == "localizer"
    ds.ScanningSequence = "GR" if gradient else "SE"
    ds.SequenceVariant = "SS" if gradient else "SK"
    ds.ScanOptions = "" if gradient else "FAST_GEMS" if "GE" in scanner.vendor.manufacturer else ""
    ds.MRAcquisitionType = "2D"
    ds.EchoTime = _ds(plan.echo_time_ms)
    ds.RepetitionTime = _ds(plan.repetition_time_ms)
    ds.EchoTrainLength = plan.echo_train_length
    ds.SpacingBetweenSlices = _ds(plan.spacing_between_slices_mm)
    ds.NumberOfAverages = "2"
    ds.ImagingFrequency = _ds(42.577478 * scanner.field_strength_t)
    ds.FlipAngle = "90" if not gradient else "45"


def _pixels(ds: Dataset, series: RenderedSeries, pixels: np.ndarray) -> None:
    bits = series.scaling.max_stored.bit_length()
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0
    if series.scaling.slope != 1.0 or series.scaling.intercept != 0.0:
        ds.RescaleSlope = _ds(series.scaling.slope)
        ds.RescaleIntercept = _ds(series.scaling.intercept)
        ds.RescaleType = "US"
    values = pixels.astype(np.float32) * series.scaling.slope
    ds.WindowCenter = _ds(round(float(np.percentile(values, 99.5)) / 2.0))
    ds.WindowWidth = _ds(round(float(np.percentile(values, 99.5))))
    ds.PixelData = np.ascontiguousarray(pixels, dtype="<u2").tobytes()


def build_dataset(study: PhantomStudy, series: RenderedSeries, k: int) -> Dataset:
    """The full dataset of slice ``k`` (plan order) of a series."""
    plan = series.plan
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    meta.MediaStorageSOPInstanceUID = series.sop_uids[k]
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION
    ds = Dataset()
    ds.file_meta = meta
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = series.sop_uids[k]
    ds.Modality = "MR"
    ds.SeriesInstanceUID = series.series_uid
    ds.InstanceNumber = plan.instance_numbers[k]
    ds.SeriesTime = ds.ContentTime = ds.AcquisitionTime = f"09{plan.series_number % 60:02d}00"
    _patient_and_study(ds, study)
    _equipment_and_protocol(ds, study, plan)
    _geometry_tags(ds, plan.geometries[k])
    _pixels(ds, series, series.pixels[k])
    return ds


def write_dataset(ds: Dataset, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(str(path), write_like_original=False)
