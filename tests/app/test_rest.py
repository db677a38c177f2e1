"""The app through its REST API: datastore of DICOM studies, segmentation infer and train, bad input."""
from __future__ import annotations

import io
import json
import time

import nibabel as nib
import numpy as np

from tests.app.conftest import tree_digest


def served_ids(client) -> list[str]:
    r = client.get("/datastore/?output=all")
    assert r.status_code == 200, r.text
    return sorted(r.json()["objects"].keys())


def test_info_lists_the_models_and_labels(app_env):
    client, *_ = app_env
    info = client.get("/info/").json()
    assert "segmentation" in info["models"]
    assert info["models"]["segmentation"]["labels"] == {"dural_sac": 1, "disc": 2}
    assert "segmentation" in info["trainers"]
    assert {"random", "first"} <= set(info["strategies"])


def test_datastore_serves_dicom_studies_and_reports_bad_folders(app_env, phantom_data):
    client, studies, _, before = app_env
    truth_ids = sorted(p.stem for p in (phantom_data / "truth").glob("*.json"))
    assert served_ids(client) == truth_ids
    report = json.loads((studies / ".spine" / "ingest_report.json").read_text())
    assert "not_a_study" in report["failed"] and "no DICOM" in report["failed"]["not_a_study"]
    info = client.get(f"/datastore/image/info?image={truth_ids[0]}").json()
    truth = json.loads((phantom_data / "truth" / f"{truth_ids[0]}.json").read_text())
    assert info["study_uid"] == truth["study_uid"] and info["series_uid"] == truth["series_uid"]
    assert info["acquisition"] == truth["acquisition"]
    assert tree_digest(studies) == before, "the app changed files of the studies"


def test_segmentation_label_lines_up_with_the_work_image(app_env):
    client, studies, *_ = app_env
    study = served_ids(client)[0]
    r = client.post(f"/infer/segmentation?image={study}&output=image")
    assert r.status_code == 200, r.text[:500]
    label = nib.Nifti1Image.from_bytes(r.content) if r.content[:4] != b"\x1f\x8b\x08\x00" else None
    if label is None:
        import gzip

        label = nib.Nifti1Image.from_bytes(gzip.decompress(r.content))
    image = nib.load(studies / ".spine" / "images" / f"{study}.nii.gz")
    assert label.shape[:3] == image.shape[:3]
    np.testing.assert_allclose(label.affine, image.affine, atol=1e-3)
    assert set(np.unique(np.asarray(label.dataobj))) <= {0, 1, 2}


def test_unknown_study_is_a_clear_404_and_the_server_keeps_serving(app_env):
    client, *_ = app_env
    r = client.post("/infer/segmentation?image=no_such_study&output=json")
    assert r.status_code == 404
    assert "no_such_study" in r.text
    assert client.get("/info/").status_code == 200


def test_random_strategy_returns_a_served_study(app_env):
    client, *_ = app_env
    r = client.post("/activelearning/random", json={})
    assert r.status_code == 200, r.text
    assert r.json()["id"] in served_ids(client)


def test_train_segmentation_from_a_saved_final_label(app_env, phantom_data):
    client, studies, model_dir, _ = app_env
    study = served_ids(client)[0]
    mask = phantom_data / "truth" / f"{study}_labels.nii.gz"
    with open(mask, "rb") as f:
        r = client.put(f"/datastore/label?image={study}&tag=final",
                       files={"label": (f"{study}.nii.gz", f, "application/octet-stream")},
                       data={"params": json.dumps({"source": "test"})})
    assert r.status_code == 200, r.text
    r = client.post("/train/segmentation?run_sync=true", json={"max_epochs": 1, "device": "cpu"})
    assert r.status_code == 200, r.text[:1000]
    weights = model_dir / "segmentation.pt"
    assert weights.exists()
    card = json.loads((model_dir / "segmentation.card.json").read_text())
    assert card["model"] == "segmentation" and card["data"]["final_labels"] == 1


def test_a_mask_saved_again_without_landmarks_keeps_the_corrected_landmarks_and_grades(app_env, phantom_data):
    client, *_ = app_env
    study = served_ids(client)[-1]
    truth = json.loads((phantom_data / "truth" / f"{study}.json").read_text())
    level = next(iter(truth["levels"]))
    corrected = {"landmarks_lps_mm": {level: truth["levels"][level]["landmarks_lps_mm"]},
                 "grades": {level: {"central_canal": "moderate"}}}

    def put(info):
        with open(phantom_data / "truth" / f"{study}_labels.nii.gz", "rb") as f:
            r = client.put(f"/datastore/label?image={study}&tag=final",
                           files={"label": (f"{study}.nii.gz", f, "application/octet-stream")},
                           data={"params": json.dumps(info)})
        assert r.status_code == 200, r.text

    put({"source": "slicer", **corrected})
    put({"source": "ohif"})  # OHIF saves only the mask
    info = client.get(f"/datastore/label/info?label={study}&tag=final").json()
    assert info["source"] == "ohif"
    assert info["landmarks_lps_mm"] == corrected["landmarks_lps_mm"] and info["grades"] == corrected["grades"]
    assert sorted(info["carried_over"]) == ["grades", "landmarks_lps_mm"]
