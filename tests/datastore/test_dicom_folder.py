"""The DICOM-folder datastore: good studies served, bad ones reported with study/file/reason, nothing changed."""
from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from lib.datastore.dicom_folder import DicomFolderDatastore
from tests.app.conftest import tree_digest
from tests.dicom.factory import SeriesSpec, StudyWriter, axial_stack, sagittal_stack, with_spec

SPEC = with_spec(SeriesSpec(), rows=32, cols=24)


@pytest.fixture()
def studies(tmp_path):
    root = tmp_path / "studies"
    StudyWriter(root / "good_a", seed=1).write_series(with_spec(SPEC), axial_stack(6))
    StudyWriter(root / "good_b", seed=2).write_series(with_spec(SPEC), axial_stack(5, step=3.0))
    StudyWriter(root / "ct_study", seed=3).write_series(with_spec(SPEC, modality="CT"), axial_stack(5))
    StudyWriter(root / "sagittal_only", seed=4).write_series(with_spec(SPEC), sagittal_stack(7))
    (root / "empty").mkdir()
    return root


def test_serves_good_studies_and_reports_each_bad_one(studies):
    before = tree_digest(studies)
    store = DicomFolderDatastore(str(studies))
    assert sorted(store.list_images()) == ["good_a", "good_b"]
    failed = store.ingest_report.failed
    assert set(failed) == {"ct_study", "sagittal_only", "empty"}
    assert "CT" in failed["ct_study"] and "ct_study" in failed["ct_study"]
    assert "sagittal" in failed["sagittal_only"]
    report = json.loads((studies / ".spine" / "ingest_report.json").read_text())
    assert report["failed"] == failed
    assert tree_digest(studies) == before


def test_work_image_and_sidecar_keep_each_slice_geometry(studies):
    store = DicomFolderDatastore(str(studies))
    image = nib.load(store.get_image_uri("good_a"))
    geometries = store.slice_geometries("good_a")
    assert image.shape == (24, 32, 6) and len(geometries) == 6
    # voxel (0, 0, k) is the k-th slice's ImagePositionPatient (LPS -> RAS flips x and y)
    for k, g in enumerate(geometries):
        ras = image.affine @ np.array([0, 0, k, 1.0])
        np.testing.assert_allclose(ras[:3], np.array(g.position_lps_mm) * [-1, -1, 1], atol=1e-3)
    z = [g.position_lps_mm[2] for g in geometries]
    assert z == sorted(z), "slices are stacked inferior to superior"
    info = store.get_image_info("good_a")
    assert info["n_slices"] == 6 and info["acquisition"] == "contiguous"


def test_refresh_adds_new_studies_and_keeps_labels_of_vanished_ones(studies, tmp_path):
    store = DicomFolderDatastore(str(studies))
    label = tmp_path / "label.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((24, 32, 5), np.uint8), np.eye(4)), label)
    store.save_label("good_b", str(label), "final", {})
    StudyWriter(studies / "good_c", seed=5).write_series(with_spec(SPEC), axial_stack(4))
    import shutil

    shutil.rmtree(studies / "good_b")
    store.refresh()
    assert sorted(store.list_images()) == ["good_a", "good_c"]
    saved = studies / ".spine" / "labels" / "final" / "good_b.nii.gz"
    assert saved.exists(), "a label must never be deleted because its study folder went away"


def test_unchanged_study_is_not_read_again(studies):
    DicomFolderDatastore(str(studies))
    image = studies / ".spine" / "images" / "good_a.nii.gz"
    mtime = image.stat().st_mtime_ns
    DicomFolderDatastore(str(studies))
    assert image.stat().st_mtime_ns == mtime
