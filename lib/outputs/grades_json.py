"""``grades.json``: the grades of one study, as returned by ``lib.grading.grade.grade_study``.

Form (coordinates patient LPS mm, areas mm2, diameters mm)::

    {"study_uid", "series_uid", "models": {name: version},
     "levels": {"L1-L2": {"central_canal": {"grade", "probabilities": {"normal", "mild", "moderate", "severe"},
                                            "tree_grade", "tree_rule"},
                          "foramen_left": {"stenosis": bool, "probability"}, "foramen_right": {...},
                          "facet_left": {"arthropathy": bool, "probability"}, "facet_right": {...},
                          "measurements": {...}, "landmarks_lps_mm": {...}, "slice_sop_uid"}, ...},
     "missing_levels": {level: reason}}

Written atomically (temporary file in the same folder, then rename), so a reader never sees half a file.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

from lib.grading.labels import CANAL_VALUES, LEVEL_NAMES

FILE_NAME = "grades.json"
_BINARY = {"foramen_left": "stenosis", "foramen_right": "stenosis", "facet_left": "arthropathy",
           "facet_right": "arthropathy"}


def form_errors(grades: dict) -> list[str]:
    """What is wrong with a grades dict against the form above; empty when it conforms."""
    errors = [f"missing key {k!r}" for k in ("study_uid", "series_uid", "models", "levels", "missing_levels")
              if k not in grades]
    for level, entry in grades.get("levels", {}).items():
        if level not in LEVEL_NAMES:
            errors.append(f"unknown level {level!r}")
            continue
        canal = entry.get("central_canal", {})
        if canal.get("grade") not in CANAL_VALUES or canal.get("tree_grade") not in CANAL_VALUES:
            errors.append(f"{level}: central_canal grade/tree_grade not in {CANAL_VALUES}")
        probs = canal.get("probabilities", {})
        if set(probs) != set(CANAL_VALUES) or not math.isclose(sum(probs.values()), 1.0, abs_tol=1e-4):
            errors.append(f"{level}: central_canal probabilities must cover {CANAL_VALUES} and sum to 1")
        if not isinstance(canal.get("tree_rule"), str) or "->" not in canal.get("tree_rule", ""):
            errors.append(f"{level}: central_canal tree_rule missing")
        for region, finding in _BINARY.items():
            r = entry.get(region, {})
            if not isinstance(r.get(finding), bool) or not 0.0 <= float(r.get("probability", -1)) <= 1.0:
                errors.append(f"{level}: {region} needs {finding!r} (bool) and probability in [0, 1]")
        for key in ("measurements", "landmarks_lps_mm", "slice_sop_uid"):
            if key not in entry:
                errors.append(f"{level}: missing {key!r}")
    for level in grades.get("missing_levels", {}):
        if level in grades.get("levels", {}):
            errors.append(f"{level} is both graded and missing")
    return errors


def write_grades_json(path: str | Path, grades: dict) -> Path:
    """Write ``grades`` to ``path`` (a file, or a folder that gets ``grades.json``) atomically; returns the file."""
    path = Path(path)
    if path.is_dir():
        path = path / FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(grades, f, indent=2)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_grades_json(path: str | Path) -> dict:
    path = Path(path)
    return json.loads((path / FILE_NAME if path.is_dir() else path).read_text())
