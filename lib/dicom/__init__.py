"""DICOM ingestion: a study folder in, the axial T2 series of the lumbar spine out.

Uses pydicom, numpy and nibabel only (no torch, no MONAI Label). Public API::

    load_axial_series(study_dir, study_id=None) -> AxialSeries     # raises StudyError
    scan_study_folders(root) -> {study_id: folder}
    write_nifti / read_nifti / read_image_nifti / read_label_nifti
    slice_geometry_json(series) -> [per-slice dict]; write_/read_slice_geometry_json, geometries_from_json

Coordinates are DICOM LPS mm; stacked volumes are (cols, rows, slices) with RAS affines (docs/CONTRACTS.md).
"""
from lib.dicom.errors import StudyError
from lib.dicom.loader import load_axial_series
from lib.dicom.nifti import read_image_nifti, read_label_nifti, read_nifti, write_nifti
from lib.dicom.scan import scan_study_folders
from lib.dicom.selection import (
    AXIAL_MAX_TILT_DEG,
    MIN_AXIAL_SLICES,
    T2_MIN_ECHO_TIME_MS,
    T2_MIN_REPETITION_TIME_MS,
)
from lib.dicom.series import ANGLED, CONTIGUOUS, AxialSeries, AxialSlice, ImageSlice, SagittalSeries, SeriesInfo
from lib.dicom.sidecar import (
    geometries_from_json,
    read_slice_geometry_json,
    slice_geometry_json,
    write_slice_geometry_json,
)

__all__ = [
    "ANGLED", "AXIAL_MAX_TILT_DEG", "AxialSeries", "AxialSlice", "CONTIGUOUS", "ImageSlice", "MIN_AXIAL_SLICES",
    "SagittalSeries", "SeriesInfo", "StudyError", "T2_MIN_ECHO_TIME_MS", "T2_MIN_REPETITION_TIME_MS",
    "geometries_from_json", "load_axial_series", "read_image_nifti", "read_label_nifti", "read_nifti",
    "read_slice_geometry_json", "scan_study_folders", "slice_geometry_json", "write_nifti",
    "write_slice_geometry_json",
]
