"""3D Slicer's path to the app on a PACS: the REST calls its MONAI Label module makes (``monailabel.client``).

A real app server (``monailabel start_server``) on a real Orthanc: /info, next sample, infer with multipart results,
landmarks as Slicer markups JSON, save label (-> DICOM SEG in Orthanc), train.
"""
from __future__ import annotations

import json
import time

import nibabel as nib
import numpy as np
import pytest
import requests
from monailabel.client import MONAILabelClient

from lib.pacs.seg import seg_to_masks
from tests.pacs.conftest import orthanc_series

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def client(app_server, tmp_path_factory) -> MONAILabelClient:
    return MONAILabelClient(app_server.url, tmpdir=str(tmp_path_factory.mktemp("slicer_client")))


def expected_items(truth: dict, app_server) -> dict[str, dict]:
    """image id -> truth of its study, from the app's own index (blocks) and the truth (series UIDs)."""
    index = json.loads(next(app_server.cache_dir.glob("*/index.json")).read_text())
    by_series = {t["series_uid"]: t for t in truth.values()}
    return {i["image_id"]: by_series[i["series_uid"]] for s in index["studies"] for i in s["items"]}


def test_info_lists_models_and_the_pacs_work_items(client, app_server, truth):
    info = client.info()
    assert info["models"]["segmentation"]["labels"] == {"dural_sac": 1, "disc": 2}
    assert "segmentation" in info["trainers"]
    items = expected_items(truth, app_server)
    assert info["datastore"]["total"] == len(items) > len(truth), "angled series are served per block"
    assert info["datastore"]["pacs_error"] is None
    assert {t["series_uid"] for t in truth.values() if t["acquisition"] == "contiguous"} <= set(items)


def test_next_sample_is_a_served_work_item(client, app_server, truth):
    sample = client.next_sample("random", {})
    assert sample["id"] in expected_items(truth, app_server)
    assert sample["StudyInstanceUID"] in {t["study_uid"] for t in truth.values()}


def test_infer_on_a_block_returns_a_label_on_the_block_grid(client, app_server, truth):
    block = next(i for i in expected_items(truth, app_server) if i.endswith("_block1"))
    label_path, params = client.infer("segmentation", block, {})
    assert params["label_names"] == {"dural_sac": 1, "disc": 2} and "latencies" in params
    label = nib.load(label_path)
    image = nib.load(_download(app_server, block))
    assert label.shape[:3] == image.shape[:3]
    np.testing.assert_allclose(label.affine, image.affine, atol=1e-3)
    assert set(np.unique(np.asarray(label.dataobj))) <= {0, 1, 2}


def _download(app_server, image_id: str) -> str:
    """GET /datastore/image, as Slicer's module does to load the work image."""
    r = requests.get(f"{app_server.url}/datastore/image", params={"image": image_id}, timeout=60)
    r.raise_for_status()
    path = app_server.cache_dir.parent / f"download_{image_id}.nii.gz"
    path.write_bytes(r.content)
    return str(path)


def test_landmarks_come_back_as_slicer_markups(client, app_server, truth, pacs_phantoms):
    info = client.info()
    if "landmarks" not in info["models"]:
        pytest.skip("the app has no 'landmarks' model yet (lib/configs/registry.py): markups not tested")
    t = next(t for t in truth.values() if t["acquisition"] == "angled")
    truth_label = pacs_phantoms / "truth" / f"{t['study_id']}_labels.nii.gz"
    # the whole angled series (not a listed work item, but served to REST clients), with its truth mask as label
    markups_path, params = client.infer("landmarks", t["series_uid"], {"result_file": "markups", "label": str(truth_label)})
    assert markups_path.endswith(".json"), markups_path
    markups = json.loads(open(markups_path).read())
    assert markups["@schema"].startswith("https://raw.githubusercontent.com/slicer/slicer/")
    fiducials = markups["markups"][0]
    assert fiducials["type"] == "Fiducial" and fiducials["coordinateSystem"] == "LPS"
    labels = {p["label"] for p in fiducials["controlPoints"]}
    assert labels, f"no landmark placed: {params.get('missing_levels')}"
    for point in fiducials["controlPoints"]:  # each point is a landmark of the result JSON, in LPS mm
        level, name = point["label"].split()
        np.testing.assert_allclose(point["position"], params["levels"][level]["landmarks_lps_mm"][name], atol=1e-6)
    assert any(p["label"].endswith("facet_left") for p in fiducials["controlPoints"])


def test_save_final_label_writes_dicom_seg_to_orthanc(client, app_server, truth, pacs_phantoms, orthanc):
    t = next(t for t in truth.values() if t["acquisition"] == "contiguous")
    segs_before = {e["0020000E"]["Value"][0] for e in orthanc_series(orthanc, Modality="SEG")}
    truth_label = pacs_phantoms / "truth" / f"{t['study_id']}_labels.nii.gz"
    result = client.save_label(t["series_uid"], str(truth_label), tag="final", params={"label_info": {"by": "test"}})
    assert result["image"] == t["series_uid"]
    segs = [e for e in orthanc_series(orthanc, Modality="SEG") if e["0020000E"]["Value"][0] not in segs_before]
    assert len(segs) == 1, "one new SEG series in Orthanc"
    from dicomweb_client.api import DICOMwebClient

    seg = DICOMwebClient(orthanc.dicomweb_url).retrieve_series(t["study_uid"], segs[0]["0020000E"]["Value"][0])[0]
    assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == t["series_uid"]
    mask = np.asarray(nib.load(truth_label).dataobj).astype(np.uint8)
    np.testing.assert_array_equal(seg_to_masks(seg, t["slice_sop_uids"]), np.transpose(mask, (2, 1, 0)))
    assert client.info()["datastore"]["completed"] >= 1


def test_train_segmentation_from_the_saved_label(client, app_server):
    weights = app_server.model_dir / "segmentation.pt"
    before = weights.read_bytes()
    try:
        client.train_start("segmentation", {"max_epochs": 1, "device": "cpu"})
        deadline = time.monotonic() + 300
        status = {}
        while time.monotonic() < deadline:
            status = client.train_status()
            if status.get("status") not in ("RUNNING", "SUBMITTED"):
                break
            time.sleep(2)
        assert status.get("status") == "DONE", f"{status}\n{app_server.log_tail()}"
        # lib.retraining gates promotion on a validation split; a candidate is kept either way
        cards = sorted(app_server.model_dir.rglob("segmentation.card.json"), key=lambda p: p.stat().st_mtime)
        assert cards, f"no model card written\n{app_server.log_tail(4000)}"
        card = json.loads(cards[-1].read_text())
        assert card["data"]["final_labels"] >= 1, card
        assert (cards[-1].parent / "segmentation.pt").exists()
    finally:
        weights.write_bytes(before)  # the other tests of this server expect the fixture weights
