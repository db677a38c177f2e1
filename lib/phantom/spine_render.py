"""Draw one level's zone of the spine (from mid-body above to mid-body below) at spine-local points.

Input points are 1-D arrays (u, v, ds) in mm; output is written in place into ``tissue`` (Tissue ids) and
``mix`` (fraction towards the partner tissue, see lib.phantom.intensity). Returns the truth masks.
Every structure is evaluated only inside its bounding box.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lib.phantom.layout import LevelLayout
from lib.phantom.posterior import lf_inward_distance, paint_side, side_intrusions
from lib.phantom.tissues import Tissue

ROOTLET_RADIUS_MM = 0.75
#: Gap kept between the dural sac and whatever compresses it (dura, epidural veins, ligament).
SAC_CLEARANCE_MM = 0.6
_PROFILE_SAMPLES = 97


@dataclass(frozen=True)
class ZoneContext:
    """What a zone needs to know about its neighbours."""

    conus_tip_ds_mm: float | None = None  # above this ds the conus medullaris lies in the sac
    sacral: bool = False  # the lowest zone: the thecal sac ends below S1, the sacrum tapers and ends


#: Length of the sacrum and coccyx below the S1 body, and how the sacral bodies narrow along it.
SACRUM_BELOW_S1_MM = 75.0
SACRUM_END_SCALE = 0.4


def sacral_scale(ds: np.ndarray, layout: LevelLayout) -> np.ndarray:
    """Width factor of the sacral segments below the S1 body (1 at S1, SACRUM_END_SCALE at the tip)."""
    below = -ds - (layout.disc_half_height_mm + layout.lower_height_mm)
    return np.clip(1.0 - (1.0 - SACRUM_END_SCALE) * below / SACRUM_BELOW_S1_MM, SACRUM_END_SCALE, 1.0)


def zone_extent_ok(ds: np.ndarray, layout: LevelLayout, ctx: ZoneContext) -> np.ndarray:
    """Points of the zone that hold spine at all (below the coccyx tip there is none)."""
    if not ctx.sacral:
        return np.ones(ds.shape, bool)
    return ds > -(layout.disc_half_height_mm + layout.lower_height_mm + SACRUM_BELOW_S1_MM)


def _size(layout: LevelLayout) -> float:
    return layout.disc.sac_half_width_mm / 9.5


def superellipse_profile(uu: np.ndarray, half_width: float, half_depth: float, power: float) -> np.ndarray:
    """Half-extent along v of a superellipse at |u| = uu (tabulated, interpolated); -1 outside its width."""
    grid = np.linspace(0.0, half_width, _PROFILE_SAMPLES)
    table = half_depth * (1.0 - (grid / half_width) ** power) ** (1.0 / power)
    return np.interp(uu, grid, table, right=-1.0)


def disc_posterior_margin(u: np.ndarray, layout: LevelLayout) -> np.ndarray:
    """v (mm) of the disc's posterior margin at lateral offset u: concave when healthy, bulging when not."""
    disc, size = layout.disc, _size(layout)
    uu = np.abs(u)
    hw = layout.disc_half_axes[0]
    x2 = np.minimum(uu / hw, 1.0) ** 2
    base = superellipse_profile(uu, hw, layout.body_posterior_mm + 0.3, 2.6)
    concavity = 2.2 * size * max(0.0, 1.0 - disc.bulge_mm / 2.5)
    margin = base - concavity * (1.0 - x2) + disc.bulge_mm * np.sqrt(1.0 - x2)
    if disc.protrusion_mm > 0:
        margin = margin + disc.protrusion_mm * np.exp(-(((u - disc.protrusion_u_mm) / (5.5 * size)) ** 2))
    return np.where(uu < hw, margin, -1e3)


def body_posterior_margin(uu: np.ndarray, ds: np.ndarray, layout: LevelLayout) -> np.ndarray:
    """v of the posterior margin of the vertebral body above (ds > 0) or below, slightly concave."""
    size = _size(layout)
    out = np.empty(uu.shape)
    for upper, (hw, hd) in ((True, layout.upper_half_axes), (False, layout.lower_half_axes)):
        sel = (ds > 0) if upper else (ds <= 0)
        x2 = np.minimum(uu[sel] / hw, 1.0) ** 2
        out[sel] = superellipse_profile(uu[sel], hw, hd, 2.6) - 1.5 * size * (1.0 - x2)
    return out


