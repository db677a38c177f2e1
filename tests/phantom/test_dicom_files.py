"""The written files are real MR DICOM with the tags downstream code relies on."""
from __future__ import annotations

import numpy as np
import pydicom
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage

REQUIRED = (
    "Modality", "Manufacturer", "ManufacturerModelName", "MagneticFieldStrength", "SeriesDescription", "EchoTime",
    "RepetitionTime", "ScanningSequence", "SliceThickness", "SpacingBetweenSlices", "PixelSpacing",
    "ImagePositionPatient", "ImageOrientationPatient", "FrameOfReferenceUID", "Rows", "Columns", "BitsStored",
    "PatientID", "PatientName", "StudyDescription", "ImageType", "SeriesNumber", "AcquisitionNumber",
    "InstanceNumber", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "PatientPosition",
)


def test_every_file_is_mr_image_storage_with_file_meta(any_study):
    for ds in any_study.datasets:
        assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
        assert ds.file_meta.MediaStorageSOPClassUID == MRImageStorage
        assert ds.SOPClassUID == MRImageStorage
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID


def test_required_tags_present(any_study):
    for ds in any_study.datasets:
        missing = [tag for tag in REQUIRED if tag not in ds]
        assert not missing, f"{ds.filename} lacks {missing}"
        assert ds.Modality == "MR"
        assert str(ds.PatientName).startswith("PHANTOM^")
        assert ds.StudyDescription.startswith("SYNTHETIC PHANTOM")
        assert ds.StudyInstanceUID == any_study.truth["study_uid"]


def test_uids_unique_and_valid(any_study):
    sops = [ds.SOPInstanceUID for ds in any_study.datasets]
    assert len(set(sops)) == len(sops)
    for uid in sops + [any_study.truth["series_uid"], any_study.truth["study_uid"]]:
        assert len(uid) <= 64 and all(part.isdigit() for part in uid.split("."))


def test_pixels_read_back_with_rescale(any_study):
    ds = pydicom.dcmread(any_study.datasets[0].filename)
    pixels = ds.pixel_array.astype(np.float32) * float(getattr(ds, "RescaleSlope", 1.0)) + float(getattr(ds, "RescaleIntercept", 0.0))
    assert pixels.shape == (ds.Rows, ds.Columns)
    assert pixels.max() > 0
    assert int(ds.pixel_array.max()) < 2 ** int(ds.BitsStored)


def test_axial_t2_identified_by_its_tags(contiguous_study):
    t2 = contiguous_study.series(contiguous_study.truth["series_uid"])
    assert all(80 <= float(ds.EchoTime) <= 120 and 2500 <= float(ds.RepetitionTime) <= 5000 for ds in t2)
    others = {ds.SeriesInstanceUID for ds in contiguous_study.datasets} - {contiguous_study.truth["series_uid"]}
    assert len(others) == 3  # sagittal T2, localizer, axial T1
    localizer = [ds for ds in contiguous_study.datasets if "LOCALIZER" in ds.ImageType]
    assert localizer
    t1 = [ds for ds in contiguous_study.datasets if float(ds.EchoTime) < 20 and "LOCALIZER" not in ds.ImageType]
    assert t1 and all(float(ds.RepetitionTime) < 1000 for ds in t1)


def test_files_are_nested_and_named_without_meaning(any_study):
    paths = [ds.filename for ds in any_study.datasets]
    depths = {len(p.split("/")) for p in paths}
    assert min(depths) > len(str(any_study.root).split("/")) + 1
    assert len({p.rsplit("/", 1)[-1] for p in paths}) == len(paths)
