"""Interpretable central canal grading: a shallow scikit-learn decision tree on stage 1 measurements.

Every prediction carries the path it took through the tree in words, with this study's values, e.g.
``"dural sac / disc area 0.071 <= 0.085 -> severe"`` (wording from ``lib.spine.canal_rules``). The whole tree is
exported as text and as a PNG.
Saved with joblib as a plain dict (classifier, feature names, class names), never as a pickled class of ours,
so a saved tree outlives refactoring.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import joblib
import numpy as np
from sklearn.tree import DecisionTreeClassifier

from lib.spine.canal_rules import CANAL_FEATURES as FEATURE_SPECS
from lib.spine.canal_rules import explain_decision, tree_as_text
from lib.spine.levels import CANAL_GRADES

#: Measurements the tree may split on, in feature-column order.
CANAL_FEATURES: tuple[str, ...] = (
    "area_ratio",
    "ap_ratio",
    "dural_sac_area_mm2",
    "dural_sac_ap_mm",
    "disc_area_mm2",
    "disc_ap_mm",
)

GRADE_NAMES: tuple[str, ...] = tuple(str(g) for g in CANAL_GRADES)


def merge_same_grade_splits(classifier: DecisionTreeClassifier) -> int:
    """Turn every split whose two sides give the same grade into a leaf; returns how many splits were merged.

    Such a split only lengthens the rule a reader checks ("128 < area <= 147 -> normal" where "area > 128 -> normal"
    says the same). Predicted grades do not change: the merged node's class weights are the weighted mean of its
    children's, so the grade both children share stays the largest (a node whose own largest grade differs, which only
    a tie can cause, is kept). scikit-learn prunes by impurity (``ccp_alpha``), not by outcome, so the fitted tree's
    child arrays (writable views of its nodes, kept by joblib) are edited in place; the orphaned nodes stay unreached.
    """
    t = classifier.tree_
    left, right = t.children_left, t.children_right
    grade = np.argmax(t.value[:, 0, :], axis=1)
    merged = 0

    def visit(node: int) -> bool:
        nonlocal merged
        if left[node] == -1:
            return True
        left_leaf, right_leaf = visit(int(left[node])), visit(int(right[node]))
        if left_leaf and right_leaf and grade[left[node]] == grade[right[node]] == grade[node]:
            left[node] = right[node] = -1
            merged += 1
            return True
        return False

    visit(0)
    return merged


def tune_thresholds_for_kappa(
    classifier: DecisionTreeClassifier, X: np.ndarray, y: np.ndarray, passes: int = 3, max_candidates: int = 256
) -> tuple[float, float]:
    """Move each split's threshold to where the tree's linearly weighted kappa on (``X``, ``y``) is highest;
    returns the kappa before and after.

    Why: scikit-learn places a threshold where the Gini impurity falls most, which treats the grades as unordered
    labels; the canal grades are ordinal and the product is judged by linearly weighted kappa, so a cut-off between
    mild and moderate is worth placing where the fewest levels land a grade (or two) away. The tree keeps its shape
    and features; each leaf keeps saying its class-weighted majority grade (recounted for every candidate, so the
    tree stays a plain classification tree), and the node statistics (``value``, sample counts, impurity) are
    refreshed from the rows at the end so the picture and probabilities describe the final cut-offs. Thresholds are
    tried at midpoints between neighbouring values of the rows reaching the node (at most ``max_candidates``
    quantiles), node after node, for up to ``passes`` sweeps, keeping a change only when kappa strictly rises.
    """
    from sklearn.metrics import cohen_kappa_score
    from sklearn.utils.class_weight import compute_sample_weight

    X = np.asarray(X, np.float64)
    y = np.asarray(y, int)
    t = classifier.tree_
    classes = classifier.classes_.astype(int)
    class_index = np.searchsorted(classes, y)
    weight = compute_sample_weight(classifier.class_weight, y)  # ones when the tree has no class weights
    labels = list(range(len(GRADE_NAMES)))
    X32 = X.astype(np.float32)  # what the tree compares against
    reachable = sorted(_reachable_nodes(t))  # node order = sklearn's depth-first order
    reachable_leaves = [n for n in reachable if t.children_left[n] == -1]
    internal = [n for n in reachable if t.children_left[n] != -1]
    min_leaf = int(classifier.min_samples_leaf)

    def kappa() -> float:
        """Kappa with the current thresholds; -inf where a leaf would hold fewer rows than the tree allows."""
        leaves = classifier.apply(X32)
        if np.bincount(leaves, minlength=t.node_count)[reachable_leaves].min() < min_leaf:
            return -np.inf
        counts = np.zeros((t.node_count, len(classes)))
        np.add.at(counts, (leaves, class_index), weight)
        grades = classes[np.argmax(counts, axis=1)]
        return float(cohen_kappa_score(y, grades[leaves], weights="linear", labels=labels))

    before = best = kappa()
    for _ in range(passes):
        improved = False
        for node in internal:
            reaching = classifier.decision_path(X32)[:, node].toarray().ravel().astype(bool)
            values = np.unique(X32[reaching, t.feature[node]]).astype(np.float64)
            if len(values) < 2:
                continue
            candidates = (values[1:] + values[:-1]) / 2.0
            if len(candidates) > max_candidates:
                candidates = np.unique(np.quantile(candidates, np.linspace(0, 1, max_candidates)))
            kept = t.threshold[node]
            for candidate in candidates:
                t.threshold[node] = candidate
                score = kappa()
                if score > best + 1e-12:
                    best, kept, improved = score, candidate, True
            t.threshold[node] = kept
        if not improved:
            break
    _refresh_node_statistics(classifier, X, class_index, weight)
    return before, best


def _reachable_nodes(t) -> set[int]:
    """The nodes that hang under the root (merging leaves orphaned nodes in the arrays)."""
    reached, stack = set(), [0]
    while stack:
        n = stack.pop()
        reached.add(n)
        if t.children_left[n] != -1:
            stack += [int(t.children_left[n]), int(t.children_right[n])]
    return reached


def _refresh_node_statistics(classifier: DecisionTreeClassifier, X: np.ndarray, class_index: np.ndarray,
                             weight: np.ndarray) -> None:
    """Recount every node's class-weighted fractions, sample counts and Gini impurity from the rows."""
    t = classifier.tree_
    path = classifier.decision_path(X.astype(np.float32)).tocsc()
    for node in range(t.node_count):
        rows = path[:, node].nonzero()[0]
        if not len(rows):
            continue
        counts = np.bincount(class_index[rows], weights=weight[rows], minlength=t.value.shape[2])
        fractions = counts / counts.sum()
        t.value[node, 0, :] = fractions
        t.n_node_samples[node] = len(rows)
        t.weighted_n_node_samples[node] = counts.sum()
        t.impurity[node] = 1.0 - float(np.sum(fractions**2))


