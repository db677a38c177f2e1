"""grades.json is written atomically and in the documented form."""
import json

import pytest

from lib.grading.grade import grade_study
from lib.outputs.grades_json import form_errors, read_grades_json, write_grades_json
from tests.grading.synthetic import make_series, stage1_result, tiny_models


@pytest.fixture(scope="module")
def grades():
    series = make_series(spacing=1.0)
    return grade_study(series, stage1_result(series), tiny_models())


def test_written_file_reads_back_identical_and_conforms(tmp_path, grades):
    path = write_grades_json(tmp_path, grades)
    assert path.name == "grades.json"
    assert read_grades_json(tmp_path) == json.loads(json.dumps(grades))
    assert form_errors(read_grades_json(path)) == []
    assert [p.name for p in tmp_path.iterdir()] == ["grades.json"]  # no temporary file left behind


def test_a_failed_write_leaves_the_old_file_whole(tmp_path, grades):
    path = write_grades_json(tmp_path / "grades.json", grades)
    before = path.read_text()
    with pytest.raises(TypeError):
        write_grades_json(path, {**grades, "bad": object()})
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["grades.json"]


def test_form_errors_name_what_is_wrong(grades):
    broken = json.loads(json.dumps(grades))
    level = next(iter(broken["levels"]))
    broken["levels"][level]["central_canal"]["probabilities"]["severe"] += 0.5
    del broken["levels"][level]["foramen_left"]["stenosis"]
    errors = form_errors(broken)
    assert any("sum to 1" in e for e in errors) and any("foramen_left" in e for e in errors)
