"""GradingStage.run writes grades.json, the SR and the report, and puts the grades in image info."""
import json

import pydicom
import pytest

from lib.grading.dataset import StudySample
from lib.grading.settings import GradingSettings
from lib.infers.grading import GradingInfer, GradingStage
from lib.outputs.grades_json import form_errors
from lib.trainers.canal_tree import CanalTree
from lib.trainers.grading import Grading
from tests.grading.fake_datastore import FakeDatastore
from tests.grading.synthetic import make_series, stage1_result, write_dicom

SETTINGS = GradingSettings(arch="test_resnet", crop_px=32, epochs=1, batch_size=4, val_fraction=0.0)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("model")
    series = make_series(spacing=1.0)
    stage1 = stage1_result(series, levels=("L3-L4", "L4-L5", "L5-S1"))
    grades = {lv: {"central_canal": g, "foramen_left": i % 2 == 0, "foramen_right": i % 2 == 1,
                   "facet_left": i % 2 == 1, "facet_right": i % 2 == 0}
              for i, (lv, g) in enumerate(zip(stage1["levels"], ["normal", "mild", "severe"]))}
    samples = [StudySample("a", series, stage1, grades)]
    CanalTree(str(path), SETTINGS, samples=lambda ds: samples)({}, None)
    Grading(str(path), SETTINGS, samples=lambda ds: samples)({}, None)
    return path


def test_run_writes_every_output_and_image_info(tmp_path, model_dir):
    series = write_dicom(make_series(spacing=0.9), tmp_path / "dicom")
    stage1 = stage1_result(series, levels=("L4-L5", "L5-S1"), missing={"L1-L2": "no disc"})
    ds = FakeDatastore({"study1": {}})
    stage = GradingStage(model_dir, SETTINGS, output_root=tmp_path / "out")
    grades = stage.run("study1", series, stage1, ds)
    out = tmp_path / "out" / "study1"
    assert form_errors(grades) == [] and list(grades["levels"]) == ["L4-L5", "L5-S1"]
    assert json.loads((out / "grades.json").read_text()) == json.loads(json.dumps(grades))
    assert pydicom.dcmread(out / "grades_sr.dcm").Modality == "SR"
    assert (out / "report.html").exists() and (out / "L4-L5.png").exists()
    info = ds.images["study1"]
    assert info["grading"]["levels"]["L4-L5"]["central_canal"] == grades["levels"]["L4-L5"]["central_canal"]
    assert info["grading_outputs"]["sr"].endswith("grades_sr.dcm")


def test_an_output_that_fails_does_not_lose_the_grades(tmp_path, model_dir):
    series = make_series(spacing=0.9)  # no DICOM files behind it: the SR cannot be written
    stage = GradingStage(model_dir, SETTINGS, output_root=tmp_path)
    grades = stage.run("s", series, stage1_result(series), FakeDatastore({"s": {}}))
    assert (tmp_path / "s" / "grades.json").exists() and grades["levels"]


def test_infer_task_runs_stage1_then_grades(tmp_path, model_dir):
    series = make_series(spacing=0.9)
    stage = GradingStage(model_dir, GradingSettings(arch="test_resnet", write_sr=False, write_report=False), tmp_path)
    task = GradingInfer(stage, stage1=lambda request: (request["image"], series, stage1_result(series), None))
    assert task.is_valid()
    label, result = task({"image": "s"})
    assert label is None and set(result["grades"]["levels"]) == {"L3-L4", "L4-L5"}


def test_stage2_metrics_hook_of_evaluate(tmp_path, model_dir):
    from lib.grading.evaluation import stage2_metrics

    series = make_series(spacing=0.9)
    stage1 = stage1_result(series, levels=("L3-L4", "L4-L5"))
    truth = {"levels": {"L3-L4": {"central_canal": "normal", "foramen_left": True, "foramen_right": False,
                                  "facet_left": False, "facet_right": True},
                        "L4-L5": {"central_canal": "severe", "foramen_left": False, "foramen_right": True,
                                  "facet_left": True, "facet_right": False}}}
    result = stage2_metrics([{"series": series, "stage1": stage1, "truth": truth}], model_dir, tmp_path)
    assert result["metrics"]["canal_tree"]["n"] == 2 and result["metrics"]["foramen"]["n"] == 4
    assert "| central canal, 4 grades, decision tree | kappa linear |" in result["markdown"]
    assert (tmp_path / "roc_foramen_facet.png").exists()
    assert stage2_metrics([], tmp_path / "untrained") is None
