"""Find the discs in an axial label series, name them by counting up from the sacrum, pick each mid-disc slice.

Input: the disc label (2) on every slice of an axial series, slices in canonical order (lib/spine/geometry.py), each
with its own :class:`SliceGeometry` (contiguous stacks and angled blocks alike). Output: LPS mm and slice indices
into that order.

The rules, in order:

1. Disc blobs: 8-connected components of label 2 on each slice; area in mm2 and centroid in LPS mm.
2. Disc instances: blobs on neighbouring slices of the same block are linked when the slices are at most
   ``MAX_LINK_GAP_MM`` apart along the block normal and the blobs overlap once projected along it (at least
   ``MIN_LINK_OVERLAP`` of the smaller blob); connected links form one 3D instance. Its centroid is the
   area-weighted mean of its blob centroids.
3. Instances whose largest blob is under ``MIN_DISC_AREA_MM2`` are ignored (spurious blobs, endplate partial volume).
4. Instances are ordered caudal to cranial by the z of their centroids. One closer than ``MIN_DISC_SPACING_MM`` to
   the previous one along the spine (centroid step projected on the slices' mean superior normal) is the same
   disc seen twice (two blocks, or an edge slice not linked) and is merged into it.
5. Naming counts up from the sacrum: the most caudal disc is L5-S1. A gap between neighbouring discs of more than
   ``GAP_FACTOR`` times the typical spacing (the median of the gaps consistent with the smallest one, clamped to
   ``TYPICAL_SPACING_RANGE_MM``) means discs the series does not cover; their names are skipped and reported
   missing. Discs above L1-L2 (T12-L1 and higher) are ignored.
6. Mid-disc slice: among the instance's slices, the one whose plane passes closest to the disc's grading point,
   the posterior disc margin in the midline at mid-disc height, where a reader grades the canal; planes within
   ``MID_SLICE_TIE_MM`` of the closest are tied and the largest disc area wins. The grading point is estimated
   from the instance's pixels in 3D: the disc's normal is the slices' normal, or the thinnest principal axis of
   the pixels where that differs by more than ``DISC_TILT_MIN_DEG`` (a disc tilted across the slices); its
   posterior axis is LPS +y projected on the disc plane; the point lies behind the centroid, along that axis, at
   the ``POSTERIOR_MARGIN_PERCENTILE`` of the depths of the disc pixels within ``MIDLINE_BAND_MM`` of the midline.
   On angled blocks (planes parallel to the disc) this is the slice nearest the disc centroid; on a contiguous
   stack through a tilted disc (L5-S1, L4-L5) it is the slice that cuts the canal at disc level rather than the
   one through the disc's centre, often one slice higher or lower.

Assumption to keep in mind: an axial series that does not reach L5-S1 shifts every name; only a sagittal series can
tell (see :func:`confirm_with_sagittal`, and lib/spine/sagittal.py to find the discs on a sagittal T2 image).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .geometry import SliceGeometry, group_into_blocks
from .levels import LABEL_DISC, LEVELS_FROM_SACRUM, Level

#: Blobs on neighbouring slices of a block are linked only if the slices are at most this far apart (mm).
MAX_LINK_GAP_MM = 7.0
#: ... and they overlap by at least this fraction of the smaller blob, projected along the block normal.
MIN_LINK_OVERLAP = 0.1
#: A disc instance whose largest blob is smaller than this (mm2) is ignored; adult lumbar discs measure
#: 1000-2000 mm2 at mid-disc, so this only removes spurious blobs and endplate partial-volume specks.
MIN_DISC_AREA_MM2 = 250.0
#: Two instances closer than this along the spine (centroid step along the slices' superior normal, mm) are one disc.
MIN_DISC_SPACING_MM = 15.0
#: Typical centroid distance between adjacent lumbar discs (mm), used when fewer than three discs are found.
DEFAULT_DISC_SPACING_MM = 38.0
#: The typical spacing estimated from a series is clamped to this adult range (mm).
TYPICAL_SPACING_RANGE_MM = (28.0, 48.0)
#: A gap longer than GAP_FACTOR x the typical spacing holds discs the series does not cover.
GAP_FACTOR = 1.6
#: Planes whose distance to the grading point is within this of the closest one (mm) tie for mid-disc slice.
MID_SLICE_TIE_MM = 0.25
#: Half-width (mm) of the midline band in which the posterior disc margin is looked for.
MIDLINE_BAND_MM = 5.0
#: Percentile of the midline disc pixels' depths taken as the posterior margin (robust to a protrusion's tip).
POSTERIOR_MARGIN_PERCENTILE = 90.0
#: A disc whose principal axes tilt less than this (degrees) from the slices is taken as parallel to them.
DISC_TILT_MIN_DEG = 6.0
#: An axial disc and a sagittal disc centre match if they are at most this far apart (mm).
SAGITTAL_MATCH_TOLERANCE_MM = 12.0

_EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


@dataclass(frozen=True)
class NamedLevel:
    """One disc found on the axial series and named; slice indices are in canonical order."""

    level: Level
    slice_index: int  # the mid-disc slice
    disc_centroid_lps_mm: tuple[float, float, float]
    n_slices: int
    slice_indices: tuple[int, ...]
    disc_area_mm2: float  # on the mid-disc slice
    distance_from_plane_mm: float  # signed distance of the grading point from the mid-disc plane, along its normal
    grading_point_lps_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)  # posterior disc margin, midline, mid-height
    #: Left-right width (mm) of the disc's widest section on any of its slices: the level's scale for the landmark
    #: rules where the mid-disc slice shows only part of a tilted disc (pass half of it to ``place_landmarks``).
    disc_width_mm: float = 0.0


@dataclass(frozen=True)
class LevelNaming:
    """Named levels (caudal to cranial), levels not found with the reason, and what was ignored and why."""

    levels: tuple[NamedLevel, ...]
    missing_levels: Mapping[Level, str] = field(default_factory=dict)
    ignored: tuple[str, ...] = ()

    @property
    def by_level(self) -> dict[Level, NamedLevel]:
        return {n.level: n for n in self.levels}


@dataclass(frozen=True)
class ConfirmationResult:
    """Whether the axial naming agrees with a count of discs on a sagittal series.

    ``sagittal_names`` maps each axial level to the name the sagittal count gives the matched disc (None when no
    sagittal disc lies within the tolerance); ``offset`` is sagittal index minus axial index when it is the same for
    every matched disc (0 = agreement, +1 = the axial names are one level too low), else None; None as well when the
    lowest axial disc has no sagittal match (the sagittal discs found do not reach it).
    """

    agrees: bool
    offset: int | None
    n_axial: int
    n_sagittal: int
    sagittal_names: Mapping[Level, str | None]
    distances_mm: Mapping[Level, float]
    message: str


@dataclass(eq=False)
class _Blob:
    """One 8-connected disc component on one slice: its pixels, area (mm2) and centroid (LPS mm)."""

    slice_index: int
    rows: np.ndarray
    cols: np.ndarray
    area_mm2: float
    centroid: np.ndarray


def slices_from_volume(labels: np.ndarray) -> list[np.ndarray]:
    """Per-slice ``[row, col]`` arrays from a stacked label volume ``labels[col, row, k]`` (CONTRACTS.md)."""
    labels = np.asarray(labels)
    if labels.ndim != 3:
        raise ValueError(f"labels must be a 3D [col, row, slice] volume, got shape {labels.shape}")
    return [labels[:, :, k].T for k in range(labels.shape[2])]


def name_levels_in_volume(labels: np.ndarray, geometries: Sequence[SliceGeometry], blocks=None) -> LevelNaming:
    """:func:`name_levels` for a stacked volume ``labels[col, row, k]`` in canonical order."""
    return name_levels(slices_from_volume(labels), geometries, blocks)


def name_levels(
    label_slices: Sequence[np.ndarray],
    geometries: Sequence[SliceGeometry],
    blocks: Sequence[Sequence[int]] | None = None,
) -> LevelNaming:
    """Find, order and name the discs of an axial series.

    ``label_slices[k]``: ``[rows, cols]`` label array of slice k (canonical order), ``geometries[k]`` its geometry;
    ``blocks``: lists of slice indices sharing an orientation, each in order along its normal (default:
    :func:`group_into_blocks`).
    """
    if len(label_slices) != len(geometries):
        raise ValueError(f"{len(label_slices)} label slices but {len(geometries)} geometries")
    blocks = group_into_blocks(list(geometries)) if blocks is None else blocks
    blobs = [_disc_blobs(np.asarray(s), g, k) for k, (s, g) in enumerate(zip(label_slices, geometries))]
    instances = _link_blobs(blobs, blocks, geometries)
    ignored = [
        f"disc blob on slices {sorted({b.slice_index for b in inst})} ignored: largest area "
        f"{max(b.area_mm2 for b in inst):.0f} mm2 < {MIN_DISC_AREA_MM2:.0f} mm2"
        for inst in instances
        if max(b.area_mm2 for b in inst) < MIN_DISC_AREA_MM2
    ]
    big = sorted((i for i in instances if max(b.area_mm2 for b in i) >= MIN_DISC_AREA_MM2), key=_z)
    discs = _merge_close(big, geometries)
    return _assign_names(discs, geometries, ignored)


def _disc_blobs(labels: np.ndarray, geometry: SliceGeometry, k: int) -> list[_Blob]:
    labelled, n = ndimage.label(labels == LABEL_DISC, structure=_EIGHT_CONNECTED)
    dr, dc = geometry.pixel_spacing_mm
    blobs = []
    for rows, cols in (np.nonzero(labelled == i) for i in range(1, n + 1)):
        centroid = geometry.pixel_to_lps(rows.mean(), cols.mean())
        blobs.append(_Blob(k, rows, cols, float(rows.size * dr * dc), centroid))
    return blobs


def _overlap(a: _Blob, b: _Blob, ga: SliceGeometry, gb: SliceGeometry) -> float:
    """Fraction of the smaller blob covered by the other once b's pixels are projected onto a's plane."""
    footprint = np.zeros((ga.rows, ga.columns), bool)
    footprint[a.rows, a.cols] = True
    d = gb.pixels_to_lps(b.rows, b.cols) - ga.origin
    dr, dc = ga.pixel_spacing_mm
    r = np.rint(d @ np.asarray(ga.column_direction) / dr).astype(int)
    c = np.rint(d @ np.asarray(ga.row_direction) / dc).astype(int)
    inside = (r >= 0) & (r < ga.rows) & (c >= 0) & (c < ga.columns)
    hits = int(footprint[r[inside], c[inside]].sum())
    return hits / min(a.rows.size, b.rows.size)


def _link_blobs(blobs: list[list[_Blob]], blocks, geometries) -> list[list[_Blob]]:
    """Group overlapping blobs on neighbouring slices of each block into 3D instances (lists of blobs)."""
    flat = [b for per_slice in blobs for b in per_slice]
    index = {id(b): i for i, b in enumerate(flat)}
    edges = []
    for block in blocks:
        for k1, k2 in zip(block[:-1], block[1:]):
            g1, g2 = geometries[k1], geometries[k2]
            if abs(float((g2.origin - g1.origin) @ g1.normal)) > MAX_LINK_GAP_MM:
                continue
            edges += [
                (index[id(a)], index[id(b)])
                for a in blobs[k1]
                for b in blobs[k2]
                if _overlap(a, b, g1, g2) >= MIN_LINK_OVERLAP
            ]
    rows, cols = (np.array(v, dtype=int) for v in zip(*edges)) if edges else (np.zeros(0, int), np.zeros(0, int))
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(flat), len(flat)))
    _, component = connected_components(graph, directed=False)
    groups: dict[int, list[_Blob]] = {}
    for blob, c in zip(flat, component):
        groups.setdefault(int(c), []).append(blob)
    return list(groups.values())


def _centroid(instance: list[_Blob]) -> np.ndarray:
    weights = np.array([b.area_mm2 for b in instance])
    return np.average(np.array([b.centroid for b in instance]), axis=0, weights=weights)


def _z(instance: list[_Blob]) -> float:
    return float(_centroid(instance)[2])


def _merge_close(discs: list[list[_Blob]], geometries) -> list[list[_Blob]]:
    """Merge instances (sorted caudal to cranial) closer than MIN_DISC_SPACING_MM to the previous one along the
    spine, i.e. along the mean superior normal of the slices they lie on."""
    merged: list[list[_Blob]] = []
    for inst in discs:
        if merged:
            normals = [_superior(geometries[b.slice_index]) for b in merged[-1] + inst]
            axis = np.mean(normals, axis=0)
            step = float((_centroid(inst) - _centroid(merged[-1])) @ (axis / np.linalg.norm(axis)))
            if abs(step) < MIN_DISC_SPACING_MM:
                merged[-1] = merged[-1] + inst
                continue
        merged.append(inst)
    return merged


def _superior(geometry: SliceGeometry) -> np.ndarray:
    n = geometry.normal
    return n if n[2] >= 0 else -n


def _typical_spacing(gaps: list[float]) -> float:
    """Median of the gaps consistent with the smallest one, clamped to the adult range; the default spacing with
    fewer than two gaps."""
    if len(gaps) < 2:
        return DEFAULT_DISC_SPACING_MM
    typical = float(np.median([g for g in gaps if g <= GAP_FACTOR * min(gaps)]))
    return float(np.clip(typical, *TYPICAL_SPACING_RANGE_MM))


def _assign_names(discs: list[list[_Blob]], geometries, ignored: list[str]) -> LevelNaming:
    z_top = max(g.centre_lps_mm[2] for g in geometries)
    if not discs:
        z_bottom = min(g.centre_lps_mm[2] for g in geometries)
        reason = (
            f"no disc (label 2) of at least {MIN_DISC_AREA_MM2:.0f} mm2 found in the series "
            f"(z {z_bottom:.1f} to {z_top:.1f} mm)"
        )
        return LevelNaming((), {lv: reason for lv in LEVELS_FROM_SACRUM}, tuple(ignored))
    centres = [_centroid(d) for d in discs]
    gaps = [float(np.linalg.norm(b - a)) for a, b in zip(centres[:-1], centres[1:])]
    typical = _typical_spacing(gaps)
    named: list[NamedLevel] = []
    missing: dict[Level, str] = {}
    position = 0
    for i, disc in enumerate(discs):
        if i > 0 and gaps[i - 1] > GAP_FACTOR * typical:
            skipped = max(1, int(round(gaps[i - 1] / typical)) - 1)
            for lv in LEVELS_FROM_SACRUM[position : position + skipped]:
                missing[lv] = (
                    f"gap of {gaps[i - 1]:.0f} mm between the {named[-1].level} disc and the next one "
                    f"(typical {typical:.0f} mm): this disc is not covered by the series"
                )
            position += skipped
        if position >= len(LEVELS_FROM_SACRUM):
            ignored.append(f"disc at z={centres[i][2]:.1f} mm ignored: above L1-L2 (T12-L1 or higher)")
            continue
        named.append(_named(LEVELS_FROM_SACRUM[position], disc, centres[i], geometries))
        position += 1
    top = named[-1]
    for lv in LEVELS_FROM_SACRUM[position:]:
        missing[lv] = (
            f"no disc found above {top.level}: series ends at z={z_top:.1f} mm, "
            f"{z_top - top.disc_centroid_lps_mm[2]:.1f} mm above the {top.level} disc centroid"
        )
    return LevelNaming(tuple(named), missing, tuple(ignored))


def _named(level: Level, disc: list[_Blob], centre: np.ndarray, geometries) -> NamedLevel:
    area_on: dict[int, float] = {}
    for b in disc:
        area_on[b.slice_index] = area_on.get(b.slice_index, 0.0) + b.area_mm2
    target = _grading_point(disc, geometries)
    dist = {k: geometries[k].lps_to_pixel(target)[2] for k in area_on}
    closest = min(abs(d) for d in dist.values())
    tied = [k for k in area_on if abs(dist[k]) <= closest + MID_SLICE_TIE_MM]
    mid = max(tied, key=lambda k: (area_on[k], -abs(dist[k])))
    return NamedLevel(
        level=level,
        slice_index=int(mid),
        disc_centroid_lps_mm=tuple(float(v) for v in centre),
        n_slices=len(area_on),
        slice_indices=tuple(sorted(int(k) for k in area_on)),
        disc_area_mm2=float(area_on[mid]),
        distance_from_plane_mm=float(dist[mid]),
        grading_point_lps_mm=tuple(float(v) for v in target),
        disc_width_mm=max(_width_mm(b, geometries[b.slice_index]) for b in disc),
    )


def _width_mm(blob: _Blob, geometry: SliceGeometry) -> float:
    """Extent of a blob along the patient's left-right axis projected on its plane, plus one pixel's footprint."""
    n = geometry.normal
    lateral = np.array([1.0, 0.0, 0.0]) - n[0] * n
    lateral /= np.linalg.norm(lateral)
    dr, dc = geometry.pixel_spacing_mm
    footprint = abs(lateral @ np.asarray(geometry.row_direction)) * dc
    footprint += abs(lateral @ np.asarray(geometry.column_direction)) * dr
    return float(np.ptp(geometry.pixels_to_lps(blob.rows, blob.cols) @ lateral) + footprint)


def _grading_point(disc: list[_Blob], geometries) -> np.ndarray:
    """LPS mm of the posterior disc margin in the midline at mid-disc height, from the instance's pixels."""
    points = np.concatenate([geometries[b.slice_index].pixels_to_lps(b.rows, b.cols) for b in disc])
    weights = np.concatenate([np.full(b.rows.size, b.area_mm2 / b.rows.size) for b in disc])
    centre = np.average(points, axis=0, weights=weights)
    d = points - centre
    normal = _superior(geometries[disc[0].slice_index])
    thinnest = np.linalg.eigh(np.cov(d.T, aweights=weights))[1][:, 0]
    if np.degrees(np.arccos(min(1.0, abs(float(thinnest @ normal))))) > DISC_TILT_MIN_DEG:
        normal = thinnest if thinnest[2] >= 0 else -thinnest
    posterior = np.array([0.0, 1.0, 0.0]) - normal[1] * normal
    posterior /= np.linalg.norm(posterior)
    band = np.abs(d @ np.cross(posterior, normal)) <= MIDLINE_BAND_MM
    depth = float(np.percentile((d @ posterior)[band], POSTERIOR_MARGIN_PERCENTILE)) if band.any() else 0.0
    return centre + depth * posterior


