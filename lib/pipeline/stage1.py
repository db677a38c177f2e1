"""Stage 1 of a study as one result document: levels named, measured and landmarked from a label volume.

Input: the label volume ``labels[col, row, k]`` (0/1/2) of a series stacked in canonical order, each slice's
``SliceGeometry`` and SOP instance UID, and the series' blocks. Output: the ``stage1`` document of issue 3::

    {"study_uid", "series_uid", "models": {name: version}, "levels": {"L1-L2": {"measurements": {...},
     "landmarks_lps_mm": {...}, "landmark_source": "rules"|"model", "slice_sop_uid", "slice_index"}, ...},
     "missing_levels": {level: reason}, "level_confirmation": str|None}

numpy only; the learned landmark model plugs in through ``refine_landmarks`` (a callable), the rules being both the
fallback and the prior.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np

from lib.spine import (
    LEVELS,
    Level,
    LevelMeasurements,
    MeasurementError,
    SliceGeometry,
    measure_level,
    name_levels_in_volume,
    place_landmarks,
)

#: (level, mid-disc slice pixels[row, col] label, geometry, rule landmarks) -> refined landmarks or None.
LandmarkRefiner = Callable[[Level, int, Mapping[str, list[float]]], "Mapping[str, list[float]] | None"]


def label_slice(labels: np.ndarray, k: int) -> np.ndarray:
    """Slice k of a stacked ``[col, row, k]`` label volume as ``[row, col]``."""
    return np.ascontiguousarray(np.asarray(labels)[:, :, k].T)


def measure_named_level(labels: np.ndarray, k: int, geometry: SliceGeometry) -> LevelMeasurements:
    """Measurements of one level on its mid-disc slice k."""
    return measure_level(label_slice(labels, k), geometry)


def stage1_result(
    labels: np.ndarray,
    geometries: Sequence[SliceGeometry],
    sop_uids: Sequence[str],
    blocks: Sequence[Sequence[int]] | None,
    study_uid: str,
    series_uid: str,
    models: Mapping[str, str],
    refine_landmarks: LandmarkRefiner | None = None,
) -> dict:
    """Name, measure and place landmarks at every level; levels that cannot be done are listed with the reason."""
    labels = np.asarray(labels)
    if labels.ndim != 3 or labels.shape[2] != len(geometries):
        raise ValueError(f"label volume {labels.shape} does not match the series' {len(geometries)} slices")
    naming = name_levels_in_volume(labels, list(geometries), [list(b) for b in blocks] if blocks else None)
    missing = {str(level): reason for level, reason in naming.missing_levels.items()}
    levels: dict[str, dict] = {}
    for level in LEVELS:
        named = naming.by_level.get(level)
        if named is None:
            missing.setdefault(str(level), "no disc found for this level")
            continue
        k = named.slice_index
        try:
            measurements = measure_named_level(labels, k, geometries[k])
        except MeasurementError as e:
            missing[str(level)] = f"mid-disc slice {k} (SOP {sop_uids[k]}): {e}"
            continue
        landmarks = place_landmarks(measurements, named.disc_width_mm / 2).as_dict()
        source = "rules"
        if refine_landmarks is not None:
            refined = refine_landmarks(level, k, landmarks)
            if refined:
                landmarks, source = {**landmarks, **refined}, "model"
        levels[str(level)] = {
            "measurements": measurements.as_dict(),
            "landmarks_lps_mm": landmarks,
            "landmark_source": source,
            "slice_sop_uid": sop_uids[k],
            "slice_index": int(k),
        }
    return {
        "study_uid": study_uid,
        "series_uid": series_uid,
        "models": dict(models),
        "levels": levels,
        "missing_levels": {lv: missing[lv] for lv in map(str, LEVELS) if lv in missing},
        "ignored": list(naming.ignored),
    }
