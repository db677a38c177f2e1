"""The canal tree's rule text is the path its prediction took, with the study's own values."""
import re

import numpy as np
import pytest

from lib.grading.canal_tree import CANAL_FEATURES, GRADE_NAMES, CanalTree


def _table(n=200, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    area_ratio = 0.22 - 0.045 * y + rng.normal(0, 0.012, n)
    ap_ratio = 0.5 - 0.08 * y + rng.normal(0, 0.03, n)
    sac = 180 - 35 * y + rng.normal(0, 15, n)
    X = np.column_stack([area_ratio, ap_ratio, sac, 14 - 2 * y + rng.normal(0, 1, n),
                         rng.normal(1200, 100, n), rng.normal(32, 2, n)])
    return X, y


def test_rule_ends_with_the_prediction_and_every_step_holds_for_the_values():
    X, y = _table()
    tree = CanalTree.fit(X, y, max_depth=3)
    for row in X[:60]:
        m = dict(zip(CANAL_FEATURES, row))
        p = tree.predict(m)
        assert p.grade == GRADE_NAMES[int(tree.classifier.predict(row[None])[0])]
        assert p.rule.endswith(f"-> {p.grade}")
        assert sum(p.probabilities.values()) == pytest.approx(1.0)
        for step in tree.explain(m).steps:
            value = m[step.feature]
            assert (np.float32(value) <= step.threshold) == step.passed
        assert len(p.rule.split(", ")) <= 3


def test_rule_uses_words_and_the_study_value():
    X, y = _table()
    tree = CanalTree.fit(X, y, max_depth=2)
    m = dict(zip(CANAL_FEATURES, X[0]))
    rule = tree.predict(m).rule
    first = tree.explain(m).steps[0]
    assert first.feature == "area_ratio"  # the strongest feature of this table
    assert re.match(rf"dural sac / disc area {m['area_ratio']:.3f} (<=|>) \d\.\d{{3}}", rule)


def test_tree_exports_text_png_and_round_trips(tmp_path):
    X, y = _table()
    tree = CanalTree.fit(X, y, max_depth=3)
    text = tree.to_text()
    assert "dural sac / disc area <=" in text and "->" in text
    png = tree.save_png(tmp_path / "tree.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
    again = CanalTree.load(tree.save(tmp_path / "tree.joblib"))
    m = dict(zip(CANAL_FEATURES, X[5]))
    assert again.predict(m) == tree.predict(m)


def test_ratios_are_derived_when_stage1_gives_only_areas_and_diameters():
    X, y = _table()
    tree = CanalTree.fit(X, y)
    m = dict(zip(CANAL_FEATURES, X[3]))
    m2 = {k: v for k, v in m.items() if k not in ("area_ratio", "ap_ratio")}
    m2["dural_sac_area_mm2"], m2["disc_area_mm2"] = m["area_ratio"] * 1000, 1000.0
    m2["dural_sac_ap_mm"], m2["disc_ap_mm"] = m["ap_ratio"] * 30, 30.0
    m["dural_sac_area_mm2"], m["disc_area_mm2"] = m2["dural_sac_area_mm2"], 1000.0
    m["dural_sac_ap_mm"], m["disc_ap_mm"] = m2["dural_sac_ap_mm"], 30.0
    assert tree.predict(m2).grade == tree.predict(m).grade