def disc_band(u, v, ds, layout: LevelLayout) -> np.ndarray:
    """Points between the two endplates (the endplates are slightly concave: the disc is taller centrally)."""
    hw, hd = layout.disc_half_axes
    r2 = np.minimum((u / hw) ** 2 + (v / hd) ** 2, 1.0)
    return np.abs(ds) < layout.disc_half_height_mm * (1.0 + 0.12 * (1.0 - r2))


def front_margin(u, v, ds, layout: LevelLayout) -> np.ndarray:
    """Anterior wall of the canal: the disc's posterior margin between the endplates, else the body's."""
    band = disc_band(u, v, ds, layout)
    out = body_posterior_margin(np.abs(u), ds, layout)
    out[band] = disc_posterior_margin(u[band], layout)
    return out


def _sac_box(u, v, layout: LevelLayout) -> np.ndarray:
    disc = layout.disc
    return np.flatnonzero((np.abs(u) < disc.sac_half_width_mm + 0.5)
                          & (np.abs(v - layout.sac_centre_v_mm) < disc.sac_half_depth_mm + 0.5))


def dural_sac_mask(u, v, ds, layout: LevelLayout, ctx: ZoneContext = ZoneContext()) -> np.ndarray:
    """The dural sac: its congenital outline minus whatever disc, ligament and facets take from it."""
    disc = layout.disc
    sac = np.zeros(u.shape, bool)
    idx = _sac_box(u, v, layout)
    su, sv, sds = u[idx], v[idx], ds[idx]
    taper = _sacral_taper(sds, layout) if ctx.sacral else 1.0
    hw, hd = np.maximum(disc.sac_half_width_mm * taper, 1e-3), np.maximum(disc.sac_half_depth_mm * taper, 1e-3)
    keep = (su / hw) ** 2 + ((sv - layout.sac_centre_v_mm) / hd) ** 2 < 1.0
    keep &= sv > front_margin(su, sv, sds, layout) + SAC_CLEARANCE_MM
    for left in (True, False):
        half = np.flatnonzero(keep & ((su >= 0) if left else (su < 0)))
        hit = side_intrusions(np.abs(su[half]), sv[half], sds[half], layout, layout.side(left), SAC_CLEARANCE_MM)
        keep[half[hit]] = False
    sac[idx[keep]] = True
    return sac


def _sacral_taper(ds, layout: LevelLayout) -> np.ndarray:
    """The thecal sac narrows through S1 and ends near S2."""
    start = layout.disc_half_height_mm + 0.6 * layout.lower_height_mm
    return np.clip(1.0 - (-ds - start) / 22.0, 0.0, 1.0)


def render_zone(layout: LevelLayout, ctx: ZoneContext, u, v, ds, tissue, mix) -> tuple[np.ndarray, np.ndarray]:
    """Draw the zone into tissue/mix (1-D arrays aligned with u, v, ds); returns (dural sac, disc) masks."""
    size = _size(layout)
    _paint_canal(tissue, u, v, ds, layout, size)
    disc = _paint_body_and_disc(tissue, mix, u, v, ds, layout, size, ctx)
    for left in (True, False):
        idx = np.flatnonzero((u >= 0) if left else (u < 0))
        sub = tissue[idx]
        paint_side(sub, np.abs(u[idx]), v[idx], ds[idx], layout, layout.side(left), left)
        tissue[idx] = sub
    sac = dural_sac_mask(u, v, ds, layout, ctx)
    tissue[sac] = Tissue.CSF
    mix[sac] = 0.75 * layout.disc.crowding**1.5
    _paint_rootlets(tissue, mix, u, v, ds, sac, layout, ctx, size)
    disc &= (tissue == Tissue.ANNULUS) | (tissue == Tissue.NUCLEUS)
    return sac, disc


def _paint_canal(tissue, u, v, ds, layout: LevelLayout, size: float) -> None:
    """Epidural fat fills the bony canal; everything else is drawn over it."""
    reach = max(layout.left.lf_lateral_end[0], layout.right.lf_lateral_end[0]) + 1.0 * size
    idx = np.flatnonzero((np.abs(u) < reach) & (v > layout.body_posterior_mm - 6.0) & (v < layout.lf_apex_v_mm + 0.5))
    cu, cv, cds = u[idx], v[idx], ds[idx]
    canal = cv > front_margin(cu, cv, cds, layout) - 0.5
    for left in (True, False):
        side = layout.side(left)
        half = np.flatnonzero(canal & ((cu >= 0) if left else (cu < 0)))
        inward, _ = lf_inward_distance(np.abs(cu[half]), cv[half], layout, side)
        keep = (inward > -0.5) & (np.abs(cu[half]) < side.lf_lateral_end[0] + 1.0 * size)
        tissue[idx[half[keep]]] = Tissue.EPIDURAL_FAT


