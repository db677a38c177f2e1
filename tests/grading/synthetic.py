"""An analytic axial 'anatomy' (a function of LPS mm) rendered into fake series at any spacing and rotation.

Used where the exact same anatomy must be seen through different acquisitions (crop invariance tests) without the
phantom generator. Objects: ``FakeSeries.slices[k]`` with ``.pixels``, ``.geometry``, ``.sop_instance_uid``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lib.spine.geometry import SliceGeometry

LANDMARKS = {
    "disc_centroid": [0.0, -5.0, 0.0],
    "dural_sac_centroid": [0.0, 18.0, 0.0],
    "foramen_left": [17.0, 20.0, 0.0],
    "foramen_right": [-17.0, 20.0, 0.0],
    "facet_left": [13.0, 33.0, 0.0],
    "facet_right": [-13.0, 33.0, 0.0],
}


def _blob(x, y, cx, cy, rx, ry, edge=1.0):
    r = np.sqrt(((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2)
    return 1.0 / (1.0 + np.exp((r - 1.0) * min(rx, ry) / edge))


def anatomy(lps: np.ndarray, asymmetric: bool = False) -> np.ndarray:
    """Signal at LPS points (..., 3): disc, sac with rootlets, foramina, facets; smooth edges (1 mm)."""
    x, y, z = lps[..., 0], lps[..., 1], lps[..., 2]
    v = 0.2 + 0.5 * _blob(x, y, 0, -5, 22, 15) + 0.3 * _blob(x, y, 0, -5, 12, 8)
    v = v + 0.9 * _blob(x, y, 0, 18, 9, 6) - 0.4 * _blob(x, y, 2, 20, 1.5, 1.5) - 0.4 * _blob(x, y, -2, 20, 1.5, 1.5)
    for s in (1, -1):
        v = v + 0.7 * _blob(x, y, 17 * s, 20, 4, 3) - 0.5 * _blob(x, y, 17 * s, 20, 1.2, 1.2)
        v = v + 0.6 * _blob(x, y, 13 * s, 33, 5, 2) + 0.4 * _blob(x, y, 15 * s, 31, 1, 4)
    if asymmetric:
        v = v + 0.8 * _blob(x, y, 20, 36, 2, 2) + 0.6 * _blob(x, y, 0, 28, 2, 3)
    return (v * (1.0 + 0.01 * z)).astype(np.float32)


@dataclass
class FakeSlice:
    pixels: np.ndarray
    geometry: SliceGeometry
    sop_instance_uid: str
    file_path: object = None


@dataclass
class FakeSeries:
    slices: list
    study_uid: str = "1.2.826.0.1.3680043.8.498.1"
    series_uid: str = "1.2.826.0.1.3680043.8.498.2"
    extra: dict = field(default_factory=dict)


def make_series(spacing=0.6, rotation_deg=0.0, scale=1.0, n_slices=5, step_mm=4.0, fov_mm=120.0, asymmetric=False):
    """A contiguous axial stack centred on z=0 (middle slice), rendered at ``spacing`` mm, rotated in plane."""
    t = np.deg2rad(rotation_deg)
    row_dir = (np.cos(t), np.sin(t), 0.0)
    col_dir = (-np.sin(t), np.cos(t), 0.0)
    n = int(round(fov_mm / spacing))
    centre = np.array([0.0, 10.0, 0.0])
    slices = []
    for k in range(n_slices):
        z = (k - n_slices // 2) * step_mm
        origin = centre + np.array([0, 0, z]) - (n - 1) / 2 * spacing * (np.array(row_dir) + np.array(col_dir))
        g = SliceGeometry(tuple(origin), row_dir, col_dir, (spacing, spacing), n, n, step_mm)
        rr, cc = np.mgrid[0:n, 0:n]
        pixels = scale * anatomy(g.pixels_to_lps(rr, cc), asymmetric)
        slices.append(FakeSlice(pixels.astype(np.float32), g, f"1.2.826.0.1.3680043.8.498.{100 + k}"))
    return FakeSeries(slices)


def level_entry(series: FakeSeries, k: int | None = None) -> dict:
    mid = series.slices[len(series.slices) // 2 if k is None else k]
    return {
        "measurements": {"dural_sac_area_mm2": 160.0, "disc_area_mm2": 1000.0, "dural_sac_ap_mm": 12.0,
                         "disc_ap_mm": 30.0, "area_ratio": 0.16, "ap_ratio": 0.4},
        "landmarks_lps_mm": {k: list(v) for k, v in LANDMARKS.items()},
        "slice_sop_uid": mid.sop_instance_uid,
    }


def write_dicom(series: FakeSeries, folder) -> FakeSeries:
    """Write the series as MR Image Storage files (uint16, rescaled) and point each slice's ``file_path`` at its file."""
    from pathlib import Path

    import pydicom
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for k, s in enumerate(series.slices):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = MRImageStorage
        meta.MediaStorageSOPInstanceUID = s.sop_instance_uid
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = FileDataset(str(folder / f"im{k}.dcm"), {}, file_meta=meta, preamble=b"\0" * 128)
        ds.SOPClassUID, ds.SOPInstanceUID = MRImageStorage, s.sop_instance_uid
        ds.StudyInstanceUID, ds.SeriesInstanceUID = series.study_uid, series.series_uid
        ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = "Phantom^Synthetic", "SYN001", "", "O"
        ds.StudyDate, ds.StudyTime, ds.AccessionNumber, ds.ReferringPhysicianName = "20260101", "120000", "", ""
        ds.StudyID, ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "1", "MR", 3, k + 1
        ds.ImagePositionPatient = [float(v) for v in s.geometry.position_lps_mm]
        ds.ImageOrientationPatient = [float(v) for v in s.geometry.row_direction + s.geometry.column_direction]
        ds.PixelSpacing = [float(v) for v in s.geometry.pixel_spacing_mm]
        ds.SliceThickness = s.geometry.slice_thickness_mm
        ds.FrameOfReferenceUID = "1.2.826.0.1.3680043.8.498.3"
        ds.Rows, ds.Columns = s.pixels.shape
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.RescaleSlope, ds.RescaleIntercept = 0.001, 0.0
        ds.PixelData = np.clip(s.pixels * 1000, 0, 65535).astype(np.uint16).tobytes()
        ds.is_little_endian, ds.is_implicit_VR = True, False
        ds.save_as(folder / f"im{k}.dcm", write_like_original=False)
        s.file_path = folder / f"im{k}.dcm"
    return series


