"""The PACS datastore against a real Orthanc holding phantom studies: what is served, work images, DICOM SEG."""
from __future__ import annotations

import json

import highdicom as hd
import nibabel as nib
import numpy as np
import pydicom
import pytest

from lib.dicom import read_label_nifti
from lib.pacs import pacs_datastore
from lib.pacs.seg import seg_to_masks
from lib.spine.geometry import stacked_affine_ras
from tests.pacs.conftest import orthanc_instance_count, orthanc_series

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def store(orthanc, tmp_path_factory):
    cache = tmp_path_factory.mktemp("pacs_cache")
    return pacs_datastore(orthanc.dicomweb_url, {"pacs_cache_dir": str(cache)})


def by_acquisition(truth: dict, kind: str) -> dict:
    return next(t for t in truth.values() if t["acquisition"] == kind)


def expected_ids(store, truth: dict) -> set[str]:
    ids = set()
    for t in truth.values():
        if t["acquisition"] == "contiguous":
            ids.add(t["series_uid"])
        else:
            study = store.index.study(t["study_uid"])
            ids |= {i.image_id for i in study.items}
    return ids


def test_serves_the_axial_t2_series_only_contiguous_whole_angled_per_block(store, truth, orthanc):
    ids = store.list_images()
    assert set(ids) == expected_ids(store, truth) and len(ids) == len(set(ids))
    localizers = {e["0020000E"]["Value"][0] for e in orthanc_series(orthanc, Modality="MR")} - \
        {t["series_uid"] for t in truth.values()}
    assert localizers, "the phantoms should include localizer series"
    assert not any(i.split("_block")[0] in localizers for i in ids)
    for t in truth.values():
        if t["acquisition"] == "angled":
            blocks = store.index.study(t["study_uid"]).items
            assert len(blocks) >= 2 and all(b.series_uid == t["series_uid"] for b in blocks)
            assert sorted(s for b in blocks for s in b.sop_uids) == sorted(t["slice_sop_uids"])
    status = store.status()
    assert status["total"] == len(ids) and status["pacs_error"] is None


def test_nothing_is_downloaded_before_an_image_is_asked_for(orthanc, tmp_path):
    fresh = pacs_datastore(orthanc.dicomweb_url, {"pacs_cache_dir": str(tmp_path)})
    assert fresh.list_images()
    assert not (fresh.work_dir / "dicom").exists() and not list((fresh.work_dir / "images").glob("*.nii.gz"))


def test_whole_series_work_image_matches_the_truth_stacking(store, truth, pacs_phantoms):
    t = by_acquisition(truth, "contiguous")
    image = nib.load(store.get_image_uri(t["series_uid"]))
    labels = nib.load(pacs_phantoms / "truth" / f"{t['study_id']}_labels.nii.gz")
    assert image.shape == labels.shape
    np.testing.assert_allclose(image.affine, labels.affine, atol=1e-3)
    assert [r["sop_uid"] for r in store.sidecar(t["series_uid"])["slices"]] == t["slice_sop_uids"]
    info = store.get_image_info(t["series_uid"])
    assert info["StudyInstanceUID"] == t["study_uid"] and info["acquisition"] == "contiguous"


def test_block_work_image_has_the_exact_geometry_of_its_slices(store, truth):
    t = by_acquisition(truth, "angled")
    block = store.index.study(t["study_uid"]).items[1]
    image = nib.load(store.get_image_uri(block.image_id))
    side = store.sidecar(block.image_id)
    assert image.shape[2] == len(block.sop_uids) == len(side["slices"])
    assert [r["sop_uid"] for r in side["slices"]] == list(block.sop_uids)
    geometries = store.slice_geometries(block.image_id)
    np.testing.assert_allclose(image.affine, stacked_affine_ras(geometries), atol=1e-4)
    lps_to_ras = np.diag([-1.0, -1.0, 1.0])
    for k, g in enumerate(geometries):  # voxel (0, 0, k) is slice k's first pixel, in RAS
        np.testing.assert_allclose(image.affine[:3] @ [0, 0, k, 1], lps_to_ras @ np.asarray(g.position_lps_mm),
                                   atol=0.05)
    # the pixels are those of the slice with that SOP UID in the whole-series work image
    whole = nib.load(store.get_image_uri(t["series_uid"])).get_fdata()
    order = [r["sop_uid"] for r in store.sidecar(t["series_uid"])["slices"]]
    for k, sop in enumerate(block.sop_uids):
        np.testing.assert_array_equal(image.get_fdata()[:, :, k], whole[:, :, order.index(sop)])