def _paint_body_and_disc(tissue, mix, u, v, ds, layout: LevelLayout, size: float, ctx: ZoneContext) -> np.ndarray:
    """Vertebral bodies (marrow, cortical rim, endplates) above and below, and the disc between."""
    disc = layout.disc
    dhw, dhd = layout.disc_half_axes
    reach_u = max(dhw, layout.upper_half_axes[0], layout.lower_half_axes[0]) + 1.0
    reach_v = max(dhd, layout.upper_half_axes[1], layout.lower_half_axes[1]) * 1.06 + 1.0
    idx = np.flatnonzero((np.abs(u) < reach_u) & (np.abs(v) < reach_v + disc.protrusion_mm))
    bu, bv, bds = u[idx], v[idx], ds[idx]
    if ctx.sacral:  # narrower sacral segments: scale the points instead of the outline
        scale = sacral_scale(bds, layout)
        bu, bv = bu / scale, bv / scale
    uu = np.abs(bu)
    band = disc_band(bu, bv, bds, layout)
    upper = bds > 0
    post = body_posterior_margin(uu, bds, layout)
    ant = np.where(upper, superellipse_profile(uu, *layout.upper_half_axes, 2.2) * 1.05,
                   superellipse_profile(uu, *layout.lower_half_axes, 2.2) * 1.05)
    hw = np.where(upper, layout.upper_half_axes[0], layout.lower_half_axes[0])
    body = (bv < post) & (bv > -ant) & ~band
    core = (bv < post - 1.2) & (bv > -ant + 1.2) & (uu < hw - 1.2)
    endplate = np.abs(bds) < layout.disc_half_height_mm * 1.12 + 1.3
    tissue[idx[body]] = Tissue.CORTEX
    tissue[idx[body & core & ~endplate]] = Tissue.MARROW
    in_disc = band & (bv < disc_posterior_margin(bu, layout)) & (bv > -superellipse_profile(uu, dhw, dhd * 1.02, 2.2))
    tissue[idx[in_disc]] = Tissue.ANNULUS
    scale = 1.0 - 0.35 * disc.degeneration
    r2 = (bu / (0.6 * dhw * scale)) ** 2 + ((bv - 0.1 * dhd) / (0.5 * dhd * scale)) ** 2
    h2 = (bds / (0.75 * layout.disc_half_height_mm)) ** 2
    nucleus = in_disc & (r2 + h2 < 1.0)
    weight = (1.0 - 0.8 * disc.degeneration) * np.sqrt(np.clip(1.0 - r2[nucleus] - h2[nucleus], 0.0, 1.0))
    tissue[idx[nucleus]] = Tissue.NUCLEUS
    mix[idx[nucleus]] = 1.0 - np.clip(weight * 1.4, 0.0, 1.0)
    out = np.zeros(u.shape, bool)
    out[idx[in_disc]] = True
    return out


def _paint_rootlets(tissue, mix, u, v, ds, sac, layout: LevelLayout, ctx: ZoneContext, size: float) -> None:
    """Cauda equina rootlets (dark dots) and, high up, the conus medullaris."""
    idx = np.flatnonzero(sac)
    if idx.size == 0:
        return
    disc = layout.disc
    su, sv = u[idx], v[idx]
    centre_v = layout.sac_centre_v_mm + disc.sac_centre_shift_mm
    hw, hd = disc.sac_half_width_mm * disc.sac_scale, disc.sac_half_depth_mm * disc.sac_scale
    c = disc.crowding
    dots = np.zeros(idx.size, bool)
    for (du, dv), (cu, cv) in zip(disc.rootlets_dorsal, disc.rootlets_spread):
        qu, qv = (1 - c) * du + c * cu, (1 - c) * dv + c * cv
        dots |= (su - qu * hw) ** 2 + (sv - centre_v - qv * hd) ** 2 < (ROOTLET_RADIUS_MM * size) ** 2
    if ctx.conus_tip_ds_mm is not None:
        radius = np.clip(1.5 + 0.3 * (ds[idx] - ctx.conus_tip_ds_mm), 0.0, 4.2) * size
        conus = (ds[idx] > ctx.conus_tip_ds_mm) & (su**2 + (sv - layout.sac_centre_v_mm - 0.8) ** 2 < radius**2)
        tissue[idx[conus]] = Tissue.CONUS
        dots &= ~conus
    tissue[idx[dots]] = Tissue.ROOTLET
    mix[idx[dots]] = 0.0
