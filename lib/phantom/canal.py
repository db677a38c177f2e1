"""Compress each level's dural sac to its sampled target area through disc bulge and ligamentum flavum.

The mechanism mix is random per level; the amount is found by bisection on the cross-section that the
renderer itself would draw (mid-disc plane, ds = 0). The grade is later read from the rendered slice.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from lib.phantom.anatomy import DiscLevel, StudyAnatomy
from lib.phantom.layout import level_layout
from lib.phantom.spine_render import dural_sac_mask

GRID_STEP_MM = 0.25
MAX_BULGE_MM = 6.5
MAX_EXTRA_LF_MM = 5.0
MAX_PROTRUSION_MM = 3.5


def sac_cross_section(anatomy: StudyAnatomy, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mask, u, v) of the dural sac on the mid-disc plane of level ``index``, on a fine local grid."""
    layout = level_layout(anatomy, index)
    disc = layout.disc
    half_u = disc.sac_half_width_mm + 1.0
    half_v = disc.sac_half_depth_mm + 1.0
    u, v = np.meshgrid(
        np.arange(-half_u, half_u, GRID_STEP_MM),
        np.arange(layout.sac_centre_v_mm - half_v, layout.sac_centre_v_mm + half_v, GRID_STEP_MM),
    )
    u, v = u.ravel(), v.ravel()
    return dural_sac_mask(u, v, np.zeros_like(u), layout), u, v


def sac_area_mm2(anatomy: StudyAnatomy, index: int) -> float:
    """Dural sac cross-sectional area on the mid-disc plane (mm2)."""
    mask, _, _ = sac_cross_section(anatomy, index)
    return float(mask.sum()) * GRID_STEP_MM**2


def compress_levels(anatomy: StudyAnatomy, rng: np.random.Generator) -> StudyAnatomy:
    """Anatomy with every level compressed to its target area and its rootlet crowding set."""
    for index, disc in enumerate(anatomy.discs):
        mix = (float(rng.uniform(0.35, 1.0)), float(rng.uniform(0.35, 1.0)))
        anatomy = _with_disc(anatomy, index, _solve(anatomy, index, mix))
        anatomy = _with_disc(anatomy, index, _crowding(anatomy, index))
    return anatomy


def _with_disc(anatomy: StudyAnatomy, index: int, disc: DiscLevel) -> StudyAnatomy:
    discs = list(anatomy.discs)
    discs[index] = disc
    return replace(anatomy, discs=tuple(discs))


def _compressed(disc: DiscLevel, amount: float, mix: tuple[float, float], size: float) -> DiscLevel:
    w_disc, w_lf = mix
    return replace(
        disc,
        bulge_mm=disc.bulge_mm + amount * MAX_BULGE_MM * w_disc * size,
        protrusion_mm=disc.protrusion_mm * (1.0 + amount),
        ligamentum_flavum_mm=disc.ligamentum_flavum_mm + amount * MAX_EXTRA_LF_MM * w_lf * size,
    )


def _solve(anatomy: StudyAnatomy, index: int, mix: tuple[float, float]) -> DiscLevel:
    """Bisection on the compression amount; if the sac is still too large, narrow the congenital canal."""
    disc, size = anatomy.discs[index], anatomy.size_factor

    def area(amount: float, shrink: float = 1.0) -> float:
        trial = _compressed(disc, amount, mix, size)
        trial = replace(trial, sac_half_width_mm=trial.sac_half_width_mm * shrink,
                        sac_half_depth_mm=trial.sac_half_depth_mm * shrink)
        return sac_area_mm2(_with_disc(anatomy, index, trial), index)

    target = disc.target_csa_mm2
    if area(0.0) <= target:
        return disc
    if area(1.0) > target:
        shrink = _bisect(lambda k: area(1.0, k) - target, 0.4, 1.0, increasing=True)
        out = _compressed(disc, 1.0, mix, size)
        return replace(out, sac_half_width_mm=out.sac_half_width_mm * shrink, sac_half_depth_mm=out.sac_half_depth_mm * shrink)
    amount = _bisect(lambda a: area(a) - target, 0.0, 1.0, increasing=False)
    return _compressed(disc, amount, mix, size)


def _bisect(f, lo: float, hi: float, increasing: bool, iterations: int = 14) -> float:
    """Root of a monotonic function on [lo, hi]."""
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        if (f(mid) > 0) == increasing:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


def _crowding(anatomy: StudyAnatomy, index: int) -> DiscLevel:
    """Rootlet crowding and where the compressed sac's rootlets sit, from the compressed cross-section."""
    disc, size = anatomy.discs[index], anatomy.size_factor
    mask, u, v = sac_cross_section(anatomy, index)
    area = float(mask.sum()) * GRID_STEP_MM**2
    nominal = np.pi * disc.sac_half_width_mm * disc.sac_half_depth_mm
    if area <= 0:
        return replace(disc, crowding=1.0, sac_scale=0.2)
    centre_v = float(v[mask].mean()) - level_layout(anatomy, index).sac_centre_v_mm
    crowding = float(np.clip((1.0 - area / (175.0 * size)) / 0.6, 0.0, 1.0))
    return replace(disc, crowding=crowding, sac_centre_shift_mm=centre_v, sac_scale=float(np.sqrt(area / nominal)))
