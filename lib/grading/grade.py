"""Grading one study: stage 1 result (measurements, landmarks, mid-disc slice per level) -> grades.json form.

    stage1_result = {"study_uid", "series_uid", "models": {name: version},
                     "levels": {"L4-L5": {"measurements": {...}, "landmarks_lps_mm": {...}, "slice_sop_uid"}, ...},
                     "missing_levels": {level: reason}}
    grades = grade_study(series, stage1_result, models)

returns the same dict with, per level, ``central_canal`` ({grade, probabilities, tree_grade, tree_rule}),
``foramen_left/right`` ({stenosis, probability}), ``facet_left/right`` ({arthropathy, probability}) next to the
stage 1 ``measurements``, ``landmarks_lps_mm`` and ``slice_sop_uid``. ``grade`` and ``probabilities`` are the BiT
classifier's, ``tree_grade`` and ``tree_rule`` the decision tree's. Levels stage 1 could not find stay in
``missing_levels``; a level whose slice or landmarks are unusable joins them with the reason.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from lib.grading.bit import predict_proba
from lib.grading.canal_tree import CanalTree
from lib.grading.crops import CropSpec, SeriesSlices, level_crops
from lib.grading.structures import REGIONS, Structure
from lib.spine.levels import LEVELS


@dataclass
class Classifier:
    """A trained classifier for one structure, with the crop geometry it was trained on."""

    structure: Structure
    model: torch.nn.Module
    spec: CropSpec
    version: str


@dataclass
class GradingModels:
    """Everything grading needs: one classifier per structure and the canal tree."""

    classifiers: dict[Structure, Classifier]
    tree: CanalTree
    tree_version: str
    threshold: float = 0.5

    def __post_init__(self):
        missing = [s.value for s in Structure if s not in self.classifiers]
        if missing:
            raise ValueError(f"GradingModels needs a classifier for every structure; missing {missing}")

    @property
    def specs(self) -> dict[Structure, CropSpec]:
        return {s: c.spec for s, c in self.classifiers.items()}

    def versions(self) -> dict[str, str]:
        out = {f"grading_{s.value}": c.version for s, c in self.classifiers.items()}
        out["canal_tree"] = self.tree_version
        return out


def _crops_by_level(index: SeriesSlices, levels: dict, specs, missing: dict) -> dict[str, dict[str, np.ndarray]]:
    crops = {}
    for level, entry in levels.items():
        try:
            crops[level] = level_crops(index, entry, specs)
        except KeyError as err:
            missing[level] = f"cannot grade: {err.args[0] if err.args else err}"
    return crops


def _probabilities(crops: dict[str, dict[str, np.ndarray]], models: GradingModels) -> dict[tuple[str, str], np.ndarray]:
    """Run each structure's classifier once over all its crops; (level, region) -> probabilities."""
    out = {}
    for structure, clf in models.classifiers.items():
        keys = [(lv, r.name) for lv in crops for r in REGIONS if r.structure is structure]
        if not keys:
            continue
        proba = predict_proba(clf.model, np.stack([crops[lv][name] for lv, name in keys]))
        out.update(zip(keys, proba))
    return out


def _level_grades(level: str, entry: dict, proba: dict, models: GradingModels) -> dict[str, Any]:
    canal_p = proba[(level, "central_canal")]
    names = Structure.CANAL.class_names
    tree = models.tree.predict(entry["measurements"])
    out: dict[str, Any] = {
        "central_canal": {
            "grade": names[int(np.argmax(canal_p))],
            "probabilities": {n: float(p) for n, p in zip(names, canal_p)},
            "tree_grade": tree.grade,
            "tree_rule": tree.rule,
        }
    }
    for region in (r for r in REGIONS if r.structure is not Structure.CANAL):
        p = float(proba[(level, region.name)][1])
        out[region.name] = {region.structure.positive_finding: p >= models.threshold, "probability": p}
    out["measurements"] = copy.deepcopy(entry["measurements"])
    out["landmarks_lps_mm"] = copy.deepcopy(entry["landmarks_lps_mm"])
    out["slice_sop_uid"] = entry["slice_sop_uid"]
    return out


def grade_study(series: Any, stage1_result: dict, models: GradingModels) -> dict:
    """Grades of every level stage 1 found, in the grades.json form (see module docstring)."""
    missing = dict(stage1_result.get("missing_levels", {}))
    found = {lv: e for lv, e in stage1_result.get("levels", {}).items() if lv not in missing}
    crops = _crops_by_level(SeriesSlices(series), found, models.specs, missing)
    proba = _probabilities(crops, models)
    levels = {str(lv): _level_grades(str(lv), found[str(lv)], proba, models) for lv in LEVELS if str(lv) in crops}
    return {
        "study_uid": stage1_result.get("study_uid"),
        "series_uid": stage1_result.get("series_uid"),
        "models": {**stage1_result.get("models", {}), **models.versions()},
        "levels": levels,
        "missing_levels": {lv: missing[lv] for lv in sorted(missing)},
    }