def confirm_with_sagittal(
    named: LevelNaming | Sequence[NamedLevel],
    sagittal_disc_centres_lps: Sequence[Sequence[float]],
    tolerance_mm: float = SAGITTAL_MATCH_TOLERANCE_MM,
) -> ConfirmationResult:
    """Check the axial names against a count of discs on a sagittal series of the same frame of reference.

    ``sagittal_disc_centres_lps``: LPS mm disc centres found on the sagittal series, which must include L5-S1 (the
    sagittal field of view shows the sacrum); they are counted up from the most caudal. Each axial disc is matched
    to the nearest sagittal centre within ``tolerance_mm``. When the lowest axial disc finds no match, the sagittal
    count does not reach it and nothing is concluded (``offset`` None).
    """
    levels = named.levels if isinstance(named, LevelNaming) else tuple(named)
    sag = sorted((np.asarray(p, float) for p in sagittal_disc_centres_lps), key=lambda p: p[2])
    names: dict[Level, str | None] = {}
    dists: dict[Level, float] = {}
    offsets: set[int] = set()
    for n in levels:
        if not sag:
            names[n.level], dists[n.level] = None, float("inf")
            continue
        d = [float(np.linalg.norm(p - np.asarray(n.disc_centroid_lps_mm))) for p in sag]
        j = int(np.argmin(d))
        dists[n.level] = d[j]
        if d[j] > tolerance_mm:
            names[n.level] = None
            continue
        names[n.level] = str(LEVELS_FROM_SACRUM[j]) if j < len(LEVELS_FROM_SACRUM) else "above L1-L2"
        offsets.add(j - LEVELS_FROM_SACRUM.index(n.level))
    unmatched = [str(lv) for lv, name in names.items() if name is None]
    lowest_unmatched = bool(levels) and names[levels[0].level] is None
    offset = next(iter(offsets)) if len(offsets) == 1 and not lowest_unmatched else None
    agrees = bool(levels) and not unmatched and offset == 0
    if agrees:
        message = f"sagittal count agrees: {len(levels)} axial discs matched within {tolerance_mm:.0f} mm"
    elif lowest_unmatched:
        message = (
            f"no sagittal disc within {tolerance_mm:.0f} mm of the axial {levels[0].level}: the count from the sacrum "
            f"cannot be checked (unmatched: {', '.join(unmatched)})"
        )
    elif unmatched:
        message = f"no sagittal disc within {tolerance_mm:.0f} mm of the axial {', '.join(unmatched)}"
    elif offset is None:
        message = "the sagittal count disagrees inconsistently (discs matched to different offsets)"
    else:
        message = f"the sagittal count puts every axial disc {offset:+d} level(s) from its axial name"
    return ConfirmationResult(agrees, offset, len(levels), len(sag), names, dists, message)

