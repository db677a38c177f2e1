"""Posterior elements and the foramen of one side of one level: draws into tissue arrays of that half.

Coordinates: ``uu`` = |u| (mm from the midline, towards this side), ``v`` (mm, + posterior), ``ds`` (mm along the
spine from the mid-disc plane, + superior). The vertical extent of each element is a window in ``ds``
expressed through the heights of the disc and of the vertebrae above and below. Each element is evaluated
only on the points inside its bounding box (speed).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lib.phantom.layout import PROCESS_HALF_LENGTH_MM, PROCESS_HALF_THICKNESS_MM, LevelLayout, SideLayout
from lib.phantom.shapes import frame_coordinates, segment_distance
from lib.phantom.tissues import Tissue

CORTEX_MM = 1.2


@dataclass(frozen=True)
class Windows:
    """Vertical extents (ds ranges, mm) of the elements of one level."""

    disc_half: float
    upper_height: float
    lower_height: float

    def between(self, ds: np.ndarray, lower_frac: float | None, upper_frac: float | None) -> np.ndarray:
        """ds between -(h/2 + lower_frac * H_lower) and h/2 + upper_frac * H_upper; None = unbounded."""
        ok = np.ones(ds.shape, bool)
        if lower_frac is not None:
            ok &= ds > -(self.disc_half + lower_frac * self.lower_height)
        if upper_frac is not None:
            ok &= ds < self.disc_half + upper_frac * self.upper_height
        return ok


def windows_of(layout: LevelLayout) -> Windows:
    return Windows(layout.disc_half_height_mm, layout.upper_height_mm, layout.lower_height_mm)


def _size(layout: LevelLayout) -> float:
    return layout.disc.sac_half_width_mm / 9.5


def _near(uu, v, centre, radius: float) -> np.ndarray:
    """Indices of points within a square of half-side ``radius`` around ``centre``."""
    return np.flatnonzero((np.abs(uu - centre[0]) < radius) & (np.abs(v - centre[1]) < radius))


def _in_box(uu, v, u_range, v_range) -> np.ndarray:
    return np.flatnonzero((uu > u_range[0]) & (uu < u_range[1]) & (v > v_range[0]) & (v < v_range[1]))


def lf_inward_distance(uu, v, layout: LevelLayout, side: SideLayout) -> tuple[np.ndarray, np.ndarray]:
    """Signed distance into the canal from the ligamentum flavum's dorsal line, and position along it (0..1)."""
    start = side.lf_lateral_end
    eu, ev = -start[0], layout.lf_apex_v_mm - start[1]
    length = float(np.hypot(eu, ev))
    eu, ev = eu / length, ev / length
    du, dv = uu - start[0], v - start[1]
    along = (du * eu + dv * ev) / length
    inward = -(du * ev) + dv * eu  # along the normal (-ev, eu), which points medially and anteriorly
    return inward, along


def lf_mask(uu, v, ds, layout: LevelLayout, side: SideLayout, grow: float = 0.0) -> np.ndarray:
    """Ligamentum flavum band (thickness from the anatomy), optionally grown by ``grow`` mm into the canal."""
    inward, along = lf_inward_distance(uu, v, layout, side)
    thickness = layout.disc.ligamentum_flavum_mm + grow
    band = (inward > -0.2) & (inward < thickness) & (along > -0.15) & (along < 1.02)
    return band & windows_of(layout).between(ds, 0.42, 0.30)


def process_masks(uu, v, ds, layout: LevelLayout, side: SideLayout, grow: float = 0.0):
    """(superior articular process, inferior articular process, along, across) of this side's facet joint."""
    facet, k, size = side.facet, side.facet.hypertrophy, _size(layout)
    half_len = PROCESS_HALF_LENGTH_MM * size * k + grow
    half_thick = PROCESS_HALF_THICKNESS_MM * size * k + grow
    along, across = frame_coordinates(uu, v, side.facet_centre, side.joint_direction)
    across = -across  # + towards the joint normal (superior articular process side)
    offset = facet.joint_space_mm / 2.0 + PROCESS_HALF_THICKNESS_MM * size * k
    win = windows_of(layout)
    sap = ((along / half_len) ** 2 + ((across - offset) / half_thick) ** 2 < 1.0) & win.between(ds, 0.35, 0.25)
    iap = ((along / (half_len * 1.1)) ** 2 + ((across + offset) / half_thick) ** 2 < 1.0) & win.between(ds, 0.25, 0.35)
    return sap, iap, along, across


