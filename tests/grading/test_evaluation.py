"""Evaluation: weighted kappa, AUROC, confusion matrices and ROC curves from predicted and true grades."""
import pytest

from lib.grading.evaluation import evaluate_grades, write_figures


def _pred(grade, tree, p_foramen, p_facet):
    return {"central_canal": {"grade": grade, "tree_grade": tree},
            "foramen_left": {"probability": p_foramen}, "foramen_right": {"probability": 1 - p_foramen},
            "facet_left": {"probability": p_facet}, "facet_right": {"probability": p_facet}}


def _truth(grade, foramen, facet):
    return {"central_canal": grade, "foramen_left": foramen, "foramen_right": not foramen,
            "facet_left": facet, "facet_right": facet}


def test_perfect_and_off_by_one_agreement(tmp_path):
    grades = ["normal", "mild", "moderate", "severe"] * 3
    pairs = [(_pred(g, g, 0.9 if i % 2 else 0.1, 0.8 if i % 3 else 0.3), _truth(g, bool(i % 2), bool(i % 3)))
             for i, g in enumerate(grades)]
    r = evaluate_grades(pairs)
    assert r["canal_bit"]["kappa_linear"] == pytest.approx(1.0) and r["canal_tree"]["accuracy"] == 1.0
    assert r["foramen"]["auroc"] == pytest.approx(1.0) and r["facet"]["auroc"] == pytest.approx(1.0)
    assert r["foramen"]["n"] == 24 and sum(map(sum, r["canal_bit"]["confusion"])) == 12
    shifted = [(_pred(grades[min(i % 4 + 1, 3)], grades[i % 4], 0.5, 0.5), t) for i, (_, t) in enumerate(pairs)]
    r2 = evaluate_grades(shifted)
    assert 0 < r2["canal_bit"]["kappa_linear"] < 1 and r2["foramen"]["auroc"] == pytest.approx(0.5)
    paths = write_figures(r, tmp_path)
    assert len(paths) == 5 and all(p.read_bytes()[:4] == b"\x89PNG" for p in paths)


def test_single_class_truth_gives_no_auroc():
    r = evaluate_grades([(_pred("mild", "mild", 0.3, 0.3), _truth("mild", False, False))])
    assert r["facet"]["auroc"] is None and r["canal_bit"]["kappa_linear"] is None
