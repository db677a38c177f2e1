"""The trunk around the spine: skin, fat, abdominal wall, viscera, vessels, kidneys, muscles, pelvis.

Works on arrays of one shape: body coordinates (x, y, z), spine-local (u, v, s) and texture fields.
"""
from __future__ import annotations

import numpy as np

from lib.phantom.scene import Scene
from lib.phantom.shapes import segment_distance
from lib.phantom.tissues import Tissue


def render_background(scene: Scene, x, y, u, v, s, tex) -> tuple[np.ndarray, np.ndarray]:
    """(tissue, mix) of everything except the spine's own zones."""
    anatomy, prof = scene.anatomy, scene.profiles
    body = anatomy.body
    tissue = np.full(x.shape, Tissue.AIR, np.uint8)
    mix = np.zeros(x.shape, np.float32)
    r = _body_radius(x, y, body.half_width_mm, body.half_depth_mm, body.centre_y_mm)
    depth = (1.0 - r) * np.where(y > body.centre_y_mm, body.half_depth_mm, 0.85 * body.half_width_mm)
    # The back follows the spine (lordosis included): skin at a fixed depth behind the spinous processes.
    skin_v = prof.at("spinous_tip_v_mm", np.maximum(s, scene.sacrum_tip_s_mm)) + 7.0 * anatomy.size_factor + body.posterior_fat_mm
    skin_v = skin_v - 0.0035 * u**2 - 2.5 * np.exp(-((u / 14.0) ** 2))  # rounded flanks, midline furrow
    behind = v > 0.0
    depth[behind] = np.minimum(depth[behind], skin_v[behind] - v[behind])
    fat = 0.55 * body.posterior_fat_mm + 6.0
    tissue[(r < 1.0) & (depth > 0.0)] = Tissue.SKIN
    tissue[depth > 1.8] = Tissue.SUBCUTANEOUS_FAT
    wall = (depth > fat) & (depth < fat + 11.0 * anatomy.size_factor)
    tissue[wall] = Tissue.MUSCLE
    cavity = depth >= fat + 11.0 * anatomy.size_factor
    _paint_viscera(tissue, cavity, tex)
    hw, hd = prof.at("body_half_width_mm", s), prof.at("body_half_depth_mm", s)
    psoas_r = prof.at("psoas_radius_mm", s)
    reach_u, reach_v = hw + 1.8 * psoas_r + 22.0, hd + 16.0
    wobble = 1.0 + 0.12 * tex[1]
    retro = ((u / reach_u) ** 2 + (np.minimum(v + 0.3 * hd, 0.0) / reach_v) ** 2 < wobble) & cavity
    tissue[retro] = Tissue.RETROPERITONEAL_FAT
    _paint_kidneys(tissue, scene, u, v, s, hw, psoas_r, cavity)
    _paint_vessels(tissue, scene, u, v, s, hd)
    _paint_psoas(tissue, u, v, s, hw, hd, psoas_r, scene)
    _paint_back_muscles(tissue, scene, u, v, s, depth, fat)
    _paint_pelvis(tissue, scene, u, v, s, depth > fat)
    return tissue, mix


def _body_radius(x, y, half_width: float, half_depth: float, centre_y: float) -> np.ndarray:
    """Normalised superellipse radius of the trunk outline (flatter at the back, where the patient lies)."""
    dy = y - centre_y
    power = np.where(dy > 0, 3.2, 2.2)
    return ((np.abs(x) / half_width) ** power + (np.abs(dy) / half_depth) ** power) ** (1.0 / power)


def _paint_viscera(tissue, cavity, tex) -> None:
    """Bowel loops: intermediate wall and content, bright fluid pockets, dark gas."""
    tissue[cavity] = Tissue.VISCERA
    fine = tex[0]
    tissue[cavity & (fine > 0.9)] = Tissue.BOWEL_FLUID
    tissue[cavity & (fine < -1.35)] = Tissue.BOWEL_GAS
    tissue[cavity & (np.abs(tex[1]) < 0.08)] = Tissue.RETROPERITONEAL_FAT  # mesenteric fat planes


def _paint_psoas(tissue, u, v, s, hw, hd, r, scene: Scene) -> None:
    r = r * np.clip((s - scene.sacrum_tip_s_mm) / 40.0, 0.02, 1.0)
    below_l5 = s < scene.anatomy.vertebrae[-2].centre_s_mm
    lateral = np.where(below_l5, 1.25, 0.85)
    for side in (-1.0, 1.0):
        cu = side * (hw + lateral * r)
        cv = -0.25 * hd + 0.15 * r
        inside = ((u - cu) / r) ** 2 + ((v - cv) / (1.1 * r)) ** 2 < 1.0
        tissue[inside & (r > 2.0)] = Tissue.MUSCLE


