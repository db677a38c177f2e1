"""Per-slice geometry as JSON, persisted beside a work image so that every slice's true plane survives.

A stacked NIfTI of an angled acquisition carries only a nominal affine; this sidecar keeps each slice's
ImagePositionPatient, ImageOrientationPatient and PixelSpacing (LPS mm, DICOM order) and its SOP instance
UID, in the stacking (canonical) order, with the block it belongs to.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lib.dicom.series import AxialSeries, SagittalSeries
from lib.spine.geometry import SliceGeometry

Series = AxialSeries | SagittalSeries


def slice_geometry_json(series: Series) -> list[dict[str, Any]]:
    """One dict per slice, in the series' order (k of the stacked volume).

    Keys: ``index`` (k), ``sop_uid``, ``frame`` (1-based frame of a multi-frame file, else None),
    ``instance_number``, ``file`` (relative to the study folder when inside it), ``block`` (index into
    ``series.blocks``; 0 for a sagittal series), ``position`` (ImagePositionPatient, LPS mm), ``orientation``
    (ImageOrientationPatient: row direction then column direction), ``spacing`` (PixelSpacing: row spacing,
    column spacing, mm), ``rows``, ``cols``, ``thickness`` (SliceThickness mm, 0 when unknown).
    """
    blocks = series.block_of_slice() if isinstance(series, AxialSeries) else [0] * len(series.slices)
    root = series.study_dir if isinstance(series, AxialSeries) else None
    records = []
    for k, (item, block) in enumerate(zip(series.slices, blocks, strict=True)):
        g = item.geometry
        records.append({
            "index": k,
            "sop_uid": item.sop_instance_uid,
            "frame": item.frame_number,
            "instance_number": item.instance_number,
            "file": _relative(item.file_path, root),
            "block": block,
            "position": [float(v) for v in g.position_lps_mm],
            "orientation": [float(v) for v in (*g.row_direction, *g.column_direction)],
            "spacing": [float(v) for v in g.pixel_spacing_mm],
            "rows": int(g.rows),
            "cols": int(g.columns),
            "thickness": float(g.slice_thickness_mm),
        })
    return records


def write_slice_geometry_json(series: Series, path: str | Path) -> Path:
    """Write ``slice_geometry_json(series)`` (with the study and series UIDs) to ``path``."""
    path = Path(path)
    payload = {
        "series_uid": series.series_uid,
        "study_uid": getattr(series, "study_uid", None),
        "slices": slice_geometry_json(series),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1))
    return path


def read_slice_geometry_json(path: str | Path) -> list[dict[str, Any]]:
    """The per-slice records written by write_slice_geometry_json (or a bare list of them)."""
    payload = json.loads(Path(path).read_text())
    return payload["slices"] if isinstance(payload, dict) else payload


def geometries_from_json(records: list[dict[str, Any]]) -> list[SliceGeometry]:
    """SliceGeometry objects back from the per-slice records, in their order."""
    return [
        SliceGeometry(
            position_lps_mm=tuple(r["position"]),
            row_direction=tuple(r["orientation"][:3]),
            column_direction=tuple(r["orientation"][3:]),
            pixel_spacing_mm=tuple(r["spacing"]),
            rows=int(r["rows"]),
            columns=int(r["cols"]),
            slice_thickness_mm=float(r.get("thickness", 0.0)),
        )
        for r in records
    ]


def _relative(path: Path, root: Path | None) -> str:
    """``path`` relative to ``root`` when inside it, as a POSIX string."""
    if root is not None:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            pass
    return str(path)
