"""Stage 2 on phantom studies: grading from truth stage 1, outputs, the datastore path of the trainers, CSV import."""
import csv
import json
import shutil
from pathlib import Path

import pytest

from lib.grading.dataset import phantom_samples, phantom_study_ids
from lib.grading.grade import grade_study
from lib.grading.settings import GradingSettings
from lib.outputs.grades_json import form_errors
from lib.outputs.sr import read_grades_sr, write_grades_sr
from lib.spine.levels import LEVELS
from tests.grading.synthetic import tiny_models

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = GradingSettings(arch="test_resnet", crop_px=32, epochs=1, batch_size=8, val_fraction=0.25)


def test_grade_study_on_phantoms_returns_every_level_with_all_keys(phantom_dir, tmp_path):
    models = tiny_models()
    for sample in phantom_samples(phantom_dir):
        grades = grade_study(sample.series, sample.stage1, models)
        assert form_errors(grades) == []
        assert list(grades["levels"]) == [str(lv) for lv in LEVELS] and grades["missing_levels"] == {}
        assert grades["study_uid"] == sample.series.study_uid
    back = read_grades_sr(write_grades_sr(tmp_path / "sr.dcm", grades, sample.series))
    assert back["referenced_series_uids"] == [sample.series.series_uid]
    assert {lv: e["central_canal"] for lv, e in back["levels"].items()} == {
        lv: e["central_canal"]["grade"] for lv, e in grades["levels"].items()}


@pytest.fixture(scope="module")
def datastore(phantom_dir, tmp_path_factory):
    from lib.training.phantom_datastore import phantom_training_datastore

    data = tmp_path_factory.mktemp("grading_datastore") / "data"
    shutil.copytree(phantom_dir, data)
    return data, phantom_training_datastore(data)


def test_trainers_fit_from_final_labels_in_the_datastore(datastore, tmp_path):
    from lib.trainers.canal_tree import CanalTree
    from lib.trainers.grading import Grading

    _, ds = datastore
    tree = CanalTree(str(tmp_path / "model"), SETTINGS)({}, ds)
    assert tree["train_studies"] + tree["val_studies"] == 3
    stats = Grading(str(tmp_path / "model"), SETTINGS)({}, ds)
    card = json.loads((tmp_path / "model" / "grading_foramen.card.json").read_text())
    assert card["data"]["train_crops"] == 2 * 5 * stats["train_studies"]  # both sides of every level


def test_import_grades_into_the_datastore_image_info(datastore, tmp_path, capsys):
    data, ds = datastore
    ids = phantom_study_ids(data)
    path = tmp_path / "grades.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["study_uid", "level", "central_canal", "foramen_left", "foramen_right", "facet_left", "facet_right"])
        for sid in ids:
            truth = json.loads((data / "truth" / f"{sid}.json").read_text())
            for lv in ("L4-L5", "L5-S1"):
                w.writerow([truth["study_uid"], lv, "severe", "yes", "no", "no", "yes"])
    from tests.grading.test_import_grades import import_script

    assert import_script().main([str(path), "--studies", str(data / "dicom")]) == 0
    assert f"imported {2 * len(ids)} level(s) of {len(ids)} study(ies)" in capsys.readouterr().out
    from lib.datastore.dicom_folder import DicomFolderDatastore
    from lib.grading.labels import DatastoreGradeLabelStore

    again = DicomFolderDatastore(str(data / "dicom"))
    assert again.get_image_info(ids[0])["grade_labels"]["L4-L5"]["central_canal"] == "severe"
    truth = json.loads((data / "truth" / f"{ids[0]}.json").read_text())["levels"]["L4-L5"]
    grades = DatastoreGradeLabelStore(again).get(ids[0])
    assert grades["L4-L5"]["central_canal"] == truth["central_canal"]  # the final label's grades win field by field