def stage1_result(series: FakeSeries, levels=("L3-L4", "L4-L5"), missing=None) -> dict:
    """A stage 1 result on the synthetic series: every listed level on its own slice (same anatomy)."""
    return {
        "study_uid": series.study_uid,
        "series_uid": series.series_uid,
        "models": {"segmentation": "test"},
        "levels": {lv: level_entry(series, 1 + i % (len(series.slices) - 2)) for i, lv in enumerate(levels)},
        "missing_levels": dict(missing or {}),
    }


def tiny_models(crop_px: int = 32, arch: str = "test_resnet"):
    """GradingModels with untrained tiny classifiers and a tree fitted on a made-up measurement table."""
    import timm

    from lib.grading.canal_tree import CANAL_FEATURES, CanalTree
    from lib.grading.crops import CropSpec
    from lib.grading.grade import Classifier, GradingModels
    from lib.grading.structures import Structure

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 10)
    X = rng.normal(size=(40, len(CANAL_FEATURES))) * 0.01
    X[:, 0] = 0.2 - 0.04 * y + rng.normal(0, 0.005, 40)  # area_ratio falls as the grade rises
    tree = CanalTree.fit(X, y, max_depth=3)
    classifiers = {
        s: Classifier(s, timm.create_model(arch, num_classes=s.num_classes).eval(), CropSpec(crop_px, 40.0), "test")
        for s in Structure
    }
    return GradingModels(classifiers, tree, "test-tree")