def leaf_size(n_levels: int, min_samples_leaf: int, min_leaf_fraction: float) -> int:
    """Smallest leaf for a tree fit on ``n_levels`` levels: ``min_samples_leaf``, or ``min_leaf_fraction`` of the
    levels when that is larger, so a leaf never rests on a handful of levels of a large archive (at 780 levels with
    2 per leaf, a 2-level leaf said "dural sac / disc area <= 0.053 -> moderate, > 0.053 -> severe")."""
    return max(int(min_samples_leaf), int(np.ceil(min_leaf_fraction * n_levels)))


@dataclass(frozen=True)
class TreePrediction:
    grade: str
    probabilities: dict[str, float]
    rule: str


def feature_row(measurements: Mapping[str, float], features: Sequence[str] = CANAL_FEATURES) -> np.ndarray:
    """One row of features from a measurements dict; ratios are derived when absent."""
    m = dict(measurements)
    if m.get("area_ratio") is None and m.get("disc_area_mm2"):
        m["area_ratio"] = m["dural_sac_area_mm2"] / m["disc_area_mm2"]
    if m.get("ap_ratio") is None and m.get("disc_ap_mm"):
        m["ap_ratio"] = m["dural_sac_ap_mm"] / m["disc_ap_mm"]
    missing = [f for f in features if m.get(f) is None]
    if missing:
        raise KeyError(f"measurements lack {missing}")
    return np.array([float(m[f]) for f in features], dtype=float)


