"""The post-infer hook through the real app: train tiny stage 2 models from labels saved over REST, infer, and find
the grades in the result, the image info, grades.json, a DICOM SR read back with pydicom, and the HTML report."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pydicom
import pytest

from tests.app.conftest import TINY_CONF, make_client

GRADE_KEYS = ("central_canal", "foramen_left", "foramen_right", "facet_left", "facet_right")
TINY_GRADING = {"grading_arch": "test_resnet", "grading_crop_px": "32", "grading_epochs": "1",
                "grading_batch_size": "8", "grading_val_fraction": "0.3"}


def put_truth_label(client, data: Path, study: str) -> None:
    """What an annotator's corrected label looks like: the mask, with grades and landmarks in its label info."""
    truth = json.loads((data / "truth" / f"{study}.json").read_text())
    info = {"grades": {lv: {k: v[k] for k in GRADE_KEYS} for lv, v in truth["levels"].items()},
            "landmarks_lps_mm": {lv: v["landmarks_lps_mm"] for lv, v in truth["levels"].items()}}
    with open(data / "truth" / f"{study}_labels.nii.gz", "rb") as f:
        r = client.put(f"/datastore/label?image={study}&tag=final",
                       files={"label": (f"{study}.nii.gz", f, "application/octet-stream")},
                       data={"params": json.dumps(info)})
    assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def graded_app(phantom_data, tmp_path_factory):
    studies = tmp_path_factory.mktemp("graded_studies")
    shutil.copytree(phantom_data / "dicom", studies, dirs_exist_ok=True)
    model_dir = tmp_path_factory.mktemp("graded_model")
    with make_client(studies, model_dir, {**TINY_CONF, **TINY_GRADING}) as client:
        ids = sorted(client.get("/datastore/?output=all").json()["objects"])
        for study in ids:
            put_truth_label(client, phantom_data, study)
        for model in ("canal_tree", "grading"):
            r = client.post(f"/train/{model}?run_sync=true", json={"device": "cpu"})
            assert r.status_code == 200, r.text[:1000]
        yield client, studies, ids


def test_grading_from_the_corrected_mask_reaches_result_info_json_sr_and_report(graded_app):
    client, studies, ids = graded_app
    study = ids[0]
    r = client.post(f"/infer/grading?image={study}&output=json")
    assert r.status_code == 200, r.text[:1000]
    grades = r.json()["grades"]
    assert set(grades["levels"]) == {"L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"}, grades["missing_levels"]
    for level, entry in grades["levels"].items():
        canal = entry["central_canal"]
        assert canal["grade"] in ("normal", "mild", "moderate", "severe")
        assert abs(sum(canal["probabilities"].values()) - 1.0) < 1e-3
        assert canal["tree_rule"].endswith(canal["tree_grade"]), "the tree's rule must end in the grade it gives"
        assert isinstance(entry["foramen_left"]["stenosis"], bool)
        assert isinstance(entry["facet_right"]["arthropathy"], bool)
        assert entry["measurements"]["dural_sac_area_mm2"] > 0

    info = client.get(f"/datastore/image/info?image={study}").json()
    assert info["grading"]["levels"] == grades["levels"]
    outputs = info["grading_outputs"]
    on_disk = json.loads(Path(outputs["grades_json"]).read_text())
    assert on_disk["levels"] == grades["levels"] and on_disk["series_uid"] == grades["series_uid"]

    sr = pydicom.dcmread(outputs["sr"])
    assert sr.Modality == "SR" and sr.StudyInstanceUID == grades["study_uid"]
    evidence = sr.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence
    assert grades["series_uid"] in {s.SeriesInstanceUID for s in evidence}
    report = Path(outputs["report"]).read_text()
    for level in grades["levels"]:
        assert level in report


def test_segmentation_infer_runs_the_grading_hook(graded_app):
    """The V-Net here is untrained, so stage 1 finds no disc: the hook still grades, listing every level missing with
    its reason, and attaches that to the result, the image info and grades.json."""
    client, studies, ids = graded_app
    study = ids[1]
    r = client.post(f"/infer/segmentation?image={study}&output=json")
    assert r.status_code == 200, r.text[:1000]
    params = r.json()
    assert "grading_skipped" not in params, params.get("grading_skipped")
    grades = params["grades"]
    assert set(grades["levels"]) | set(grades["missing_levels"]) == {"L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"}
    assert all(reason for reason in grades["missing_levels"].values())
    info = client.get(f"/datastore/image/info?image={study}").json()
    assert info["grading"]["missing_levels"] == grades["missing_levels"]
    assert json.loads(Path(info["grading_outputs"]["grades_json"]).read_text()) == grades


def test_unknown_study_for_grading_is_404(graded_app):
    client, *_ = graded_app
    assert client.post("/infer/grading?image=nope&output=json").status_code == 404
