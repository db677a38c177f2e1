"""NIfTI writing/reading, the per-slice geometry sidecar, and finding study folders."""
import json

import numpy as np
import pytest

from lib.dicom import (
    geometries_from_json,
    load_axial_series,
    read_image_nifti,
    read_label_nifti,
    read_nifti,
    read_slice_geometry_json,
    scan_study_folders,
    slice_geometry_json,
    write_nifti,
    write_slice_geometry_json,
)

from .factory import SeriesSpec, StudyWriter, angled_blocks, axial_stack


@pytest.fixture
def angled_series(tmp_path):
    writer = StudyWriter(tmp_path / "angled", seed=4)
    writer.write_series(SeriesSpec(), angled_blocks())
    return load_axial_series(writer.root)


def test_image_round_trip_keeps_float32_and_affine(tmp_path, angled_series):
    volume, affine = angled_series.stacked_volume()
    path = write_nifti(volume, affine, tmp_path / "out" / "image.nii.gz")
    data, read_affine = read_image_nifti(path)
    assert data.dtype == np.float32 and data.shape == (10, 8, 20)
    np.testing.assert_array_equal(data, volume)
    np.testing.assert_allclose(read_affine, affine, atol=1e-5)


def test_label_round_trip_is_uint8(tmp_path):
    labels = np.zeros((10, 8, 4), dtype=np.int64)
    labels[2:5, 3:6, 1] = 1
    labels[6, 6, 2] = 2
    path = write_nifti(labels, np.eye(4), tmp_path / "labels.nii.gz")
    stored, _ = read_nifti(path)
    assert stored.dtype == np.uint8
    data, affine = read_label_nifti(path)
    np.testing.assert_array_equal(data, labels)
    np.testing.assert_array_equal(affine, np.eye(4))


def test_bad_nifti_inputs_are_refused(tmp_path):
    with pytest.raises(ValueError, match="do not fit uint8"):
        write_nifti(np.full((2, 2, 2), 300), np.eye(4), tmp_path / "x.nii.gz")
    with pytest.raises(ValueError, match="4x4"):
        write_nifti(np.zeros((2, 2, 2), np.float32), np.eye(3), tmp_path / "x.nii.gz")
    write_nifti(np.full((2, 2, 2), 0.5, np.float32), np.eye(4), tmp_path / "float.nii.gz")
    with pytest.raises(ValueError, match="non-integer"):
        read_label_nifti(tmp_path / "float.nii.gz")


def test_slice_geometry_json_round_trips(tmp_path, angled_series):
    records = slice_geometry_json(angled_series)
    assert len(records) == 20 and json.loads(json.dumps(records)) == records
    assert [r["block"] for r in records] == [b for b in range(5) for _ in range(4)]
    assert [r["sop_uid"] for r in records] == [s.sop_instance_uid for s in angled_series.slices]
    first = records[0]
    assert set(first) >= {"sop_uid", "position", "orientation", "spacing", "rows", "cols", "thickness", "block"}
    assert first["rows"] == 8 and first["cols"] == 10 and first["spacing"] == [0.8, 0.7]
    assert not first["file"].startswith("/")
    path = write_slice_geometry_json(angled_series, tmp_path / "work" / "image.geometry.json")
    again = geometries_from_json(read_slice_geometry_json(path))
    for restored, original in zip(again, angled_series.geometries(), strict=True):
        np.testing.assert_allclose(restored.position_lps_mm, original.position_lps_mm)
        np.testing.assert_allclose(restored.normal, original.normal)
        assert restored.pixel_spacing_mm == original.pixel_spacing_mm


def test_scan_finds_one_study_per_subfolder(tmp_path):
    root = tmp_path / "studies"
    for name, seed in (("patient_b", 1), ("patient_a", 2)):
        StudyWriter(root / name / "deep" / "er", seed=seed).write_series(SeriesSpec(), axial_stack(3))
    (root / "notes").mkdir()
    (root / "notes" / "readme.txt").write_text("no DICOM here")
    (root / "loose.txt").write_text("x")
    assert scan_study_folders(root) == {"patient_a": root / "patient_a", "patient_b": root / "patient_b"}


def test_scan_recognises_a_root_that_is_one_study(tmp_path):
    flat = StudyWriter(tmp_path / "flat", seed=1)
    spec = SeriesSpec()
    for k, ds_path in enumerate(flat.write_series(spec, axial_stack(3))):
        ds_path[1].rename(flat.root / f"IM{k}")
    assert scan_study_folders(flat.root) == {"flat": flat.root}
    per_series = StudyWriter(tmp_path / "per_series", seed=2)
    (per_series.root / "s1").mkdir()
    (per_series.root / "s2").mkdir()
    per_series.root = per_series.root / "s1"
    per_series.write_series(spec, axial_stack(3))
    per_series.root = tmp_path / "per_series" / "s2"
    per_series.write_series(SeriesSpec(description="SAG"), axial_stack(2))
    assert scan_study_folders(tmp_path / "per_series") == {"per_series": tmp_path / "per_series"}


def test_scan_of_a_missing_root(tmp_path):
    with pytest.raises(NotADirectoryError):
        scan_study_folders(tmp_path / "missing")
