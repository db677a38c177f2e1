"""The landmarks of a stage 1 document as viewers want them: a label map of small discs (OHIF, any segmentation
viewer) and 3D Slicer markups JSON; and annotators' markups back to landmarks (for training on their corrections).

Label map: uint8 ``[col, row, k]`` with the shape of the work image (lines up with the series slice by slice, the
way the segmentation does). Each landmark of a level is a disc of radius ``radius_mm`` (true mm, anisotropic
pixels allowed) on that level's mid-disc slice, in the slice's plane, valued :data:`LANDMARK_LABELS`; the pixel
nearest the point is always set, so no landmark vanishes on coarse pixels.

Markups: the Slicer markups schema (``.mrk.json``), one Fiducial list in LPS, control point labels
``"<level> <landmark>"``, e.g. ``"L4-L5 facet_left"``. :func:`landmarks_from_markups` reads such a list back into
``{level: {landmark: [x, y, z]}}``, the form the landmark trainer reads from a final label's info.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from lib.landmarks.heatmaps import TARGET_NAMES
from lib.spine.geometry import SliceGeometry
from lib.spine.levels import LANDMARK_NAMES, LEVELS

#: Label values of the landmark label map.
LANDMARK_LABELS: dict[str, int] = {name: i + 1 for i, name in enumerate(TARGET_NAMES)}

MARKUPS_SCHEMA = ("https://raw.githubusercontent.com/slicer/slicer/master/Modules/Loadable/Markups/Resources/Schema/"
                  "markups-schema-v1.0.3.json#")
DEFAULT_RADIUS_MM = 2.0


def disc_on_slice(geometry: SliceGeometry, point_lps, radius_mm: float) -> np.ndarray:
    """Boolean ``[rows, cols]`` disc of ``radius_mm`` around the in-plane projection of ``point_lps``."""
    r0, c0, _ = geometry.lps_to_pixel(point_lps)
    dr, dc = geometry.pixel_spacing_mm
    rows = np.arange(geometry.rows)[:, None]
    cols = np.arange(geometry.columns)[None, :]
    mask = ((rows - r0) * dr) ** 2 + ((cols - c0) * dc) ** 2 <= radius_mm**2
    nearest = (int(round(r0)), int(round(c0)))
    if 0 <= nearest[0] < geometry.rows and 0 <= nearest[1] < geometry.columns:
        mask[nearest] = True
    return mask


def landmark_label_map(document: Mapping, geometries: Sequence[SliceGeometry], shape: tuple[int, int, int],
                       radius_mm: float = DEFAULT_RADIUS_MM) -> np.ndarray:
    """uint8 ``[col, row, k]`` label map of every level's facets and foramina (see module docstring)."""
    out = np.zeros(shape, np.uint8)
    for entry in document.get("levels", {}).values():
        k = int(entry["slice_index"])
        plane = out[:, :, k].T  # a [row, col] view of slice k
        for name, value in LANDMARK_LABELS.items():
            point = entry["landmarks_lps_mm"].get(name)
            if point is not None:
                plane[disc_on_slice(geometries[k], point, radius_mm)] = value
    return out


def slicer_markups(document: Mapping, names: Sequence[str] = TARGET_NAMES) -> dict:
    """Slicer markups JSON: one Fiducial list (LPS) with a point per level and landmark, labelled 'L4-L5 facet_left'."""
    points = []
    for level in map(str, LEVELS):
        entry = document.get("levels", {}).get(level)
        if not entry:
            continue
        for name in names:
            if name in entry["landmarks_lps_mm"]:
                points.append({"label": f"{level} {name}",
                               "position": [float(v) for v in entry["landmarks_lps_mm"][name]]})
    return {"@schema": MARKUPS_SCHEMA,
            "markups": [{"type": "Fiducial", "coordinateSystem": "LPS", "controlPoints": points}]}


def landmarks_from_markups(markups: Mapping) -> dict[str, dict[str, list[float]]]:
    """``{level: {landmark: [x, y, z] LPS}}`` from a Slicer markups document (RAS lists are converted).

    Control points whose label is not ``"<level> <landmark>"`` with a known level and landmark are ignored.
    """
    levels, names = set(map(str, LEVELS)), set(LANDMARK_NAMES)
    out: dict[str, dict[str, list[float]]] = {}
    for markup in markups.get("markups", []):
        flip = np.array([-1.0, -1.0, 1.0]) if str(markup.get("coordinateSystem", "LPS")).upper() == "RAS" else 1.0
        for point in markup.get("controlPoints", []):
            parts = str(point.get("label", "")).split()
            if len(parts) == 2 and parts[0] in levels and parts[1] in names and point.get("position") is not None:
                out.setdefault(parts[0], {})[parts[1]] = [float(v) for v in np.asarray(point["position"], float) * flip]
    return out
