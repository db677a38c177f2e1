import subprocess
import sys

import numpy as np
import pytest

from lib.spine.canal_rules import (
    ABSOLUTE_STENOSIS_CSA_MM2,
    CANAL_FEATURES,
    RELATIVE_STENOSIS_CSA_MM2,
    csa_reference_text,
    explain_decision,
    tree_as_text,
)

sklearn_tree = pytest.importorskip("sklearn.tree", reason="scikit-learn fits the toy trees")
FEATURES = list(CANAL_FEATURES)


def toy_data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    sac = rng.uniform(30, 220, n)
    disc = rng.uniform(900, 2000, n)
    sac_ap, disc_ap = rng.uniform(4, 16, n), rng.uniform(28, 40, n)
    x = np.column_stack([sac, disc, sac_ap, disc_ap, sac / disc, sac_ap / disc_ap])
    grade = np.digitize(x[:, 4] + rng.normal(0, 0.005, n), [0.05, 0.075, 0.1])
    return x, np.array(["severe", "moderate", "mild", "normal"])[grade]


@pytest.fixture(scope="module")
def fitted():
    x, y = toy_data()
    return sklearn_tree.DecisionTreeClassifier(max_depth=4, random_state=0).fit(x, y), x


def test_explanation_ends_at_the_predicted_grade(fitted):
    model, x = fitted
    x_test, _ = toy_data(200, seed=1)
    for row in np.vstack([x, x_test]):
        e = explain_decision(model, dict(zip(FEATURES, row)), FEATURES)
        assert e.prediction == model.predict(row[None])[0]
        assert e.leaf == model.apply(row[None].astype(np.float32))[0]
        assert e.text.endswith(f"-> {e.prediction}")
        for step in e.steps:
            assert step.passed == (np.float32(step.value) <= step.threshold)


def test_values_exactly_at_a_threshold_follow_the_tree(fitted):
    model, x = fitted
    t = model.tree_
    for node in np.flatnonzero(t.children_left != -1):
        row = x[0].copy()
        row[t.feature[node]] = t.threshold[node]
        assert explain_decision(model, row, FEATURES).prediction == model.predict(row[None])[0]


def test_explanation_words_carry_labels_values_and_units(fitted):
    model, _ = fitted
    sample = dict(zip(FEATURES, [50.0, 1400.0, 6.0, 33.0, 50.0 / 1400.0, 6.0 / 33.0]))
    e = explain_decision(model, sample, FEATURES)
    assert e.prediction == "severe"
    assert e.text.startswith("dural sac / disc area 0.036 <= ") and "dural sac area 50 mm2 <= " in e.text
    assert e.steps[0].text.startswith(CANAL_FEATURES[e.steps[0].feature].label)


def test_integer_classes_take_names():
    x, y = toy_data()
    codes = np.searchsorted(["mild", "moderate", "normal", "severe"], y)
    model = sklearn_tree.DecisionTreeClassifier(max_depth=2, random_state=0).fit(x, codes)
    e = explain_decision(model, x[0], FEATURES, class_names=["mild", "moderate", "normal", "severe"])
    assert e.prediction == ["mild", "moderate", "normal", "severe"][model.predict(x[:1])[0]]
    with pytest.raises(ValueError, match="classes"):
        explain_decision(model, x[0], FEATURES, class_names=["a", "b"])
    with pytest.raises(ValueError, match="features"):
        explain_decision(model, x[0], FEATURES[:3])


def test_whole_tree_as_text(fitted):
    model, _ = fitted
    text = tree_as_text(model, FEATURES)
    lines = text.splitlines()
    assert sum("->" in line for line in lines) == model.tree_.n_leaves
    assert lines[0].startswith("dural sac / disc area <= ")
    assert any(line.startswith("|   ") for line in lines)


def test_reference_thresholds():
    assert (ABSOLUTE_STENOSIS_CSA_MM2, RELATIVE_STENOSIS_CSA_MM2) == (75, 100)
    assert "absolute" in csa_reference_text(60) and "relative" in csa_reference_text(90)
    assert "above" in csa_reference_text(130)


def test_spine_core_imports_no_framework():
    code = (
        "import sys, lib.spine; "
        "bad = [m for m in ('torch', 'monai', 'monailabel', 'pydicom', 'sklearn', 'skimage') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    root = str(__import__("pathlib").Path(__file__).resolve().parents[2])
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
