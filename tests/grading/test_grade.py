"""grade_study turns a stage 1 result into the grades.json form."""
import math

import pytest

from lib.grading.grade import grade_study
from lib.outputs.grades_json import form_errors
from tests.grading.synthetic import make_series, stage1_result, tiny_models


@pytest.fixture(scope="module")
def models():
    return tiny_models()


def test_every_found_level_is_graded_with_all_keys(models):
    series = make_series(spacing=0.8)
    stage1 = stage1_result(series, levels=("L3-L4", "L4-L5", "L5-S1"), missing={"L1-L2": "no disc found"})
    grades = grade_study(series, stage1, models)
    assert form_errors(grades) == []
    assert list(grades["levels"]) == ["L3-L4", "L4-L5", "L5-S1"]
    assert grades["missing_levels"] == {"L1-L2": "no disc found"}
    assert grades["study_uid"] == series.study_uid and grades["series_uid"] == series.series_uid
    assert grades["models"]["segmentation"] == "test" and grades["models"]["canal_tree"] == "test-tree"
    for entry in grades["levels"].values():
        canal = entry["central_canal"]
        assert math.isclose(sum(canal["probabilities"].values()), 1.0, abs_tol=1e-5)
        assert canal["grade"] == max(canal["probabilities"], key=canal["probabilities"].get)
        assert canal["tree_rule"].endswith(f"-> {canal['tree_grade']}")
        assert isinstance(entry["foramen_left"]["stenosis"], bool)
        assert isinstance(entry["facet_right"]["arthropathy"], bool)
        assert entry["measurements"]["area_ratio"] == pytest.approx(0.16)


def test_a_level_on_an_unknown_slice_joins_missing_levels_and_the_rest_are_graded(models):
    series = make_series(spacing=0.8)
    stage1 = stage1_result(series, levels=("L4-L5", "L5-S1"))
    stage1["levels"]["L4-L5"]["slice_sop_uid"] = "1.2.3.999"
    grades = grade_study(series, stage1, models)
    assert list(grades["levels"]) == ["L5-S1"]
    assert "1.2.3.999" in grades["missing_levels"]["L4-L5"]
    assert form_errors(grades) == []