def read_seg(orthanc, series_uid: str, study_uid: str) -> pydicom.Dataset:
    """The SEG instance as Orthanc serves it (WADO-RS)."""
    from dicomweb_client.api import DICOMwebClient

    return DICOMwebClient(orthanc.dicomweb_url).retrieve_series(study_uid, series_uid)[0]


def test_final_label_of_a_contiguous_series_goes_to_orthanc_as_dicom_seg(store, truth, pacs_phantoms, orthanc):
    t = by_acquisition(truth, "contiguous")
    before = orthanc_instance_count(orthanc)
    label_path = pacs_phantoms / "truth" / f"{t['study_id']}_labels.nii.gz"
    store.save_label(t["series_uid"], str(label_path), "final", {"source": "test"})
    info = store.get_label_info(t["series_uid"], "final")
    assert info["seg_series_uid"], info
    assert orthanc_instance_count(orthanc) == before + 1, "one SEG instance, nothing else, is written to the PACS"
    seg = read_seg(orthanc, info["seg_series_uid"], t["study_uid"])
    assert seg.Modality == "SEG" and seg.ReferencedSeriesSequence[0].SeriesInstanceUID == t["series_uid"]
    segments = {s.SegmentNumber: s.SegmentLabel for s in seg.SegmentSequence}
    assert segments == {1: "dural_sac", 2: "disc"}
    truth_mask, _ = read_label_nifti(label_path)
    masks = seg_to_masks(seg, t["slice_sop_uids"])
    np.testing.assert_array_equal(masks, np.transpose(truth_mask, (2, 1, 0)))
    assert t["series_uid"] in store.get_labeled_images()
    assert store.status()["completed"] >= 1


def test_block_labels_stay_local_until_every_block_has_one_then_one_seg(store, truth, pacs_phantoms, orthanc):
    t = by_acquisition(truth, "angled")
    blocks = store.index.study(t["study_uid"]).items
    truth_mask, _ = read_label_nifti(pacs_phantoms / "truth" / f"{t['study_id']}_labels.nii.gz")
    canonical = t["slice_sop_uids"]
    before = orthanc_instance_count(orthanc)
    for n, block in enumerate(blocks):
        image = nib.load(store.get_image_uri(block.image_id))
        block_mask = np.stack([truth_mask[:, :, canonical.index(s)] for s in block.sop_uids], axis=-1)
        path = store.work_dir / f"test_{block.image_id}.nii.gz"
        nib.save(nib.Nifti1Image(block_mask.astype(np.uint8), image.affine), str(path))
        store.save_label(block.image_id, str(path), "final", {"source": "test"})
        info = store.get_label_info(block.image_id, "final")
        if n < len(blocks) - 1:
            assert info["seg_series_uid"] is None and f"{n + 1}/{len(blocks)}" in info["seg_note"]
            assert orthanc_instance_count(orthanc) == before, "block labels must not reach the PACS one by one"
    assert orthanc_instance_count(orthanc) == before + 1
    seg = read_seg(orthanc, info["seg_series_uid"], t["study_uid"])
    assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == t["series_uid"]
    np.testing.assert_array_equal(seg_to_masks(seg, canonical), np.transpose(truth_mask, (2, 1, 0)))
    assert hd.seg.Segmentation.from_dataset(seg).number_of_segments == 2
    assert not any("_block" in e["0020000E"]["Value"][0] for e in orthanc_series(orthanc))