def _paint_vessels(tissue, scene: Scene, u, v, s, hd) -> None:
    """Aorta (left) dividing at L4 into the common iliac arteries; the IVC (right) and iliac veins."""
    size = scene.anatomy.size_factor
    bifurcation = scene.anatomy.vertebrae[4].centre_s_mm
    above = s > bifurcation
    front = -hd - 11.0 * size
    aorta = (u - 9.0 * size) ** 2 + (v - front) ** 2 < (10.0 * size) ** 2
    tissue[aorta & above] = Tissue.VESSEL
    spread = np.clip(bifurcation - s, 0.0, None) * 0.45
    for side in (-1.0, 1.0):
        iliac = (u - side * (6.0 * size + spread)) ** 2 + (v - front) ** 2 < (6.5 * size) ** 2
        tissue[iliac & ~above] = Tissue.VESSEL
    ivc = ((u + 14.0 * size) / (12.0 * size)) ** 2 + ((v - front + 1.0) / (7.5 * size)) ** 2 < 1.0
    tissue[ivc & (s > bifurcation - 15.0)] = Tissue.VESSEL


def _paint_kidneys(tissue, scene: Scene, u, v, s, hw, psoas_r, cavity) -> None:
    lower_pole = scene.anatomy.vertebrae[3].centre_s_mm
    size = scene.anatomy.size_factor
    height = np.clip((s - lower_pole) / 30.0, 0.0, 1.0)
    for side in (-1.0, 1.0):
        cu = side * (hw + 2.0 * psoas_r + 32.0 * size)
        inside = ((u - cu) / (24.0 * size * height + 1e-3)) ** 2 + ((v - 12.0 * size) / (20.0 * size * height + 1e-3)) ** 2 < 1.0
        tissue[inside & cavity & (height > 0.05)] = Tissue.KIDNEY


def _paint_back_muscles(tissue, scene: Scene, u, v, s, depth, fat: float) -> None:
    """Paired paraspinal compartments (multifidus medially, erector spinae laterally) beside the spinous
    processes, wrapped in the thoracolumbar fascia; quadratus lumborum lateral to the transverse processes."""
    prof, size = scene.profiles, scene.anatomy.size_factor * scene.anatomy.body.muscle_scale
    lam, tip, fu = prof.at("lamina_v_mm", s), prof.at("spinous_tip_v_mm", s), prof.at("facet_u_mm", s)
    uu = np.abs(u)
    # Over the sacrum the compartments thin out and end (they insert on the sacrum and the iliac crests).
    size = size * np.clip((s - scene.sacrum_tip_s_mm) / 60.0, 0.05, 1.0)
    lateral = fu + 44.0 * size
    front = lam - 20.0 * size
    back = tip + 7.0 * size
    cu, cv = 0.5 * (2.5 + lateral), 0.5 * (front + back)
    au, av = 0.5 * (lateral - 2.5), 0.5 * (back - front)
    shape = (np.abs(uu - cu) / au) ** 2.6 + (np.abs(v - cv) / av) ** 2.6
    near = (uu < lateral + 4.0) & (v > front - 4.0) & (v < back + 4.0) & (depth > 2.0)
    muscles = near & (shape < 1.0) & (uu > 2.0)
    tissue[near & (shape < 1.07) & (uu > 2.0)] = Tissue.FASCIA
    tissue[muscles] = Tissue.MUSCLE
    # Fat planes between multifidus and longissimus, and between longissimus and iliocostalis: curved, thin.
    depth_in = np.clip((v - lam) / np.maximum(back - lam, 1.0), 0.0, 1.0)
    medial_split = np.abs(uu - (fu - 1.0) - 16.0 * size * depth_in**1.6) < 1.0
    lateral_split = np.abs(uu - (fu + 22.0 * size) - 6.0 * size * depth_in**2) < 0.8
    tissue[muscles & medial_split & (v > lam + 2.0) & (depth_in < 0.85)] = Tissue.INTERMUSCULAR_FAT
    tissue[muscles & lateral_split & (v > lam - 6.0) & (depth_in < 0.75)] = Tissue.INTERMUSCULAR_FAT
    ql_top, ql_bottom = scene.anatomy.vertebrae[0].centre_s_mm, scene.anatomy.vertebrae[5].centre_s_mm
    ql = ((uu - fu - 40.0 * size) / (14.0 * size)) ** 2 + ((v - lam + 26.0 * size) / (8.0 * size)) ** 2 < 1.0
    tissue[ql & (s < ql_top) & (s > ql_bottom) & (depth > fat)] = Tissue.MUSCLE


def _paint_pelvis(tissue, scene: Scene, u, v, s, inside) -> None:
    """Iliac wings with the gluteal muscles behind them, below the middle of L5."""
    anatomy, size = scene.anatomy, scene.anatomy.size_factor
    crest = anatomy.vertebrae[-2].centre_s_mm
    low = (s < crest) & inside
    uu = np.abs(u)
    rise = np.clip((crest - s) / 40.0, 0.0, 1.0)
    posterior = (48.0 * size, 55.0 * size)
    anterior = ((75.0 + 40.0 * rise) * size, -10.0 * size)
    d = segment_distance(uu, v, posterior, anterior)
    tissue[low & (d < 14.0 * size) & (uu > 40.0 * size)] = Tissue.MUSCLE
    tissue[low & (d < 5.0 * size)] = Tissue.CORTEX
    tissue[low & (d < 3.8 * size)] = Tissue.MARROW
