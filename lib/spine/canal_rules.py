"""Reference thresholds for central canal stenosis and plain-words explanations of a canal decision tree.

The tree is a fitted scikit-learn ``DecisionTreeClassifier`` (or its ``tree_``) passed in by the caller; this module
reads only its arrays (``tree_.feature``, ``threshold``, ``children_left``, ``children_right``, ``value``) and does
not import scikit-learn. Features are the canal measurements of :meth:`LevelMeasurements.as_dict` (mm, mm2 and
unitless ratios); :data:`CANAL_FEATURES` gives each a human label and unit.

Example::

    explanation = explain_decision(tree, measurements.as_dict())
    explanation.text  # "dural sac / disc area 0.071 <= 0.085, dural sac area 61 mm2 <= 75 mm2 -> severe"
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

#: Dural sac cross-sectional area below which stenosis is absolute (mm2; Schonstrom, Hamanishi; domain.md).
ABSOLUTE_STENOSIS_CSA_MM2 = 75.0
#: Dural sac cross-sectional area below which stenosis is relative (mm2; Schonstrom, Hamanishi; domain.md).
RELATIVE_STENOSIS_CSA_MM2 = 100.0
#: Best single cut-off found at L4-L5 by Lim et al. 2017 (mm2; domain.md), for reference only.
LIM_2017_L4_L5_CSA_MM2 = 111.0

_LEAF = -1  # sklearn's TREE_LEAF


@dataclass(frozen=True)
class FeatureSpec:
    """How a feature is called and printed: ``label`` in words, ``unit`` (may be empty), ``fmt`` for the value."""

    label: str
    unit: str = ""
    fmt: str = ".3f"

    def format(self, value: float, fmt: str | None = None) -> str:
        text = format(float(value), fmt or self.fmt)
        return f"{text} {self.unit}" if self.unit else text


#: The canal features, keyed as in LevelMeasurements.as_dict().
CANAL_FEATURES: dict[str, FeatureSpec] = {
    "dural_sac_area_mm2": FeatureSpec("dural sac area", "mm2", ".0f"),
    "disc_area_mm2": FeatureSpec("disc area", "mm2", ".0f"),
    "dural_sac_ap_mm": FeatureSpec("dural sac AP diameter", "mm", ".1f"),
    "disc_ap_mm": FeatureSpec("disc AP diameter", "mm", ".1f"),
    "area_ratio": FeatureSpec("dural sac / disc area", "", ".3f"),
    "ap_ratio": FeatureSpec("dural sac / disc AP diameter", "", ".3f"),
}


@dataclass(frozen=True)
class DecisionStep:
    """One test on the path: ``value <= threshold`` was ``passed`` (the tree went left) or not."""

    feature: str
    value: float
    threshold: float
    passed: bool
    text: str


@dataclass(frozen=True)
class TreeExplanation:
    """The decision path of one sample, the predicted class and the whole path in words."""

    steps: tuple[DecisionStep, ...]
    prediction: str
    leaf: int
    text: str


def explain_decision(
    tree,
    sample: Mapping[str, float] | Sequence[float],
    feature_names: Sequence[str] | None = None,
    class_names: Sequence[str] | None = None,
    specs: Mapping[str, FeatureSpec] = CANAL_FEATURES,
) -> TreeExplanation:
    """Follow ``sample`` down ``tree`` and say each test with the sample's values.

    ``sample``: feature name -> value, or values in ``feature_names`` order. ``feature_names`` default to the
    model's ``feature_names_in_``; ``class_names`` (aligned with the tree's classes) default to ``classes_``.
    Values are compared as float32, as scikit-learn does, so the explanation always ends at the predicted leaf.
    """
    t, names, classes = _arrays(tree, feature_names, class_names)
    x = [float(sample[n]) for n in names] if isinstance(sample, Mapping) else [float(v) for v in sample]
    if len(x) != len(names):
        raise ValueError(f"sample has {len(x)} values, the tree has {len(names)} features {list(names)}")
    steps, node = [], 0
    while t.children_left[node] != _LEAF:
        f, thr = int(t.feature[node]), float(t.threshold[node])
        passed = float(np.float32(x[f])) <= thr
        spec = _spec(names[f], specs)
        v_text, t_text = _distinct(spec, x[f], thr)
        text = f"{spec.label} {v_text} {'<=' if passed else '>'} {t_text}"
        steps.append(DecisionStep(names[f], x[f], thr, passed, text))
        node = int(t.children_left[node] if passed else t.children_right[node])
    prediction = classes[int(np.argmax(t.value[node][0]))]
    text = ", ".join(s.text for s in steps) + f" -> {prediction}" if steps else f"-> {prediction}"
    return TreeExplanation(tuple(steps), prediction, node, text)


def tree_as_text(
    tree,
    feature_names: Sequence[str] | None = None,
    class_names: Sequence[str] | None = None,
    specs: Mapping[str, FeatureSpec] = CANAL_FEATURES,
) -> str:
    """The whole tree as indented text, one test or leaf per line, with labels and units."""
    t, names, classes = _arrays(tree, feature_names, class_names)
    lines: list[str] = []

    def walk(node: int, depth: int) -> None:
        pad = "|   " * depth
        if t.children_left[node] == _LEAF:
            counts = np.asarray(t.value[node][0], float)
            share = counts.max() / counts.sum() if counts.sum() > 0 else 0.0
            lines.append(
                f"{pad}-> {classes[int(np.argmax(counts))]} "
                f"({int(t.n_node_samples[node])} samples, {share:.0%} of them this grade)"
            )
            return
        spec = _spec(names[int(t.feature[node])], specs)
        thr = spec.format(t.threshold[node])
        lines.append(f"{pad}{spec.label} <= {thr}")
        walk(int(t.children_left[node]), depth + 1)
        lines.append(f"{pad}{spec.label} > {thr}")
        walk(int(t.children_right[node]), depth + 1)

    walk(0, 0)
    return "\n".join(lines)


def csa_reference_text(dural_sac_area_mm2: float) -> str:
    """Where a dural sac area stands against the classic quantitative cut-offs, in words."""
    area = f"dural sac area {dural_sac_area_mm2:.0f} mm2"
    if dural_sac_area_mm2 < ABSOLUTE_STENOSIS_CSA_MM2:
        return f"{area} < {ABSOLUTE_STENOSIS_CSA_MM2:.0f} mm2: absolute stenosis by the classic cut-off"
    if dural_sac_area_mm2 < RELATIVE_STENOSIS_CSA_MM2:
        return f"{area} < {RELATIVE_STENOSIS_CSA_MM2:.0f} mm2: relative stenosis by the classic cut-off"
    return f"{area} >= {RELATIVE_STENOSIS_CSA_MM2:.0f} mm2: above the classic stenosis cut-offs"


def _arrays(tree, feature_names, class_names):
    """(tree_ arrays, feature names, class names as strings) from a fitted classifier or its ``tree_``."""
    t = getattr(tree, "tree_", tree)
    names = list(feature_names if feature_names is not None else getattr(tree, "feature_names_in_", []))
    if len(names) != t.n_features:
        raise ValueError(f"the tree uses {t.n_features} features; got feature names {names}")
    if class_names is None:
        class_names = getattr(tree, "classes_", range(t.value.shape[2]))
    classes = [str(c) for c in class_names]
    if len(classes) != t.value.shape[2]:
        raise ValueError(f"the tree has {t.value.shape[2]} classes; got class names {classes}")
    return t, names, classes


def _spec(name: str, specs: Mapping[str, FeatureSpec]) -> FeatureSpec:
    return specs.get(name) or FeatureSpec(name.replace("_", " "), "", ".4g")


def _distinct(spec: FeatureSpec, value: float, threshold: float) -> tuple[str, str]:
    """Value and threshold printed with enough digits to tell them apart."""
    v, t = spec.format(value), spec.format(threshold)
    digits = 4
    while v == t and value != threshold and digits <= 8:
        v, t = spec.format(value, f".{digits}g"), spec.format(threshold, f".{digits}g")
        digits += 1
    return v, t