def test_index_survives_a_restart_without_reading_metadata_again(store, orthanc):
    saved = json.loads((store.work_dir / "index.json").read_text())
    again = pacs_datastore(orthanc.dicomweb_url, {"pacs_cache_dir": str(store.work_dir.parent)})
    assert again.work_dir == store.work_dir
    assert len(saved["studies"]) == len(again.index._studies)
    calls = []
    again.index.client.series_metadata = lambda *a: calls.append(a) or []
    assert set(again.list_images()) == set(store.list_images()) and calls == []


def test_grading_sr_goes_to_orthanc_and_grades_stay_in_image_info(store, truth, orthanc, tmp_path):
    from lib.grading.datastore_samples import stage1_from_final_label, work_series
    from lib.grading.grade import grade_study
    from lib.outputs.sr import read_grades_sr, write_grades_sr
    from tests.grading.synthetic import tiny_models

    t = by_acquisition(truth, "contiguous")  # has a final label (test above): stage 1 from it, as trainers do
    series = work_series(store, t["series_uid"])
    assert all(s.file_path.is_file() for s in series.slices), "sidecar files must point at the cached DICOM"
    stage1 = stage1_from_final_label(store, t["series_uid"], series)
    assert stage1 and stage1["levels"], stage1
    grades = grade_study(series, stage1, tiny_models())
    sr_path = write_grades_sr(tmp_path, grades, series)
    before = {e["0020000E"]["Value"][0] for e in orthanc_series(orthanc, Modality="SR")}
    store.update_image_info(t["series_uid"], {"grading": grades, "grading_outputs": {"sr": str(sr_path)}})
    info = store.get_image_info(t["series_uid"])
    assert info["grading"]["levels"].keys() == grades["levels"].keys()
    new = [e for e in orthanc_series(orthanc, Modality="SR") if e["0020000E"]["Value"][0] not in before]
    assert [e["0020000E"]["Value"][0] for e in new] == [info["grading_sr_series_uid"]]
    from dicomweb_client.api import DICOMwebClient

    stored = DICOMwebClient(orthanc.dicomweb_url).retrieve_series(t["study_uid"], info["grading_sr_series_uid"])[0]
    stored_path = tmp_path / "stored_sr.dcm"
    stored.save_as(stored_path)
    assert read_grades_sr(stored_path)["referenced_series_uids"] == [t["series_uid"]]


def test_segs_in_the_pacs_become_final_labels_of_a_new_cache(store, truth, pacs_phantoms, orthanc, tmp_path):
    fresh = pacs_datastore(orthanc.dicomweb_url, {"pacs_cache_dir": str(tmp_path)})  # e.g. another server
    assert fresh.datalist() != [], "the SEGs written by the tests above are imported"
    for t in truth.values():
        truth_mask, _ = read_label_nifti(pacs_phantoms / "truth" / f"{t['study_id']}_labels.nii.gz")
        canonical = t["slice_sop_uids"]
        for item in fresh.index.study(t["study_uid"]).items:
            label_uri = fresh.get_label_uri(item.image_id, "final")
            if t["acquisition"] == "angled" and not label_uri:
                continue  # only the angled study labelled above has a SEG
            assert label_uri, f"{item.image_id} has no imported label"
            label, affine = read_label_nifti(label_uri)
            expected = np.stack([truth_mask[:, :, canonical.index(s)] for s in item.sop_uids], axis=-1)
            np.testing.assert_array_equal(label, expected)
            np.testing.assert_allclose(affine, nib.load(fresh.get_image_uri(item.image_id)).affine, atol=1e-4)
            assert fresh.get_label_info(item.image_id, "final")["source"] == "PACS DICOM SEG"
    n_labels = len(fresh.datalist())
    assert any("_block" in pair["image"] for pair in fresh.datalist()), "the blocks of the labelled angled series"
    assert n_labels == len(fresh.datalist()), "a second datalist imports nothing again"
