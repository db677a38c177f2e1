"""How unsure stage 2 is about a study's grades, from the grades stored in its image info (grades.json form).

Per graded level, three parts, each in [0, 1]:
- ``canal_entropy``: entropy of the BiT canal probabilities (normal/mild/moderate/severe) over log(4);
- ``disagreement``: distance between the BiT grade and the decision tree's grade, in grades, over 3;
- ``binary``: mean over foramen and facet, left and right, of ``1 - |2p - 1|`` (1 when p = 0.5).
The level's uncertainty is their weighted mean (``activelearning_grading_weights``, parts that are absent left out);
the study's score is the mean over its graded levels. Levels stage 1 could not find are counted in the details.

The grades are read from image info ``grades`` (or ``grading``, where the grading stage keeps them); a score's
version is a hash of the grades it was computed from, so it goes stale when the study is graded again.
"""
from __future__ import annotations

import hashlib
import json
import math
from typing import Any, Callable, Mapping, Sequence

from lib.activelearning.scoring import BatchedScoring

METHOD = "grading_uncertainty"
GRADES_INFO_KEYS = ("grades", "grading")
CANAL_ORDER = ("normal", "mild", "moderate", "severe")
BINARY_REGIONS = {"foramen_left": "stenosis", "foramen_right": "stenosis", "facet_left": "arthropathy",
                  "facet_right": "arthropathy"}


def study_grades(info: Mapping[str, Any]) -> dict | None:
    """The grades document of a study's image info, or None when it has not been graded."""
    for key in GRADES_INFO_KEYS:
        grades = info.get(key)
        if isinstance(grades, dict) and isinstance(grades.get("levels"), dict):
            return grades
    return None


def _canal_entropy(canal: Mapping[str, Any]) -> float | None:
    probs = [float(p) for p in (canal.get("probabilities") or {}).values() if isinstance(p, (int, float))]
    total = sum(probs)
    if len(probs) < 2 or total <= 0:
        return None
    return -sum(p / total * math.log(p / total) for p in probs if p > 0) / math.log(len(CANAL_ORDER))


def _disagreement(canal: Mapping[str, Any]) -> float | None:
    grade, tree = canal.get("grade"), canal.get("tree_grade")
    if grade not in CANAL_ORDER or tree not in CANAL_ORDER:
        return None
    return abs(CANAL_ORDER.index(grade) - CANAL_ORDER.index(tree)) / (len(CANAL_ORDER) - 1)


def _binary(entry: Mapping[str, Any]) -> float | None:
    values = [1.0 - abs(2.0 * float(entry[r]["probability"]) - 1.0) for r in BINARY_REGIONS
              if isinstance((entry.get(r) or {}).get("probability"), (int, float))]
    return sum(values) / len(values) if values else None


def level_uncertainty(entry: Mapping[str, Any], weights: Sequence[float]) -> tuple[float | None, dict]:
    canal = entry.get("central_canal") or {}
    parts = {"canal_entropy": _canal_entropy(canal), "disagreement": _disagreement(canal), "binary": _binary(entry)}
    used = [(w, v) for w, v in zip(weights, parts.values()) if v is not None and w > 0]
    value = sum(w * v for w, v in used) / sum(w for w, _ in used) if used else None
    return value, parts


def grading_uncertainty(grades: Mapping[str, Any], weights: Sequence[float] = (1.0, 1.0, 0.5)) -> tuple[float, dict]:
    """(score, details) of a grades document; score 0 with no graded level."""
    levels = {}
    for level, entry in sorted((grades.get("levels") or {}).items()):
        value, parts = level_uncertainty(entry, weights)
        if value is not None:
            levels[level] = {"value": round(value, 4), **{k: None if v is None else round(v, 4)
                                                          for k, v in parts.items()}}
    score = sum(v["value"] for v in levels.values()) / len(levels) if levels else 0.0
    return score, {"levels": levels, "missing_levels": len(grades.get("missing_levels") or {}),
                   "models": dict(grades.get("models") or {})}


def grades_version(grades: Mapping[str, Any]) -> str:
    return "grades:" + hashlib.sha1(json.dumps(grades, sort_keys=True, default=str).encode()).hexdigest()[:12]


class GradingUncertaintyScoring(BatchedScoring):
    """``POST /scoring/grading_uncertainty``: scores studies from their stored grades.

    ``grade_study(image_id)``, when given, grades a study that has no grades yet (the app's grading inference,
    which stores them in image info); without it such studies wait until they are graded.
    """

    def __init__(self, weights: Sequence[float], batch: int, grade_study: Callable[[str], Any] | None = None):
        super().__init__(METHOD, "Uncertainty of the stage 2 grades (canal entropy, BiT vs tree, foramen/facet)",
                         batch)
        self.weights = tuple(weights)
        self.grade_study = grade_study

    def current_version(self) -> str | None:
        return "grades"

    def version_of(self, image_id: str, info: Mapping[str, Any], current: str) -> str | None:
        grades = study_grades(info)
        if grades is not None:
            return grades_version(grades)
        return "ungraded" if self.grade_study else None

    def score(self, image_id: str, info: Mapping[str, Any], datastore) -> tuple[float, dict] | None:
        grades = study_grades(info)
        if grades is None and self.grade_study is not None:
            self.grade_study(image_id)
            grades = study_grades(datastore.get_image_info(image_id))
        return None if grades is None else grading_uncertainty(grades, self.weights)
