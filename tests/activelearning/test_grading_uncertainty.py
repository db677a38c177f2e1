"""Grading uncertainty from a grades document (grades.json form of issue 4)."""
import pytest

from lib.activelearning.grading_uncertainty import grades_version, grading_uncertainty, level_uncertainty, study_grades

CANAL = ("normal", "mild", "moderate", "severe")


def level(probs, grade, tree, p_binary):
    return {"central_canal": {"grade": grade, "tree_grade": tree, "tree_rule": "x -> y",
                              "probabilities": dict(zip(CANAL, probs))},
            "foramen_left": {"stenosis": p_binary > 0.5, "probability": p_binary},
            "foramen_right": {"stenosis": p_binary > 0.5, "probability": p_binary},
            "facet_left": {"arthropathy": p_binary > 0.5, "probability": p_binary},
            "facet_right": {"arthropathy": p_binary > 0.5, "probability": p_binary},
            "measurements": {}, "landmarks_lps_mm": {}, "slice_sop_uid": "1.2"}


def grades(*levels, missing=None):
    names = ["L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"]
    return {"study_uid": "1", "series_uid": "2", "models": {"grading_canal": "v1"},
            "levels": dict(zip(names, levels)), "missing_levels": missing or {}}


CONFIDENT = level((1.0, 0.0, 0.0, 0.0), "normal", "normal", 0.0)
UNSURE = level((0.25, 0.25, 0.25, 0.25), "normal", "severe", 0.5)


def test_parts_are_zero_when_sure_and_one_when_unsure():
    assert level_uncertainty(CONFIDENT, (1, 1, 1)) == (0.0, {"canal_entropy": 0.0, "disagreement": 0.0, "binary": 0.0})
    value, parts = level_uncertainty(UNSURE, (1, 1, 1))
    assert value == pytest.approx(1.0) and parts["canal_entropy"] == pytest.approx(1.0)


def test_study_score_is_the_mean_over_levels_and_orders_studies():
    sure, mixed, unsure = grades(CONFIDENT, CONFIDENT), grades(CONFIDENT, UNSURE), grades(UNSURE, UNSURE)
    scores = [grading_uncertainty(g)[0] for g in (sure, mixed, unsure)]
    assert scores == sorted(scores) and scores[0] == 0.0 and scores[2] == pytest.approx(1.0)
    assert scores[1] == pytest.approx(0.5)


def test_bit_tree_disagreement_alone_raises_the_score():
    agree = level((0.1, 0.8, 0.1, 0.0), "mild", "mild", 0.1)
    disagree = level((0.1, 0.8, 0.1, 0.0), "mild", "severe", 0.1)
    assert grading_uncertainty(grades(disagree))[0] > grading_uncertainty(grades(agree))[0]


def test_missing_parts_and_levels():
    partial = {"central_canal": {"grade": "mild", "tree_grade": "mild", "probabilities": {}}}
    value, parts = level_uncertainty(partial, (1, 1, 0.5))
    assert value == 0.0 and parts["canal_entropy"] is None and parts["binary"] is None
    score, details = grading_uncertainty(grades(missing={"L5-S1": "disc not found"}))
    assert score == 0.0 and details["missing_levels"] == 1


def test_grades_are_read_from_either_info_key_and_versioned_by_content():
    g = grades(UNSURE)
    assert study_grades({"grades": g}) is g and study_grades({"grading": g}) is g and study_grades({}) is None
    assert grades_version(g) == grades_version(dict(g)) != grades_version(grades(CONFIDENT))
