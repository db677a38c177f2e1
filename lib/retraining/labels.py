"""Which final labels a model learns from, and a fingerprint of each, to count labels new since a training.

A ``final`` label saved through ``PUT /datastore/label`` (OHIF, Slicer, scripts) is a mask file; its label info may
also carry landmarks (``landmarks_lps_mm``) and grades (``grades``). Grades imported from a CSV live in the image
info (``grade_labels``, lib/grading/labels.py) with no mask. A model learns from some of these kinds
(``MODEL_LABEL_KINDS``); a label counts for a model when it holds a kind that model learns from.

A fingerprint changes whenever the label is saved again (label info ``ts`` and the label file's modification time;
imported grades: a hash of their content), so a corrected label counts as new.
"""
from __future__ import annotations

import hashlib
import json
import os
from enum import Enum
from typing import Any, Iterable, Mapping

FINAL = "final"
GRADE_LABELS_IMAGE_KEY = "grade_labels"
LANDMARK_LABEL_KEYS = ("landmarks_lps_mm", "landmarks", "slicer_markups")  # what lib/trainers/landmarks reads
GRADE_LABEL_KEY = "grades"


class LabelKind(str, Enum):
    MASK = "mask"
    LANDMARKS = "landmarks"
    GRADES = "grades"

    def __str__(self) -> str:
        return self.value


#: The label kinds each model of the app learns from; a model not listed learns from masks.
MODEL_LABEL_KINDS: dict[str, frozenset[LabelKind]] = {
    "segmentation": frozenset({LabelKind.MASK}),
    "landmarks": frozenset({LabelKind.LANDMARKS}),
    "grading": frozenset({LabelKind.GRADES}),
    "canal_tree": frozenset({LabelKind.GRADES}),
}


def kinds_fed(model: str) -> frozenset[LabelKind]:
    return MODEL_LABEL_KINDS.get(model, frozenset({LabelKind.MASK}))


def final_label_kinds(label_info: Mapping[str, Any]) -> set[LabelKind]:
    """Kinds carried by one final label: always a mask, plus landmarks and grades when its info has them."""
    kinds = {LabelKind.MASK}
    if any(label_info.get(k) for k in LANDMARK_LABEL_KEYS):
        kinds.add(LabelKind.LANDMARKS)
    if label_info.get(GRADE_LABEL_KEY):
        kinds.add(LabelKind.GRADES)
    return kinds


#: Groups of label-info keys an annotator corrects apart from the mask (landmarks in any of their forms; grades).
CARRIED_LABEL_GROUPS = (LANDMARK_LABEL_KEYS, (GRADE_LABEL_KEY,))


def carry_over_label_info(previous: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> dict[str, Any]:
    """The info to store with a re-saved final label: ``new``, plus the landmarks and grades of ``previous``
    for each group (landmarks, grades) that ``new`` says nothing about.

    OHIF and Slicer save a corrected mask with no landmarks or grades in its info; MONAI Label replaces the label
    info on every save, so without this a mask correction would silently throw away corrected landmarks and grades.
    A new info with landmarks in any form (e.g. only a Slicer markups document) replaces all the old landmarks.
    What was carried is listed under ``carried_over`` so it can be seen.
    """
    merged = dict(new or {})
    previous = previous or {}
    carried = [key for group in CARRIED_LABEL_GROUPS if not any(merged.get(k) for k in group)
               for key in group if previous.get(key)]
    for key in carried:
        merged[key] = previous[key]
    if carried:
        merged["carried_over"] = carried
    return merged


def _final_fingerprint(datastore, image_id: str, info: Mapping[str, Any]) -> str:
    uri = datastore.get_label_uri(image_id, FINAL)
    mtime = os.stat(uri).st_mtime_ns if uri and os.path.exists(uri) else 0
    return f"final:{info.get('ts', 0)}:{mtime}"


def _content_hash(value: Any) -> str:
    return hashlib.sha1(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:12]


def label_fingerprints(datastore, kinds: Iterable[LabelKind]) -> dict[str, str]:
    """``{image_id: fingerprint}`` of every study holding a label of one of ``kinds`` (final label or imported)."""
    kinds = set(kinds)
    prints: dict[str, str] = {}
    for image_id in datastore.get_labeled_images():
        info = datastore.get_label_info(image_id, FINAL) or {}
        if kinds & final_label_kinds(info):
            prints[image_id] = _final_fingerprint(datastore, image_id, info)
    if LabelKind.GRADES in kinds:
        for image_id in datastore.list_images():
            imported = datastore.get_image_info(image_id).get(GRADE_LABELS_IMAGE_KEY)
            if imported:
                prints[image_id] = "|".join(filter(None, (prints.get(image_id), "grades:" + _content_hash(imported))))
    return prints


def new_since(current: Mapping[str, str], baseline: Mapping[str, str]) -> list[str]:
    """Studies whose label is absent from ``baseline`` or changed since; sorted."""
    return sorted(k for k, v in current.items() if baseline.get(k) != v)


def label_order(datastore, image_ids: Iterable[str]) -> list[str]:
    """Studies in the order their final label first arrived (label ``ts``, then id); the split assigns in this order."""
    def key(image_id: str) -> tuple[int, str]:
        info = datastore.get_label_info(image_id, FINAL) or {}
        return int(info.get("ts", 0) or 0), image_id

    return sorted(image_ids, key=key)