def _label_with_unit(feature: str) -> str:
    spec = FEATURE_SPECS.get(feature)
    if spec is None:
        return feature
    return f"{spec.label} ({spec.unit})" if spec.unit else spec.label


class CanalTree:
    """A fitted tree and the names it needs to explain itself.

    >>> tree = CanalTree.fit(X, y)                     # X: (n, len(CANAL_FEATURES)), y: grade indices 0..3
    >>> tree.predict({"area_ratio": 0.07, ...}).rule   # "dural sac / disc area 0.070 <= 0.085 -> severe"
    """

    def __init__(self, classifier: DecisionTreeClassifier, features: Sequence[str] = CANAL_FEATURES):
        self.classifier = classifier
        self.features = tuple(features)

    @classmethod
    def fit(cls, X, y, max_depth: int = 3, min_samples_leaf: int = 2, seed: int = 0, features=CANAL_FEATURES,
            tune_for_kappa: bool = True):
        """Fit on rows ``X`` (columns ``features``) and grade indices ``y``; with ``tune_for_kappa`` the thresholds
        then move to where the linearly weighted kappa is highest (``tune_thresholds_for_kappa``); splits that
        cannot change the grade are merged away (``merge_same_grade_splits``) so every rule is as short as the tree
        allows."""
        X, y = np.asarray(X, float), np.asarray(y, int)
        clf = DecisionTreeClassifier(
            max_depth=max_depth, min_samples_leaf=min_samples_leaf, class_weight="balanced", random_state=seed
        )
        clf.fit(X, y)
        merge_same_grade_splits(clf)
        if tune_for_kappa:
            tune_thresholds_for_kappa(clf, X, y)
            merge_same_grade_splits(clf)
        return cls(clf, features)

    def predict(self, measurements: Mapping[str, float]) -> TreePrediction:
        x = feature_row(measurements, self.features)[None, :]
        proba = np.zeros(len(GRADE_NAMES))
        proba[self.classifier.classes_.astype(int)] = self.classifier.predict_proba(x)[0]
        grade = GRADE_NAMES[int(self.classifier.predict(x)[0])]
        explanation = explain_decision(self.classifier, x[0], self.features, self.class_names)
        if explanation.prediction != grade:  # canal_rules follows sklearn's float32 comparisons; never expected
            raise RuntimeError(f"tree explanation ({explanation.text}) disagrees with its prediction {grade}")
        return TreePrediction(grade, {g: float(p) for g, p in zip(GRADE_NAMES, proba)}, explanation.text)

    @property
    def class_names(self) -> list[str]:
        return [GRADE_NAMES[int(c)] for c in self.classifier.classes_]

    def explain(self, measurements: Mapping[str, float]):
        """The decision path (``lib.spine.canal_rules.TreeExplanation``) of one level's measurements."""
        x = feature_row(measurements, self.features)
        return explain_decision(self.classifier, x, self.features, self.class_names)

    def to_text(self) -> str:
        return tree_as_text(self.classifier, self.features, self.class_names)

    def save_png(self, path: str | Path) -> Path:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from sklearn.tree import plot_tree

        fig, ax = plt.subplots(figsize=(14, 7), dpi=100)
        plot_tree(
            self.classifier,
            feature_names=[_label_with_unit(f) for f in self.features],
            class_names=self.class_names,
            filled=True,
            impurity=False,
            proportion=True,  # class shares (class-weighted), not weighted sums
            precision=3,
            rounded=True,
            fontsize=8,
            ax=ax,
        )
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)
        return Path(path)

    def save(self, path: str | Path) -> Path:
        """joblib file of a plain dict, written atomically (a server may be loading it)."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp")
        joblib.dump({"classifier": self.classifier, "features": list(self.features), "classes": GRADE_NAMES}, tmp)
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "CanalTree":
        saved = joblib.load(path)
        return cls(saved["classifier"], saved["features"])
