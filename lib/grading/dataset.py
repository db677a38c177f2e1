"""Training examples for stage 2: crops with grade labels for the classifiers, measurement rows for the canal tree.

A ``StudySample`` is one study ready for grading work: its axial series, a stage 1 result dict (form in
``lib.grading.grade``) and its grade labels (form in ``lib.grading.labels``). For development and training on
phantoms, ``stage1_from_truth`` and ``labels_from_truth`` build both from the phantom truth JSON
(``DIR/truth/<study_id>.json``: per level grades, measurements, ``landmarks_lps_mm`` and ``mid_disc_sop_uid``).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from lib.grading.canal_tree import CANAL_FEATURES, feature_row
from lib.grading.crops import CropSpec, SeriesSlices, level_crops
from lib.grading.labels import BINARY_FIELDS, CANAL_FIELD, CANAL_VALUES, parse_study_grades
from lib.grading.structures import REGIONS, Region, Structure

logger = logging.getLogger(__name__)

MEASUREMENT_KEYS: tuple[str, ...] = (
    "dural_sac_area_mm2",
    "disc_area_mm2",
    "dural_sac_ap_mm",
    "disc_ap_mm",
    "area_ratio",
    "ap_ratio",
)


@dataclass
class StudySample:
    study_id: str
    series: Any
    stage1: dict
    grades: dict[str, dict[str, Any]]


@dataclass
class CropExample:
    """One classifier training example: ``crop`` (3, S, S) float32 and its class index."""

    study_id: str
    level: str
    region: str
    structure: Structure
    crop: np.ndarray
    label: int


def stage1_from_truth(truth: dict) -> dict:
    """The stage 1 result form built from phantom truth (measurements, landmarks, mid-disc slice per level)."""
    levels = {}
    for level, t in truth["levels"].items():
        m = {k: float(t[k]) for k in MEASUREMENT_KEYS[:4]}
        m["area_ratio"] = m["dural_sac_area_mm2"] / m["disc_area_mm2"]
        m["ap_ratio"] = m["dural_sac_ap_mm"] / m["disc_ap_mm"]
        levels[level] = {
            "measurements": m,
            "landmarks_lps_mm": {k: [float(v) for v in p] for k, p in t["landmarks_lps_mm"].items()},
            "slice_sop_uid": t["mid_disc_sop_uid"],
        }
    return {
        "study_uid": truth.get("study_uid"),
        "series_uid": truth.get("series_uid"),
        "models": {"stage1": "phantom-truth"},
        "levels": levels,
        "missing_levels": {},
    }


def labels_from_truth(truth: dict) -> dict[str, dict[str, Any]]:
    """Grade labels (``{level: {central_canal, foramen_left, ...}}``) from phantom truth."""
    fields = (CANAL_FIELD,) + BINARY_FIELDS
    return parse_study_grades({lv: {f: t[f] for f in fields if f in t} for lv, t in truth["levels"].items()})


def region_label(region: Region, level_grades: dict[str, Any]) -> int | None:
    """Class index of a region's grade, None when not graded."""
    value = level_grades.get(region.name)
    if value is None:
        return None
    return CANAL_VALUES.index(value) if region.structure is Structure.CANAL else int(bool(value))


def crop_examples(sample: StudySample, specs: dict[Structure, CropSpec]) -> list[CropExample]:
    """Every labelled region of every level stage 1 found, as crops."""
    index = SeriesSlices(sample.series)
    out = []
    for level, entry in sample.stage1["levels"].items():
        grades = sample.grades.get(level, {})
        regions = [r for r in REGIONS if r.structure in specs and region_label(r, grades) is not None]
        if not regions or level in sample.stage1.get("missing_levels", {}):
            continue
        try:
            crops = level_crops(index, entry, specs, regions)
        except KeyError as err:
            logger.warning("%s %s: no crops (%s)", sample.study_id, level, err)
            continue
        for r in regions:
            out.append(CropExample(sample.study_id, level, r.name, r.structure, crops[r.name], region_label(r, grades)))
    return out


def tree_rows(samples: Iterable[StudySample]) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) for the canal tree: measurement rows (CANAL_FEATURES order) and canal grade indices."""
    X, y = [], []
    for s in samples:
        for level, entry in s.stage1["levels"].items():
            grade = s.grades.get(level, {}).get(CANAL_FIELD)
            if grade is None or level in s.stage1.get("missing_levels", {}):
                continue
            X.append(feature_row(entry["measurements"], CANAL_FEATURES))
            y.append(CANAL_VALUES.index(grade))
    return np.asarray(X, float).reshape(-1, len(CANAL_FEATURES)), np.asarray(y, int)


def phantom_study_ids(data_dir: str | Path) -> list[str]:
    return sorted(p.stem for p in (Path(data_dir) / "truth").glob("*.json"))


def phantom_samples(
    data_dir: str | Path, study_ids: Iterable[str] | None = None, loader: Callable[[Path], Any] | None = None
) -> Iterator[StudySample]:
    """Phantom studies (``DIR/dicom/<id>``, ``DIR/truth/<id>.json``) as samples with truth stage 1 and labels."""
    if loader is None:
        from lib.dicom import load_axial_series as loader
    data_dir = Path(data_dir)
    for study_id in study_ids if study_ids is not None else phantom_study_ids(data_dir):
        truth = json.loads((data_dir / "truth" / f"{study_id}.json").read_text())
        series = loader(data_dir / "dicom" / study_id)
        yield StudySample(study_id, series, stage1_from_truth(truth), labels_from_truth(truth))
