"""Grade labels (what a radiologist says about a level) and where they are kept.

A study's grade labels: ``{level: {"central_canal": "normal"|"mild"|"moderate"|"severe", "foramen_left": bool,
"foramen_right": bool, "facet_left": bool, "facet_right": bool}}``; a field may be absent (not graded).

Stores implement ``GradeLabelStore``:
- ``JsonGradeLabelStore``: one JSON file ``{study_id: {level: {...}}}``, for scripts and tests;
- ``DatastoreGradeLabelStore``: a MONAI Label datastore. Reads the image info key ``grade_labels`` (written by
  ``scripts/import_grades.py`` and by ``put``) overlaid with the ``grades`` key of the image's ``final`` label info
  (what ``PUT /datastore/label?image=ID&tag=final`` with ``params={"grades": ...}`` saves), final label winning field
  by field. ``put`` writes the image info key, so a study needs no mask to carry grades.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Protocol

from lib.spine.levels import CANAL_GRADES, LEVELS

CANAL_FIELD = "central_canal"
BINARY_FIELDS: tuple[str, ...] = ("foramen_left", "foramen_right", "facet_left", "facet_right")
GRADE_FIELDS: tuple[str, ...] = (CANAL_FIELD,) + BINARY_FIELDS
LEVEL_NAMES: tuple[str, ...] = tuple(str(lv) for lv in LEVELS)
CANAL_VALUES: tuple[str, ...] = tuple(str(g) for g in CANAL_GRADES)

_TRUE = {"true", "yes", "y", "1", "stenosis", "arthropathy", "abnormal", "present"}
_FALSE = {"false", "no", "n", "0", "normal", "absent", "none"}

IMAGE_INFO_KEY = "grade_labels"
LABEL_INFO_KEY = "grades"


class GradeError(ValueError):
    """A grade that cannot be read; the message says which field and value."""


def parse_canal(value: Any) -> str:
    text = str(value).strip().lower()
    if text not in CANAL_VALUES:
        raise GradeError(f"central_canal {value!r} is not one of {', '.join(CANAL_VALUES)}")
    return text


def parse_binary(field: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise GradeError(f"{field} {value!r} is not a yes/no grade (true/false, yes/no, 1/0, normal/{_positive(field)})")


def _positive(field: str) -> str:
    return "stenosis" if field.startswith("foramen") else "arthropathy"


def parse_level_grades(raw: dict[str, Any]) -> dict[str, Any]:
    """Validated grades of one level; absent, None or blank fields are left out. Unknown fields are refused."""
    unknown = sorted(set(raw) - set(GRADE_FIELDS))
    if unknown:
        raise GradeError(f"unknown grade fields {unknown}; expected {list(GRADE_FIELDS)}")
    out: dict[str, Any] = {}
    for field in GRADE_FIELDS:
        value = raw.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        out[field] = parse_canal(value) if field == CANAL_FIELD else parse_binary(field, value)
    return out


def parse_study_grades(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Validated grades of a study ``{level: {...}}``; unknown levels are refused."""
    out = {}
    for level, grades in raw.items():
        if str(level) not in LEVEL_NAMES:
            raise GradeError(f"unknown level {level!r}; expected one of {', '.join(LEVEL_NAMES)}")
        out[str(level)] = parse_level_grades(grades)
    return out


def merge_grades(base: dict, update: dict) -> dict:
    """Field-by-field overlay of ``update`` on ``base`` (both ``{level: {field: value}}``)."""
    merged = {lv: dict(g) for lv, g in base.items()}
    for level, grades in update.items():
        merged.setdefault(level, {}).update(grades)
    return merged


class GradeLabelStore(Protocol):
    def get(self, study_id: str) -> dict[str, dict[str, Any]]:
        """Grades of a study, ``{}`` when it has none."""

    def put(self, study_id: str, grades: dict[str, dict[str, Any]]) -> None:
        """Validate and store grades, merged field by field over what the study had."""

    def studies(self) -> list[str]:
        """Studies that have at least one grade."""


class JsonGradeLabelStore:
    """Grade labels in one JSON file ``{study_id: {level: {...}}}``, written atomically."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def _read(self) -> dict:
        return json.loads(self.path.read_text()) if self.path.is_file() else {}

    def get(self, study_id: str) -> dict[str, dict[str, Any]]:
        return self._read().get(study_id, {})

    def put(self, study_id: str, grades: dict[str, dict[str, Any]]) -> None:
        self.put_many({study_id: grades})

    def put_many(self, grades_by_study: dict[str, dict]) -> None:
        """Store several studies in one write (all or nothing)."""
        data = self._read()
        for study_id, grades in grades_by_study.items():
            data[study_id] = merge_grades(data.get(study_id, {}), parse_study_grades(grades))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        os.replace(tmp, self.path)

    def studies(self) -> list[str]:
        return sorted(s for s, g in self._read().items() if any(g.values()))


class DatastoreGradeLabelStore:
    """Grade labels kept in a MONAI Label datastore's image info and final label info (see module docstring)."""

    def __init__(self, datastore: Any, tag: str = "final"):
        self.datastore = datastore
        self.tag = tag

    def get(self, study_id: str) -> dict[str, dict[str, Any]]:
        info = self.datastore.get_image_info(study_id) or {}
        grades = parse_study_grades(info.get(IMAGE_INFO_KEY, {}) or {})
        label_id = self.datastore.get_label_by_image_id(study_id, self.tag)
        if label_id:
            label_info = self.datastore.get_label_info(label_id, self.tag) or {}
            grades = merge_grades(grades, parse_study_grades(label_info.get(LABEL_INFO_KEY, {}) or {}))
        return {lv: g for lv, g in grades.items() if g}

    def put(self, study_id: str, grades: dict[str, dict[str, Any]]) -> None:
        info = self.datastore.get_image_info(study_id) or {}
        merged = merge_grades(parse_study_grades(info.get(IMAGE_INFO_KEY, {}) or {}), parse_study_grades(grades))
        self.datastore.update_image_info(study_id, {IMAGE_INFO_KEY: merged})

    def studies(self) -> list[str]:
        return [s for s in self.datastore.list_images() if self.get(s)]
