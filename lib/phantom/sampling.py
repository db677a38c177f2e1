"""Draw one synthetic patient: body habitus, spine shape and, per level, how degenerate it is.

Severities are drawn per level from prevalence tables (correlated within a study through an age-like
degeneration factor); each severity becomes anatomy (disc bulge, ligamentum flavum, facets, foraminal
fat). Grades are NOT decided here: a reader reads them off the rendered anatomy (lib.phantom.reader).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.special import ndtr, ndtri

from lib.phantom.anatomy import DISC_NAMES, VERTEBRA_NAMES, BodyHabitus, DiscLevel, FacetJoint, Foramen, StudyAnatomy, Vertebra
from lib.phantom.curve import Pose, SpineCurve

GRADES = ("normal", "mild", "moderate", "severe")
#: Intended central canal grade prevalence per level (normal, mild, moderate, severe).
CANAL_PREVALENCE = {
    "T12-L1": (0.97, 0.03, 0.0, 0.0),
    "L1-L2": (0.85, 0.10, 0.04, 0.01),
    "L2-L3": (0.76, 0.14, 0.07, 0.03),
    "L3-L4": (0.60, 0.21, 0.12, 0.07),
    "L4-L5": (0.45, 0.25, 0.18, 0.12),
    "L5-S1": (0.64, 0.20, 0.11, 0.05),
}
FORAMEN_PREVALENCE = {"T12-L1": 0.03, "L1-L2": 0.08, "L2-L3": 0.12, "L3-L4": 0.2, "L4-L5": 0.3, "L5-S1": 0.35}
FACET_PREVALENCE = {"T12-L1": 0.1, "L1-L2": 0.15, "L2-L3": 0.22, "L3-L4": 0.32, "L4-L5": 0.45, "L5-S1": 0.5}
#: Dural sac area (mm2, at size factor 1, scaled linearly with size) aimed for on the mid-disc plane, per intended grade.
TARGET_CSA_MM2 = {"normal": (135.0, 215.0), "mild": (102.0, 128.0), "moderate": (78.0, 98.0), "severe": (42.0, 73.0)}

VERTEBRA_HEIGHT_MM = (24.0, 25.5, 27.0, 28.0, 28.0, 27.0, 26.0)
VERTEBRA_HALF_WIDTH_MM = (19.5, 20.5, 21.5, 23.0, 24.0, 25.0, 26.0)
VERTEBRA_HALF_DEPTH_MM = (14.5, 15.5, 16.0, 16.5, 17.0, 17.0, 16.5)
DISC_HEIGHT_MM = (7.0, 8.0, 9.0, 10.0, 11.0, 10.5)
MAX_TILT_STEP_DEG = 11.0
DISC_TILT_RANGE_DEG = ((-10.0, -4.0), (-4.0, 3.0), (-1.0, 5.0), (2.0, 8.0), (6.0, 13.0), (15.0, 25.0))
SAC_HALF_AXES_MM = ((8.6, 7.4), (9.5, 7.4), (9.6, 7.2), (9.6, 7.0), (9.6, 7.0), (9.2, 6.6))
FACET_ANGLE_DEG = (20.0, 25.0, 32.0, 38.0, 45.0, 50.0)
ROOTLET_COUNT = (16, 18, 16, 14, 12, 9)
DEGENERATION_OFFSET = (-1.2, -0.9, -0.5, -0.1, 0.35, 0.3)
#: Correlation of each level's latent severity with the study's degeneration factor.
STUDY_CORRELATION = 0.55


def sample_anatomy(rng: np.random.Generator, severity_boost: float = 0.0) -> StudyAnatomy:
    """One patient with uncompressed canals; lib.phantom.canal then compresses each to its target area.

    ``severity_boost`` shifts the study's degeneration latent (standard-normal units) to enrich pathology.
    """
    size = float(np.clip(rng.normal(1.0, 0.07), 0.86, 1.16))
    z_study = float(rng.normal()) + severity_boost
    vertebrae, disc_heights = _sample_column(rng, size)
    congenital = float(np.clip(rng.normal(1.0, 0.07), 0.84, 1.15))
    discs = [_sample_level(rng, i, name, size, congenital, z_study, disc_heights[i]) for i, name in enumerate(DISC_NAMES)]
    discs = _limit_tilt_steps(discs)
    centres = _disc_centres(vertebrae, [d.height_mm for d in discs])
    discs = [replace(d, centre_s_mm=c) for d, c in zip(discs, centres)]
    vertebrae = _place_vertebrae(vertebrae, discs)
    curve = _sample_curve(rng, discs, vertebrae)
    body = _sample_body(rng, size, float(ndtr(z_study)), curve, vertebrae)
    pose = Pose.from_angles(
        float(rng.uniform(-4, 4)), float(rng.uniform(-2, 2)),
        (rng.uniform(-12, 12), rng.uniform(-25, 25), rng.uniform(-60, 60)),
    )
    return StudyAnatomy(size, float(ndtr(z_study)), body, tuple(vertebrae), tuple(discs), curve, pose,
                        int(rng.integers(2**31 - 1)))


def _limit_tilt_steps(discs: list[DiscLevel]) -> list[DiscLevel]:
    """Keep neighbouring discs within MAX_TILT_STEP_DEG of each other (no kinks in the curve)."""
    out = [discs[-1]]
    for disc in reversed(discs[:-1]):
        below = out[0].tilt_deg
        out.insert(0, replace(disc, tilt_deg=float(np.clip(disc.tilt_deg, below - MAX_TILT_STEP_DEG, below + MAX_TILT_STEP_DEG))))
    return out


def _sample_column(rng, size: float) -> tuple[list[Vertebra], list[float]]:
    vertebrae = [
        Vertebra(name, 0.0, VERTEBRA_HEIGHT_MM[i] * size * rng.normal(1, 0.03),
                 VERTEBRA_HALF_WIDTH_MM[i] * size * rng.normal(1, 0.03), VERTEBRA_HALF_DEPTH_MM[i] * size * rng.normal(1, 0.03))
        for i, name in enumerate(VERTEBRA_NAMES)
    ]
    heights = [DISC_HEIGHT_MM[i] * size * rng.normal(1, 0.05) for i in range(len(DISC_NAMES))]
    return vertebrae, heights


def _disc_centres(vertebrae: list[Vertebra], disc_heights: list[float]) -> list[float]:
    """Arc-length of each disc centre along the column, 0 at L5-S1."""
    centres = [0.0] * len(disc_heights)
    for i in range(len(disc_heights) - 2, -1, -1):
        centres[i] = centres[i + 1] + disc_heights[i + 1] / 2 + vertebrae[i + 1].height_mm + disc_heights[i] / 2
    return centres


def _place_vertebrae(vertebrae: list[Vertebra], discs: list[DiscLevel]) -> list[Vertebra]:
    """Centre of each vertebral body between its discs (S1 below the last disc)."""
    placed = []
    for j, vert in enumerate(vertebrae):
        if j < len(discs):
            centre = discs[j].centre_s_mm + discs[j].height_mm / 2 + vert.height_mm / 2
        else:
            centre = -discs[-1].height_mm / 2 - vert.height_mm / 2
        placed.append(replace(vert, centre_s_mm=centre))
    return placed


def _level_latent(rng, z_study: float) -> float:
    return STUDY_CORRELATION * z_study + np.sqrt(1 - STUDY_CORRELATION**2) * float(rng.normal())


def _sample_level(rng, i: int, name: str, size: float, congenital: float, z_study: float, height: float) -> DiscLevel:
    z_canal = _level_latent(rng, z_study)
    cumulative = np.cumsum(CANAL_PREVALENCE[name])[:-1]
    grade = GRADES[int(np.sum(ndtr(z_canal) > cumulative))]
    lo, hi = TARGET_CSA_MM2[grade]
    degeneration = float(ndtr(0.6 * z_canal + 0.5 * rng.normal() + DEGENERATION_OFFSET[i]))
    sides = [_sample_side(rng, name, size, z_study, z_canal) for _ in range(2)]
    protrusion = float(rng.uniform(0.5, 3.0)) if grade != "normal" and rng.random() < 0.3 else 0.0
    sac_hw, sac_hd = SAC_HALF_AXES_MM[i]
    return DiscLevel(
        name=name, centre_s_mm=0.0, height_mm=height * (1.0 - 0.4 * degeneration**1.5),
        tilt_deg=float(rng.uniform(*DISC_TILT_RANGE_DEG[i])), degeneration=degeneration,
        bulge_mm=float(rng.uniform(0.0, 1.0) * degeneration), protrusion_mm=protrusion,
        protrusion_u_mm=float(rng.choice([-1, 1]) * rng.uniform(0.0, 6.0)),
        sac_half_width_mm=sac_hw * size * congenital * rng.normal(1, 0.03),
        sac_half_depth_mm=sac_hd * size * congenital * rng.normal(1, 0.03),
        ligamentum_flavum_mm=3.0 * size * rng.normal(1, 0.08),
        epidural_fat_anterior_mm=float(rng.uniform(2.0, 4.0) if name == "L5-S1" else rng.uniform(0.7, 1.4)),
        epidural_fat_posterior_mm=float(rng.uniform(1.5, 3.5) + (1.0 if i >= 4 else 0.0)),
        facet_angle_deg=FACET_ANGLE_DEG[i] + float(rng.normal(0, 5)),
        facet_left=sides[0][0], facet_right=sides[1][0], foramen_left=sides[0][1], foramen_right=sides[1][1],
        rootlets_dorsal=_rootlets(rng, ROOTLET_COUNT[i], dorsal=True),
        rootlets_spread=_rootlets(rng, ROOTLET_COUNT[i], dorsal=False),
        intended_grade=grade, target_csa_mm2=float(rng.uniform(lo, hi) * size),
    )


def _sample_side(rng, name: str, size: float, z_study: float, z_canal: float) -> tuple[FacetJoint, Foramen]:
    """Facet joint and foramen of one side from their own latents (correlated with the canal's)."""
    z_facet = 0.75 * _level_latent(rng, z_study) + 0.66 * 0.5 * (z_canal + float(rng.normal()))
    facet_sev = float(ndtr(1.6 * (z_facet - ndtri(1 - FACET_PREVALENCE[name]))))
    z_for = 0.7 * _level_latent(rng, z_study) + 0.7 * 0.6 * (z_canal + float(rng.normal()))
    foramen_sev = float(ndtr(1.6 * (z_for - ndtri(1 - FORAMEN_PREVALENCE[name]))))
    return _facet_from_severity(rng, facet_sev, size), _foramen_from_severity(rng, foramen_sev, size)


def _facet_from_severity(rng, sev: float, size: float) -> FacetJoint:
    effusion = float(rng.uniform(0.8, 2.2)) if (sev > 0.45 and rng.random() < 0.45) else 0.0
    osteo = float(3.0 * (sev - 0.35) * rng.uniform(0.6, 1.1)) if sev > 0.35 else 0.0
    return FacetJoint(
        severity=sev,
        joint_space_mm=float(np.clip(3.1 * size - 2.5 * sev + rng.normal(0, 0.25), 0.5, 4.0)),
        hypertrophy=float(1.0 + 0.55 * sev**1.3 + rng.normal(0, 0.03)),
        osteophyte_mm=max(0.0, osteo), effusion_mm=effusion,
    )


def _foramen_from_severity(rng, sev: float, size: float) -> Foramen:
    height_loss = float(np.clip(sev * rng.uniform(0.3, 1.0), 0.0, 1.0))
    remaining = max(0.0, (1.05 * sev - 0.4 * height_loss) / 0.6)
    split = float(rng.uniform(0.25, 0.75))
    return Foramen(
        severity=sev, anterior_obliteration=float(min(0.95, remaining * split)),
        posterior_obliteration=float(min(0.95, remaining * (1 - split))), height_loss=height_loss,
        root_radius_mm=2.1 * size * float(rng.normal(1, 0.08)),
    )


def _rootlets(rng, count: int, dorsal: bool) -> tuple[tuple[float, float], ...]:
    """Normalised rootlet positions in the sac: layered dorsally (supine) or spread through it."""
    points: list[tuple[float, float]] = [(0.62, -0.35), (-0.62, -0.35)]  # traversing roots, anterolateral
    tries = 0
    while len(points) < count + 2 and tries < 2000:
        tries += 1
        if dorsal:
            phi, rho = rng.uniform(0.15 * np.pi, 0.85 * np.pi), rng.uniform(0.4, 0.8)
        else:
            phi, rho = rng.uniform(0, 2 * np.pi), 0.8 * np.sqrt(rng.uniform(0.0, 1.0))
        p = (float(rho * np.cos(phi)), float(rho * np.sin(phi)))
        if all((p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2 > 0.2**2 for q in points):
            points.append(p)
    return tuple(points)


def _sample_curve(rng, discs: list[DiscLevel], vertebrae: list[Vertebra]) -> SpineCurve:
    """Lordotic centre line through the discs' tilts; the sacrum carries on to ~45 degrees."""
    knots_s = [d.centre_s_mm for d in discs]
    knots_t = [d.tilt_deg for d in discs]
    knots_s += [discs[0].centre_s_mm + 120.0, vertebrae[-1].centre_s_mm, vertebrae[-1].centre_s_mm - 90.0]
    knots_t += [knots_t[0] - 4.0, knots_t[-1] + 4.0, knots_t[-1] + 20.0]
    return SpineCurve.from_tilts(np.array(knots_s), np.array(knots_t), (0.0, 0.0),
                                 lateral_amplitude_mm=float(rng.uniform(0.0, 6.0)),
                                 lateral_period_mm=float(rng.uniform(300, 600)), lateral_phase=float(rng.uniform(0, 6.28)))


def _sample_body(rng, size: float, degeneration: float, curve: SpineCurve, vertebrae: list[Vertebra]) -> BodyHabitus:
    habitus = float(rng.beta(2.0, 2.2))
    half_depth = (95.0 + 55.0 * habitus) * size
    posterior_fat = 8.0 + 50.0 * habitus**1.3 + float(rng.normal(0, 3))
    l3_y = float(curve.point(vertebrae[3].centre_s_mm)[1])
    back = l3_y + 80.0 * size + max(4.0, posterior_fat) + 35.0  # the skin itself follows the spine (body_render)
    return BodyHabitus(
        half_width_mm=(130.0 + 60.0 * habitus) * size, half_depth_mm=half_depth, centre_y_mm=back - half_depth,
        posterior_fat_mm=max(4.0, posterior_fat), muscle_scale=float(rng.normal(1.0, 0.08)) * size,
        muscle_fat_fraction=float(np.clip(0.05 + 0.3 * degeneration * rng.uniform(0.3, 1.2), 0.0, 0.5)), psoas_scale=float(rng.normal(1.0, 0.1)),
    )
