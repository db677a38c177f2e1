"""Tolerant readers for DICOM attribute values, and the plane geometry built from them.

Real headers hold empty strings where a number belongs (``SliceThickness ''``), decimal strings with
stray spaces, or no value at all; these helpers turn each into a number or None instead of raising, so that
the caller can say which attribute is missing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from lib.spine.geometry import SliceGeometry

#: Row and column directions must be unit vectors and perpendicular within this tolerance.
ORIENTATION_TOLERANCE = 1e-2


def text(ds: Dataset | None, keyword: str) -> str:
    """The attribute as a stripped string, '' when absent or empty (multi-valued: joined with backslashes)."""
    if ds is None:
        return ""
    try:
        value = ds.get(keyword)
    except Exception:  # a malformed value pydicom cannot even convert
        return ""
    if value is None:
        return ""
    if isinstance(value, (list, tuple, MultiValue)):
        return "\\".join(str(v).strip() for v in value)
    return str(value).strip()


def text_values(ds: Dataset | None, keyword: str) -> tuple[str, ...]:
    """A multi-valued string attribute (ImageType) as an upper-case tuple; () when absent."""
    joined = text(ds, keyword)
    return tuple(part.strip().upper() for part in joined.split("\\")) if joined else ()


def number(value: Any) -> float | None:
    """A finite float from a DS/FD/IS value or string, else None ('' and None included)."""
    if value is None:
        return None
    try:
        if isinstance(value, str) and not value.strip():
            return None
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def integer(value: Any) -> int | None:
    """An int from an IS/US value or string, else None."""
    result = number(value)
    return None if result is None else int(round(result))


def numbers(value: Any, count: int) -> tuple[float, ...] | None:
    """Exactly ``count`` finite floats from a multi-valued attribute, else None."""
    if value is None or isinstance(value, (str, bytes)):
        return None
    try:
        items = list(value)
    except TypeError:
        return None
    parsed = [number(v) for v in items]
    if len(parsed) != count or any(p is None for p in parsed):
        return None
    return tuple(float(p) for p in parsed)  # type: ignore[arg-type]


def get(ds: Dataset | None, keyword: str) -> Any:
    """``ds.keyword`` or None, never raising on a malformed value."""
    if ds is None:
        return None
    try:
        return ds.get(keyword)
    except Exception:
        return None


@dataclass(frozen=True)
class PlaneValues:
    """Raw geometry attributes of one image plane, as found in a header or a functional group."""

    position: Any
    orientation: Any
    spacing: Any
    rows: Any
    columns: Any
    thickness: Any = None


def build_geometry(values: PlaneValues) -> tuple[SliceGeometry | None, str | None]:
    """A SliceGeometry, or None and the reason (which attribute is missing or invalid).

    The reason names the attribute and its tag, e.g. ``missing PixelSpacing (0028,0030)``, because that is
    what a PACS administrator searches for.
    """
    orientation = numbers(values.orientation, 6)
    position = numbers(values.position, 3)
    spacing = numbers(values.spacing, 2)
    rows, columns = integer(values.rows), integer(values.columns)
    for parsed, raw, name in (
        (orientation, values.orientation, "ImageOrientationPatient (0020,0037)"),
        (position, values.position, "ImagePositionPatient (0020,0032)"),
        (spacing, values.spacing, "PixelSpacing (0028,0030)"),
    ):
        if parsed is None:
            return None, (f"missing {name}" if _is_empty(raw) else f"invalid {name}: {raw!r}")
    if not rows or not columns or rows <= 0 or columns <= 0:
        return None, f"invalid Rows/Columns: {values.rows!r}/{values.columns!r}"
    if min(spacing) <= 0:  # type: ignore[type-var]
        return None, f"invalid PixelSpacing (0028,0030): {list(spacing)}"  # type: ignore[arg-type]
    problem = _orientation_problem(orientation)  # type: ignore[arg-type]
    if problem:
        return None, problem
    geometry = SliceGeometry(
        position_lps_mm=position,  # type: ignore[arg-type]
        row_direction=orientation[:3],  # type: ignore[index]
        column_direction=orientation[3:],  # type: ignore[index]
        pixel_spacing_mm=spacing,  # type: ignore[arg-type]
        rows=rows,
        columns=columns,
        slice_thickness_mm=number(values.thickness) or 0.0,
    )
    return geometry, None


def _is_empty(raw: Any) -> bool:
    """True for an absent or empty attribute value."""
    if raw is None:
        return True
    if isinstance(raw, str):
        return not raw.strip()
    try:
        return len(raw) == 0
    except TypeError:
        return False


def _orientation_problem(orientation: tuple[float, ...]) -> str | None:
    """Why six direction cosines do not form two perpendicular unit vectors, or None when they do."""
    row, col = np.asarray(orientation[:3]), np.asarray(orientation[3:])
    if abs(np.linalg.norm(row) - 1) > ORIENTATION_TOLERANCE or abs(np.linalg.norm(col) - 1) > ORIENTATION_TOLERANCE:
        return f"invalid ImageOrientationPatient (0020,0037) {list(orientation)}: directions are not unit vectors"
    if abs(float(row @ col)) > ORIENTATION_TOLERANCE:
        return f"invalid ImageOrientationPatient (0020,0037) {list(orientation)}: row and column are not perpendicular"
    return None