def facet_reach_mm(layout: LevelLayout, side: SideLayout) -> float:
    """Radius around the facet centre that holds both articular processes and osteophytes."""
    size, k = _size(layout), side.facet.hypertrophy
    return (PROCESS_HALF_LENGTH_MM * 1.1 + 2 * PROCESS_HALF_THICKNESS_MM) * size * k + side.facet.joint_space_mm + 4.0


def side_intrusions(uu, v, ds, layout: LevelLayout, side: SideLayout, grow: float) -> np.ndarray:
    """Everything on this side the dural sac cannot enter (ligamentum flavum, facets, lamina), grown by ``grow``."""
    sap, iap, _, _ = process_masks(uu, v, ds, layout, side, grow)
    inward, _ = lf_inward_distance(uu, v, layout, side)
    behind_lf = inward < layout.disc.ligamentum_flavum_mm + grow
    return sap | iap | lf_mask(uu, v, ds, layout, side, grow) | (behind_lf & (v > layout.sac_centre_v_mm))


def paint_side(tissue, uu, v, ds, layout: LevelLayout, side: SideLayout, left: bool) -> None:
    """Draw this side's posterior elements and foramen into ``tissue`` (in place), in painting order."""
    win, size = windows_of(layout), _size(layout)
    _paint_foramen(tissue, uu, v, ds, side, left, win)
    _paint_pedicle_and_transverse(tissue, uu, v, ds, layout, side, win, size)
    _paint_lamina_and_spinous(tissue, uu, v, ds, layout, side, win, size)
    _paint_facet(tissue, uu, v, ds, layout, side, win, size)
    idx = _in_box(uu, v, (-1.0, side.lf_lateral_end[0] + 2.0), (side.lf_lateral_end[1] - 8.0, layout.lf_apex_v_mm + 1.0))
    tissue[idx[lf_mask(uu[idx], v[idx], ds[idx], layout, side)]] = Tissue.LIGAMENTUM_FLAVUM


def _bone(tissue, idx, distance, half_thickness: float) -> None:
    """Paint bone around a skeleton distance (on points idx): cortex rim, marrow core."""
    tissue[idx[distance < half_thickness]] = Tissue.CORTEX
    tissue[idx[distance < half_thickness - CORTEX_MM]] = Tissue.MARROW


def _bar(tissue, uu, v, ds, window, start, end, half_thickness: float) -> None:
    """A bony bar between two points, drawn where ``window(ds)`` holds."""
    lo = (min(start[0], end[0]) - half_thickness, max(start[0], end[0]) + half_thickness)
    hi = (min(start[1], end[1]) - half_thickness, max(start[1], end[1]) + half_thickness)
    idx = _in_box(uu, v, lo, hi)
    idx = idx[window(ds[idx])]
    _bone(tissue, idx, segment_distance(uu[idx], v[idx], start, end), half_thickness)


def _paint_pedicle_and_transverse(tissue, uu, v, ds, layout, side, win: Windows, size: float) -> None:
    hw, hd = layout.lower_half_axes
    fu, fv = side.facet_centre
    root, joint = (0.55 * hw, hd - 4.0 * size), (fu + 1.0, fv - 3.0 * size)
    h, lower = win.disc_half, win.lower_height
    _bar(tissue, uu, v, ds, lambda d: (d > -(h + 0.5 * lower)) & (d < -(h + 0.1 * lower)), root, joint, 4.3 * size)
    tip = (fu + 30.0 * size, fv - 8.0 * size)
    _bar(tissue, uu, v, ds, lambda d: (d > -(h + 0.45 * lower)) & (d < -(h + 0.22 * lower)), joint, tip, 3.2 * size)


def _paint_lamina_and_spinous(tissue, uu, v, ds, layout, side, win: Windows, size: float) -> None:
    h, lower = win.disc_half, win.lower_height
    fu, fv = side.facet_centre
    apex = (0.0, layout.lf_apex_v_mm + 3.2 * size)
    lamina_window = lambda d: (d > -(h + 0.1 * lower)) | (d < -(h + 0.42 * lower))  # noqa: E731
    _bar(tissue, uu, v, ds, lamina_window, (fu - 2.0 * size, fv + 3.5 * size), apex, 3.4 * size)
    tip = (0.0, layout.spinous_tip_v_mm)
    idx = _in_box(uu, v, (-1.0, 2.0 * size), (layout.lf_apex_v_mm, tip[1] + 2.0))
    tissue[idx] = Tissue.LIGAMENT  # interspinous and supraspinous ligaments
    spinous_window = lambda d: (d > -(h + 0.05 * lower)) | (d < -(h + 0.38 * lower))  # noqa: E731
    _bar(tissue, uu, v, ds, spinous_window, apex, tip, 3.3 * size)


