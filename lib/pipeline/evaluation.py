"""Stage 1 against phantom truth: the figures of ``scripts/evaluate.py`` (numpy only; plots in evaluation_report.py).

Per study (truth form: issue 2 / CONTRACTS.md; ``truth/<id>_labels.nii.gz`` stacked like the work image):

* Dice per label over the whole stacked volume (dural sac 1, disc 2).
* Level naming: a level is named right when the truth disc nearest to the disc centroid stage 1 found under that name
  is the truth disc of that name; ``mid_slice_exact``: stage 1 chose the truth's mid-disc slice (SOP UID).
* Landmarks (facet_left/right, foramen_left/right), per source (``model``: the learned model's raw points, where a
  model is given; ``rules``: the geometric rules; ``final``: what the result reports): the in-plane error (mm; both
  points projected onto stage 1's mid-disc plane), the 3D error (mm), and the IoU of two 16 mm squares centred on
  the predicted and the true point, aligned with the slice's row and column axes (in-plane offsets).
* Measurements: absolute error in % of truth for dural sac area, disc area, dural sac and disc AP diameters.

``summarise`` turns the per-level records into medians per landmark type and source, beside the reference system's
figures (Bharadwaj et al. 2023; ../shared/domain.md).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from lib.landmarks.heatmaps import TARGET_NAMES
from lib.spine.geometry import SliceGeometry

BOX_MM = 16.0
MEASURES = ("dural_sac_area_mm2", "disc_area_mm2", "dural_sac_ap_mm", "disc_ap_mm")
LABELS = {"dural_sac": 1, "disc": 2}

#: The reference system on its 30 test patients (domain.md); IoU per landmark type of 16 mm boxes is ours to compare.
REFERENCE = {"dice_dural_sac": 0.93, "dice_disc": 0.94, "iou_facet": 0.83, "iou_foramen": 0.72}
#: Issue 3 targets on held-out phantoms.
TARGETS = {"dice": 0.95, "level_naming": 0.99, "dural_sac_area_abs_pct": 5.0, "landmark_median_mm": 2.0,
           "iou": 0.85}


@dataclass
class StudyEvaluation:
    study_id: str
    dice: dict[str, float]
    levels: list[dict] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def dice(pred: np.ndarray, truth: np.ndarray, label: int) -> float:
    """Dice of one label between two volumes of the same shape (1.0 when both are empty)."""
    a, b = np.asarray(pred) == label, np.asarray(truth) == label
    total = int(a.sum() + b.sum())
    return 1.0 if total == 0 else float(2 * np.logical_and(a, b).sum() / total)


def box_iou(offset_mm: tuple[float, float], side_mm: float = BOX_MM) -> float:
    """IoU of two axis-aligned squares of ``side_mm`` whose centres differ by ``offset_mm`` (in-plane)."""
    w, h = max(0.0, side_mm - abs(offset_mm[0])), max(0.0, side_mm - abs(offset_mm[1]))
    inter = w * h
    return float(inter / (2 * side_mm**2 - inter))


def point_errors(predicted, truth, geometry: SliceGeometry) -> dict[str, float]:
    """In-plane and 3D error (mm) and the 16 mm box IoU of one predicted point."""
    d = np.asarray(predicted, float) - np.asarray(truth, float)
    along_rows = float(d @ np.asarray(geometry.row_direction, float))
    along_cols = float(d @ np.asarray(geometry.column_direction, float))
    return {"inplane_mm": float(np.hypot(along_rows, along_cols)), "error_3d_mm": float(np.linalg.norm(d)),
            "iou": box_iou((along_rows, along_cols))}


def level_named_right(level: str, disc_centroid, truth_levels: Mapping[str, Mapping]) -> bool:
    """True when the truth disc nearest to ``disc_centroid`` is the truth disc of ``level``."""
    distances = {lv: np.linalg.norm(np.subtract(disc_centroid, t["landmarks_lps_mm"]["disc_centroid"]))
                 for lv, t in truth_levels.items()}
    return min(distances, key=distances.get) == level


def evaluate_levels(document: Mapping, truth: Mapping, geometries, rule_points: Mapping,
                    model_points: Mapping | None = None) -> list[dict]:
    """One record per level stage 1 found (see module docstring); ``*_points``: {level: {name: [x, y, z]}}."""
    records = []
    for level, entry in document["levels"].items():
        t = truth["levels"].get(level)
        if t is None:
            continue
        geometry = geometries[int(entry["slice_index"])]
        record = {"level": level, "slice_index": int(entry["slice_index"]),
                  "named_right": level_named_right(level, entry["landmarks_lps_mm"]["disc_centroid"], truth["levels"]),
                  "mid_slice_exact": entry["slice_sop_uid"] == t.get("mid_disc_sop_uid"),
                  "measurement_signed_pct": {m: 100.0 * (entry["measurements"][m] - t[m]) / t[m]
                                             for m in MEASURES if t.get(m)},
                  "landmark_source": entry.get("landmark_source", "rules"), "points": {}}
        sources = {"final": entry["landmarks_lps_mm"], "rules": rule_points.get(level, {})}
        if model_points is not None and level in model_points:
            sources["model"] = model_points[level]
        for source, points in sources.items():
            record["points"][source] = {n: point_errors(points[n], t["landmarks_lps_mm"][n], geometry)
                                        for n in TARGET_NAMES if n in points and n in t["landmarks_lps_mm"]}
        record["measurement_abs_pct"] = {m: abs(v) for m, v in record["measurement_signed_pct"].items()}
        records.append(record)
    return records


def _median(values) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.median(values)) if values else None


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def summarise(studies: list[StudyEvaluation]) -> dict:
    """Medians and rates over all studies (see module docstring); keys are stable for the JSON report."""
    levels = [r for s in studies for r in s.levels]
    n_truth = 5 * len(studies)
    summary = {
        "studies": len(studies),
        "levels_found": len(levels),
        "levels_expected": n_truth,
        "dice": {name: {"mean": _mean(s.dice.get(name) for s in studies),
                        "median": _median(s.dice.get(name) for s in studies)} for name in LABELS},
        "level_naming_accuracy": (sum(r["named_right"] for r in levels) / n_truth) if n_truth else None,
        "mid_slice_exact_rate": (sum(r["mid_slice_exact"] for r in levels) / len(levels)) if levels else None,
        "measurement_median_abs_pct": {m: _median(r["measurement_abs_pct"].get(m) for r in levels) for m in MEASURES},
        # the bias: a negative median means the masks are drawn small (it moves levels near a grade's threshold)
        "measurement_median_signed_pct": {m: _median(r["measurement_signed_pct"].get(m) for r in levels)
                                          for m in MEASURES},
        "landmarks": {},
    }
    for source in ("model", "rules", "final"):
        rows = [r["points"][source] for r in levels if source in r["points"]]
        if not rows:
            continue
        per_type = {}
        for kind in ("facet", "foramen", *TARGET_NAMES):
            errs = [e for row in rows for n, e in row.items() if n == kind or n.startswith(kind + "_")]
            per_type[kind] = {"median_inplane_mm": _median(e["inplane_mm"] for e in errs),
                              "median_3d_mm": _median(e["error_3d_mm"] for e in errs),
                              "mean_iou": _mean(e["iou"] for e in errs), "n": len(errs)}
        all_errs = [e for row in rows for e in row.values()]
        per_type["all"] = {"median_inplane_mm": _median(e["inplane_mm"] for e in all_errs),
                           "median_3d_mm": _median(e["error_3d_mm"] for e in all_errs),
                           "mean_iou": _mean(e["iou"] for e in all_errs), "n": len(all_errs)}
        summary["landmarks"][source] = per_type
    summary["reference"] = dict(REFERENCE)
    summary["targets"] = dict(TARGETS)
    return summary
