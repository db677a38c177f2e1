"""Grade labels: validation, the JSON store and the datastore-backed store."""
import pytest

from lib.grading.labels import DatastoreGradeLabelStore, GradeError, JsonGradeLabelStore, parse_study_grades
from tests.grading.fake_datastore import FakeDatastore


def test_parse_accepts_common_spellings_and_refuses_bad_values():
    g = parse_study_grades({"L4-L5": {"central_canal": "Moderate", "foramen_left": "yes", "facet_right": "0",
                                      "foramen_right": "stenosis", "facet_left": ""}})
    assert g == {"L4-L5": {"central_canal": "moderate", "foramen_left": True, "foramen_right": True,
                           "facet_right": False}}
    with pytest.raises(GradeError, match="central_canal 'tight'"):
        parse_study_grades({"L4-L5": {"central_canal": "tight"}})
    with pytest.raises(GradeError, match="unknown level 'L6-L7'"):
        parse_study_grades({"L6-L7": {"central_canal": "mild"}})
    with pytest.raises(GradeError, match="foramen_left 'maybe'"):
        parse_study_grades({"L4-L5": {"foramen_left": "maybe"}})


def test_json_store_merges_field_by_field(tmp_path):
    store = JsonGradeLabelStore(tmp_path / "grades.json")
    store.put("s1", {"L4-L5": {"central_canal": "mild", "foramen_left": True}})
    store.put("s1", {"L4-L5": {"central_canal": "severe"}, "L5-S1": {"facet_left": False}})
    assert store.get("s1") == {"L4-L5": {"central_canal": "severe", "foramen_left": True},
                               "L5-S1": {"facet_left": False}}
    assert store.studies() == ["s1"] and store.get("nope") == {}


def test_datastore_store_reads_image_info_and_final_label_info_final_wins():
    ds = FakeDatastore({"s1": {}, "s2": {}})
    store = DatastoreGradeLabelStore(ds)
    store.put("s1", {"L4-L5": {"central_canal": "mild", "facet_left": True}})
    assert ds.images["s1"]["grade_labels"] == {"L4-L5": {"central_canal": "mild", "facet_left": True}}
    ds.save_final_label_info("s1", {"grades": {"L4-L5": {"central_canal": "severe"}}})
    assert store.get("s1") == {"L4-L5": {"central_canal": "severe", "facet_left": True}}
    assert store.studies() == ["s1"]