def _paint_facet(tissue, uu, v, ds, layout, side: SideLayout, win: Windows, size: float) -> None:
    idx = _near(uu, v, side.facet_centre, facet_reach_mm(layout, side))
    uu, v, ds = uu[idx], v[idx], ds[idx]
    facet = side.facet
    sap, iap, along, across = process_masks(uu, v, ds, layout, side)
    sap_core, iap_core, _, _ = process_masks(uu, v, ds, layout, side, grow=-CORTEX_MM)
    tissue[idx[sap | iap]] = Tissue.CORTEX
    tissue[idx[sap_core | iap_core]] = Tissue.MARROW
    both = win.between(ds, 0.25, 0.25)
    half_len = PROCESS_HALF_LENGTH_MM * size * facet.hypertrophy
    joint_line = both & (np.abs(along) < 0.95 * half_len)
    half_space = facet.joint_space_mm / 2.0
    tissue[idx[joint_line & (np.abs(across) < half_space)]] = Tissue.CARTILAGE
    fluid = max(0.3, half_space - 0.8) + 0.5 * facet.effusion_mm
    tissue[idx[joint_line & (np.abs(across) < fluid)]] = Tissue.JOINT_FLUID
    if facet.effusion_mm > 0:
        recess = ((along - 0.9 * half_len) / (1.2 * facet.effusion_mm + 1.0)) ** 2 + (across / (facet.effusion_mm + 0.8)) ** 2
        tissue[idx[both & (recess < 1.0)]] = Tissue.JOINT_FLUID
    if facet.osteophyte_mm > 0:
        for end in (-1.0, 1.0):
            d = np.hypot(along - end * half_len, across - 0.6 * end * half_space)
            _bone(tissue, idx[both], d[both], facet.osteophyte_mm)


def _paint_foramen(tissue, uu, v, ds, side: SideLayout, left: bool, win: Windows) -> None:
    """Perineural fat around the exiting root, encroached from the front (disc) and back (facet)."""
    foramen = side.foramen
    cu, cv = side.foramen_centre
    au, av = side.foramen_half_axes
    # Between the pedicle of the vertebra below (top at -(h/2 + 0.1 H_lower)) and the one above (h/2 + 0.45 H_upper).
    bottom, top = -(win.disc_half + 0.1 * win.lower_height), win.disc_half + 0.45 * win.upper_height
    centre_ds, half_height = 0.5 * (top + bottom), 0.5 * (top - bottom) * (1.0 - 0.5 * foramen.height_loss)
    idx = _in_box(uu, v, (cu - au, cu + au), (cv - av, cv + av))
    idx = idx[np.abs(ds[idx] - centre_ds) < half_height]
    uu, v, ds = uu[idx], v[idx], ds[idx]
    inside = ((uu - cu) / au) ** 2 + ((v - cv) / av) ** 2 < 1.0
    tissue[idx[inside]] = Tissue.FORAMEN_FAT_LEFT if left else Tissue.FORAMEN_FAT_RIGHT
    front = inside & (v < cv - av + 2.0 * av * foramen.anterior_obliteration)
    in_disc = np.abs(ds) < win.disc_half + 1.0
    tissue[idx[front & in_disc]] = Tissue.ANNULUS
    tissue[idx[front & ~in_disc]] = Tissue.CORTEX
    tissue[idx[inside & (v > cv + av - 2.0 * av * foramen.posterior_obliteration)]] = Tissue.CORTEX
    free_depth = max(0.25, 1.0 - foramen.anterior_obliteration - foramen.posterior_obliteration)
    root_v = cv + av * (foramen.anterior_obliteration - foramen.posterior_obliteration)
    r = foramen.root_radius_mm
    root = ((uu - cu - 0.5) / r) ** 2 + ((v - root_v) / (r * min(1.0, free_depth * 1.6))) ** 2 < 1.0
    tissue[idx[root & (ds > -2.0)]] = Tissue.NERVE_ROOT
