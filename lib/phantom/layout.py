"""Where the structures of one level lie in its cross-section (spine-local u, v in mm, u >= 0 = left half).

Derived deterministically from the anatomy; shared by the renderer, the canal solver and the landmarks.
All positions are for the left half (``uu = |u|``); the right half mirrors them with its own facet/foramen.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lib.phantom.anatomy import DiscLevel, FacetJoint, Foramen, StudyAnatomy

#: Half-axes of the articular processes (along the joint line, across it) at hypertrophy 1.
PROCESS_HALF_LENGTH_MM = 7.5
PROCESS_HALF_THICKNESS_MM = 4.4
#: Thickness of a normal ligamentum flavum.
NORMAL_LF_MM = 3.0
#: Angle of the ligamentum flavum's normal from the lateral axis, per disc (T12-L1 .. L5-S1): the V of the
#: two limbs is wider at the lower levels.
LF_ANGLE_DEG = (52.0, 50.0, 48.0, 46.0, 45.0, 44.0)


@dataclass(frozen=True)
class SideLayout:
    """Facet joint and foramen of one side, in (uu, v) of that half."""

    facet_centre: tuple[float, float]
    joint_direction: tuple[float, float]  # unit, along the joint line, anteromedial -> posterolateral
    joint_normal: tuple[float, float]  # unit, across the joint, towards the superior articular process
    foramen_centre: tuple[float, float]
    foramen_half_axes: tuple[float, float]  # (lateral, AP)
    lf_lateral_end: tuple[float, float]  # where the ligamentum flavum limb meets the facet capsule
    facet: FacetJoint
    foramen: Foramen


@dataclass(frozen=True)
class LevelLayout:
    """Cross-sectional layout of one disc level (index into StudyAnatomy.discs)."""

    index: int
    disc: DiscLevel
    disc_half_height_mm: float
    upper_height_mm: float
    lower_height_mm: float
    upper_half_axes: tuple[float, float]  # vertebral body above (half-width, half-depth)
    lower_half_axes: tuple[float, float]
    disc_half_axes: tuple[float, float]
    body_posterior_mm: float  # v of the posterior vertebral margin in the midline
    sac_centre_v_mm: float
    lf_apex_v_mm: float  # v where the two ligamentum flavum limbs meet dorsally (outer surface)
    spinous_tip_v_mm: float
    left: SideLayout
    right: SideLayout

    def side(self, left: bool) -> SideLayout:
        return self.left if left else self.right


def level_layout(anatomy: StudyAnatomy, index: int) -> LevelLayout:
    """Compute the layout of disc ``index`` from the anatomy."""
    disc = anatomy.discs[index]
    up, lo = anatomy.upper_vertebra(index), anatomy.lower_vertebra(index)
    half_width = 0.5 * (up.half_width_mm + lo.half_width_mm)
    half_depth = 0.5 * (up.half_depth_mm + lo.half_depth_mm)
    size = anatomy.size_factor
    body_post = half_depth
    # The sac lies against the back of the disc (whose healthy margin is concave by ~2 mm).
    sac_v = body_post - 1.1 * size + disc.epidural_fat_anterior_mm + disc.sac_half_depth_mm
    beta = np.deg2rad(LF_ANGLE_DEG[index] if index < len(LF_ANGLE_DEG) else 48.0)
    normal = np.array([np.cos(beta), np.sin(beta)])
    support = float(np.hypot(disc.sac_half_width_mm * normal[0], disc.sac_half_depth_mm * normal[1]))
    outer = support + 0.5 * disc.epidural_fat_posterior_mm + NORMAL_LF_MM * size
    lf_apex = sac_v + outer / normal[1]
    # The ligamentum flavum's lateral end (at the facet capsule) on its dorsal line, a little behind the sac centre.
    v_end = sac_v + 0.25 * disc.sac_half_depth_mm
    lf_end = ((outer - (v_end - sac_v) * normal[1]) / normal[0], v_end)
    sides = [_side_layout(disc, size, body_post, lf_end, disc.facet_left, disc.foramen_left),
             _side_layout(disc, size, body_post, lf_end, disc.facet_right, disc.foramen_right)]
    return LevelLayout(
        index=index,
        disc=disc,
        disc_half_height_mm=disc.height_mm / 2.0,
        upper_height_mm=up.height_mm,
        lower_height_mm=lo.height_mm,
        upper_half_axes=(up.half_width_mm, up.half_depth_mm),
        lower_half_axes=(lo.half_width_mm, lo.half_depth_mm),
        disc_half_axes=(half_width + 0.6 + 0.5 * disc.bulge_mm, half_depth + 0.4 + 0.3 * disc.bulge_mm),
        body_posterior_mm=body_post,
        sac_centre_v_mm=sac_v,
        lf_apex_v_mm=float(lf_apex),
        spinous_tip_v_mm=float(lf_apex) + 38.0 * size,
        left=sides[0],
        right=sides[1],
    )


def _side_layout(disc: DiscLevel, size: float, body_post: float, lf_end: tuple[float, float], facet: FacetJoint,
                 foramen: Foramen) -> SideLayout:
    """Facet and foramen of one side: the joint's anteromedial end sits at the ligamentum flavum's lateral end;
    hypertrophy moves the joint towards the canal."""
    alpha = np.deg2rad(disc.facet_angle_deg)
    direction = (float(np.sin(alpha)), float(np.cos(alpha)))
    normal = (float(np.cos(alpha)), float(-np.sin(alpha)))
    medial_shift = 3.0 * (facet.hypertrophy - 1.0)
    half_length = PROCESS_HALF_LENGTH_MM * size
    u_f = lf_end[0] + 0.8 * half_length * direction[0] - medial_shift
    v_f = lf_end[1] + 0.8 * half_length * direction[1]
    return SideLayout(
        facet_centre=(float(u_f), float(v_f)),
        joint_direction=direction,
        joint_normal=normal,
        foramen_centre=(float(u_f + 5.0 * size), float(body_post + 1.0 * size)),
        foramen_half_axes=(7.5 * size, 5.2 * size),
        lf_lateral_end=(float(lf_end[0] - medial_shift), float(lf_end[1])),
        facet=facet,
        foramen=foramen,
    )
