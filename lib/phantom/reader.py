"""A simulated neuroradiologist: grades each level from what the rendered anatomy shows, with reader noise.

* Central canal: from the dural sac area measured on the mid-disc slice's truth mask, judged against the
  patient's size (the disc's cross-section, as a reader weighs the sac against the disc; a sac filled with
  crowded rootlets and no CSF goes with a small area), thresholds at Schonstrom-like 100 / 75 mm2 and
  130 mm2 for mild, and a log-normal reading error.
* Foramen: perineural fat left on the mid-disc plane (rendered) plus loss of foraminal height.
* Facet: joint space narrowing, process hypertrophy, osteophytes and effusion combined into one score.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.special import gamma

from lib.phantom.anatomy import FacetJoint, Foramen
from lib.phantom.layout import LevelLayout, SideLayout
from lib.phantom.posterior import paint_side
from lib.phantom.sampling import VERTEBRA_HALF_DEPTH_MM, VERTEBRA_HALF_WIDTH_MM
from lib.phantom.tissues import Tissue

CANAL_THRESHOLDS_MM2 = (130.0, 100.0, 75.0)  # below: mild, moderate, severe
FORAMEN_THRESHOLD = 0.48
FACET_THRESHOLD = 0.37
GRADES = ("normal", "mild", "moderate", "severe")


@dataclass(frozen=True)
class CanalReading:
    grade: str
    effective_area_mm2: float  # what the reader "saw", before the reading error


def read_canal(sac_area_mm2: float, size_ratio: float, noise: float, rng: np.random.Generator) -> CanalReading:
    """Grade the central canal from the measured sac area, judged against the patient's size.

    ``size_ratio`` is the endplate area over an average patient's; areas are judged in proportion to its
    square root (a linear size), as the sampled target areas are.
    """
    if sac_area_mm2 <= 0:
        return CanalReading("severe", 0.0)
    effective = sac_area_mm2 / float(np.sqrt(max(size_ratio, 0.3)))
    seen = effective * float(np.exp(rng.normal(0.0, noise)))
    grade = GRADES[int(sum(seen < t for t in CANAL_THRESHOLDS_MM2))]
    return CanalReading(grade, effective)


def endplate_area_mm2(upper_half_axes, lower_half_axes, power: float = 2.4) -> float:
    """Area (mm2) of a superellipse with the mean half-axes of the two vertebral bodies: the patient's size at
    this level as the reader sees it (not changed by a bulging disc)."""
    a = 0.5 * (upper_half_axes[0] + lower_half_axes[0])
    b = 0.5 * (upper_half_axes[1] + lower_half_axes[1])
    return float(4.0 * a * b * gamma(1.0 + 1.0 / power) ** 2 / gamma(1.0 + 2.0 / power))


def size_ratio(layout: LevelLayout) -> float:
    """This patient's endplate area at the level over that of an average patient (size factor 1)."""
    i = layout.index
    average = endplate_area_mm2(
        (VERTEBRA_HALF_WIDTH_MM[i], VERTEBRA_HALF_DEPTH_MM[i]), (VERTEBRA_HALF_WIDTH_MM[i + 1], VERTEBRA_HALF_DEPTH_MM[i + 1])
    )
    return endplate_area_mm2(layout.upper_half_axes, layout.lower_half_axes) / average


def foramen_fat_fraction(layout: LevelLayout, left: bool, step_mm: float = 0.25) -> float:
    """Fraction of the normal perineural fat still present on the mid-disc plane (rendered on a local grid)."""
    side = layout.side(left)
    fat = _foramen_fat_pixels(layout, side, left, step_mm)
    healthy = Foramen(side.foramen.severity, 0.0, 0.0, 0.0, side.foramen.root_radius_mm)
    normal_side = replace(side, foramen=healthy)
    nominal = _foramen_fat_pixels(layout, normal_side, left, step_mm)
    return float(fat) / max(float(nominal), 1.0)


def _foramen_fat_pixels(layout: LevelLayout, side: SideLayout, left: bool, step_mm: float) -> int:
    cu, cv = side.foramen_centre
    au, av = side.foramen_half_axes
    uu, v = np.meshgrid(np.arange(cu - au, cu + au, step_mm), np.arange(cv - av, cv + av, step_mm))
    uu, v = uu.ravel(), v.ravel()
    tissue = np.zeros(uu.shape, np.uint8)
    paint_side(tissue, uu, v, np.zeros_like(uu), layout, side, left)
    return int(np.count_nonzero(tissue == (Tissue.FORAMEN_FAT_LEFT if left else Tissue.FORAMEN_FAT_RIGHT)))


def foramen_score(fat_fraction: float, foramen: Foramen) -> float:
    """0 (wide open) .. 1 (no fat left, no height): obliteration seen on axial plus lost height."""
    return 0.6 * (1.0 - fat_fraction) + 0.4 * foramen.height_loss


def read_foramen(fat_fraction: float, foramen: Foramen, noise: float, rng: np.random.Generator) -> tuple[bool, float]:
    """(stenosis, score) of one foramen."""
    score = foramen_score(fat_fraction, foramen)
    return bool(score + rng.normal(0.0, noise) > FORAMEN_THRESHOLD), score


def facet_score(facet: FacetJoint) -> float:
    """0 (normal joint) .. ~1: narrowing, hypertrophy, osteophytes and effusion as a reader weighs them."""
    narrowing = np.clip((3.1 - facet.joint_space_mm) / 2.5, 0.0, 1.0)
    hypertrophy = np.clip((facet.hypertrophy - 1.0) / 0.55, 0.0, 1.0)
    osteophyte = np.clip(facet.osteophyte_mm / 2.0, 0.0, 1.0)
    return float(0.3 * narrowing + 0.35 * hypertrophy + 0.25 * osteophyte + 0.1 * (facet.effusion_mm > 0))


def read_facet(facet: FacetJoint, noise: float, rng: np.random.Generator) -> tuple[bool, float]:
    """(arthropathy, score) of one facet joint."""
    score = facet_score(facet)
    return bool(score + rng.normal(0.0, noise) > FACET_THRESHOLD), score
