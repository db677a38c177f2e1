"""A radiology team's grade CSV: one row per study and level, validated whole before anything is stored.

Columns (header names case-insensitive): ``study_id`` or ``study_uid``, ``level``, and any of ``central_canal``
(normal/mild/moderate/severe), ``foramen_left``, ``foramen_right``, ``facet_left``, ``facet_right`` (true/false,
yes/no, 1/0, normal/stenosis, normal/arthropathy). A blank cell means "not graded". Levels are written ``L4-L5``
(``L4/L5``, ``L4-5`` and ``L4/5`` are accepted too).

Every row is checked (unknown study, unknown level, invalid grade, a level given twice) and each refusal names its
row; if any row is refused, nothing is imported.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from lib.grading.labels import GRADE_FIELDS, LEVEL_NAMES, GradeError, GradeLabelStore, parse_level_grades

ID_COLUMNS = ("study_id", "study_uid")
_LEVEL = re.compile(r"^\s*L([1-5])\s*[-/]\s*(?:L)?([1-5]|S1)\s*$", re.IGNORECASE)


@dataclass
class CsvGrades:
    grades: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # study_id -> level -> fields
    errors: list[str] = field(default_factory=list)
    rows: int = 0


def normalise_level(text: str) -> str:
    m = _LEVEL.match(text or "")
    if m:
        upper = m.group(2).upper()
        name = f"L{m.group(1)}-{upper if upper == 'S1' else 'L' + upper}"
        if name in LEVEL_NAMES:
            return name
    raise GradeError(f"unknown level {text!r}; expected one of {', '.join(LEVEL_NAMES)}")


def read_grade_csv(path: str | Path, known_studies: Mapping[str, str]) -> CsvGrades:
    """Parse and validate a grade CSV. ``known_studies`` maps study ids and Study Instance UIDs to study ids."""
    out = CsvGrades()
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        columns = [c.strip().lower() for c in (reader.fieldnames or [])]
        unknown = [c for c in columns if c not in ID_COLUMNS + ("level",) + GRADE_FIELDS]
        if unknown or "level" not in columns or not any(c in columns for c in ID_COLUMNS):
            out.errors.append(f"header: columns must be study_id or study_uid, level, and grades among "
                              f"{', '.join(GRADE_FIELDS)}; got {columns}"
                              + (f" (unknown: {unknown})" if unknown else ""))
            return out
        for line, raw in enumerate(reader, start=2):
            out.rows += 1
            row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}
            _read_row(line, row, known_studies, out)
    if out.rows == 0:
        out.errors.append("the file has no rows")
    return out


def _read_row(line: int, row: dict[str, str], known: Mapping[str, str], out: CsvGrades) -> None:
    key = row.get("study_id") or row.get("study_uid") or ""
    problems = []
    study_id = known.get(key)
    if study_id is None:
        problems.append(f"unknown study {key!r}" if key else "no study_id or study_uid")
    try:
        level = normalise_level(row.get("level", ""))
    except GradeError as err:
        problems.append(str(err))
        level = None
    try:
        grades = parse_level_grades({k: v for k, v in row.items() if k in GRADE_FIELDS})
        if not grades:
            problems.append("no grade given")
    except GradeError as err:
        problems.append(str(err))
        grades = {}
    if study_id and level and level in out.grades.get(study_id, {}):
        problems.append(f"{level} of study {key!r} appears twice")
    if problems:
        out.errors.append(f"row {line}: " + "; ".join(problems))
    elif study_id and level:
        out.grades.setdefault(study_id, {})[level] = grades


def import_grade_csv(path: str | Path, store: GradeLabelStore, known_studies: Mapping[str, str]) -> CsvGrades:
    """Validate the whole file; store its grades only if every row is good (all or nothing). Returns what was read."""
    result = read_grade_csv(path, known_studies)
    if result.errors:
        return result
    put_many = getattr(store, "put_many", None)
    if put_many:
        put_many(result.grades)
    else:
        for study_id, grades in result.grades.items():
            store.put(study_id, grades)
    return result
