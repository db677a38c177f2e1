"""Render any image plane through a scene: relative signal averaged across the slice, truth labels.

Output pixel arrays are ``[row, col]`` like pydicom's; labels use 0 background, 1 dural sac, 2 disc (the
central plane of the slice). The trunk around the spine is drawn at no finer than ~1 mm and interpolated;
the spine itself is drawn at full resolution at ``sub_planes`` points across the slice thickness.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from lib.phantom.body_render import render_background
from lib.phantom.grid import coarse_nodes, upsample_bilinear
from lib.phantom.intensity import tissue_signal
from lib.phantom.scene import Scene
from lib.phantom.spine_render import render_zone, zone_extent_ok
from lib.phantom.tissues import Contrast
from lib.spine.geometry import SliceGeometry
from lib.spine.levels import LABEL_DISC, LABEL_DURAL_SAC

#: Spine-local box (mm) outside which no spinal structure is drawn.
SPINE_BOX_U_MM = 75.0
SPINE_BOX_V_MM = (-40.0, 115.0)
#: The trunk is drawn on pixels of about this size (an integer multiple of the image's), then interpolated.
BACKGROUND_PIXEL_MM = 1.2
_UNPAINTED = 255


@dataclass(frozen=True)
class PlaneRender:
    """One rendered plane: relative signal per contrast (averaged over the slice profile) and truth labels."""

    signals: tuple[np.ndarray, ...]  # float32 [row, col], one per requested contrast
    labels: np.ndarray  # uint8 [row, col], central plane


@dataclass(frozen=True)
class _Coords:
    x: np.ndarray
    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    s: np.ndarray
    tex: np.ndarray | None


def render_plane(scene: Scene, geometry: SliceGeometry, contrasts: Sequence[Contrast], sub_planes: int = 3,
                 coarse_step: int = 4) -> PlaneRender:
    """Render a plane in each contrast; ``sub_planes`` points across the slice thickness are averaged."""
    rows, cols = geometry.rows, geometry.columns
    factor = max(1, int(round(BACKGROUND_PIXEL_MM / min(geometry.pixel_spacing_mm))))
    signals, bg = _background(scene, geometry, contrasts, factor, coarse_step)
    labels = np.zeros((rows, cols), np.uint8)
    box = _spine_box(bg, factor, rows, cols)
    if box is None:
        return PlaneRender(tuple(signals), labels)
    r0, r1, c0, c1 = box
    fat = scene.anatomy.body.muscle_fat_fraction
    acc = np.zeros((len(contrasts), r1 - r0, c1 - c0), np.float32)
    offsets = _sub_plane_offsets(geometry.slice_thickness_mm, sub_planes)
    centre = _coords(scene, geometry, 0.0, box, coarse_step, with_texture=True)
    for offset in offsets:
        sub = centre if offset == 0.0 else _coords(scene, geometry, offset, box, coarse_step, with_texture=False)
        tissue = np.full(sub.u.shape, _UNPAINTED, np.uint8)
        mix = np.zeros(sub.u.shape, np.float32)
        sac, disc = _render_zones(scene, sub.u, sub.v, sub.s, tissue, mix)
        painted = tissue != _UNPAINTED
        tex = centre.tex[:, painted]
        for j, contrast in enumerate(contrasts):
            layer = signals[j][r0:r1, c0:c1].copy()
            layer[painted] = tissue_signal(tissue[painted], mix[painted], tex, contrast, fat)
            acc[j] += layer
        if offset == 0.0:
            labels[r0:r1, c0:c1][disc] = LABEL_DISC
            labels[r0:r1, c0:c1][sac] = LABEL_DURAL_SAC
    for j, signal in enumerate(signals):
        signal[r0:r1, c0:c1] = acc[j] / len(offsets)
    return PlaneRender(tuple(signals), labels)


def _background(scene: Scene, geometry: SliceGeometry, contrasts, factor: int, coarse_step: int):
    """Trunk signal at full size (drawn on every ``factor``-th pixel and interpolated) and its coarse coords."""
    rows, cols = geometry.rows, geometry.columns
    small = replace(geometry, pixel_spacing_mm=tuple(p * factor for p in geometry.pixel_spacing_mm),
                    rows=(rows - 1) // factor + 2, columns=(cols - 1) // factor + 2)
    step = max(1, coarse_step // factor)
    bg = _coords(scene, small, 0.0, (0, small.rows, 0, small.columns), step, with_texture=True)
    tissue, mix = render_background(scene, bg.x, bg.y, bg.u, bg.v, bg.s, bg.tex)
    fat = scene.anatomy.body.muscle_fat_fraction
    signals = [tissue_signal(tissue, mix, bg.tex, c, fat) for c in contrasts]
    if factor > 1:
        signals = [upsample_bilinear(s[None], factor, rows, cols)[0] for s in signals]
    else:
        signals = [np.ascontiguousarray(s[:rows, :cols]) for s in signals]
    return signals, bg


def _sub_plane_offsets(thickness_mm: float, count: int) -> list[float]:
    """Positions across the slice (mm along the normal), always including the central plane 0."""
    if count <= 1 or thickness_mm <= 0:
        return [0.0]
    offsets = list(np.linspace(-thickness_mm / 3.0, thickness_mm / 3.0, count))
    return sorted({round(o, 6) for o in offsets} | {0.0})


def _render_zones(scene: Scene, u, v, s, tissue, mix) -> tuple[np.ndarray, np.ndarray]:
    """Draw every level zone that the 2-D arrays touch, in place; returns (sac, disc) boolean maps."""
    shape = u.shape
    u, v, s = u.ravel(), v.ravel(), s.ravel()
    t, m = tissue.reshape(-1), mix.reshape(-1)
    inside = np.flatnonzero((np.abs(u) < SPINE_BOX_U_MM) & (v > SPINE_BOX_V_MM[0]) & (v < SPINE_BOX_V_MM[1]))
    zone = scene.zone_of(s[inside])
    sac = np.zeros(u.shape, bool)
    disc = np.zeros(u.shape, bool)
    for k in np.flatnonzero(np.bincount(zone, minlength=len(scene.layouts))):
        idx = inside[zone == k]
        layout, context = scene.layouts[k], scene.contexts[k]
        idx = idx[zone_extent_ok(s[idx] - layout.disc.centre_s_mm, layout, context)]
        tk, mk = t[idx], m[idx]
        sk, dk = render_zone(layout, context, u[idx], v[idx], s[idx] - layout.disc.centre_s_mm, tk, mk)
        t[idx], m[idx] = tk, mk
        sac[idx[sk]] = True
        disc[idx[dk]] = True
    return sac.reshape(shape), disc.reshape(shape)


def _spine_box(c: _Coords, factor: int, rows: int, cols: int) -> tuple[int, int, int, int] | None:
    """Full-size pixel rectangle (row0, row1, col0, col1) holding every point of the spine box."""
    inside = (np.abs(c.u) < SPINE_BOX_U_MM) & (c.v > SPINE_BOX_V_MM[0]) & (c.v < SPINE_BOX_V_MM[1])
    hit_rows = np.flatnonzero(inside.any(axis=1))
    hit_cols = np.flatnonzero(inside.any(axis=0))
    if hit_rows.size == 0:
        return None
    r0, c0 = max(0, (hit_rows[0] - 1) * factor), max(0, (hit_cols[0] - 1) * factor)
    r1, c1 = min(rows, (hit_rows[-1] + 1) * factor + 1), min(cols, (hit_cols[-1] + 1) * factor + 1)
    if r1 <= r0 or c1 <= c0:
        return None
    return int(r0), int(r1), int(c0), int(c1)


def _coords(scene: Scene, geometry: SliceGeometry, offset_mm: float, box, step: int, with_texture: bool) -> _Coords:
    """Body and spine-local coordinates of the pixels of ``box`` on the plane shifted by ``offset_mm``.

    Computed exactly on a coarse pixel grid and interpolated bilinearly (the maps are smooth).
    """
    r0, r1, c0, c1 = box
    grid_r, grid_c = np.meshgrid(coarse_nodes(r0, r1, step), coarse_nodes(c0, c1, step), indexing="ij")
    world = geometry.pixels_to_lps(grid_r, grid_c) + offset_mm * geometry.normal
    body = scene.anatomy.pose.to_body(world)
    x, y, z = body[..., 0], body[..., 1], body[..., 2]
    u, v, s = scene.anatomy.curve.body_to_local(x, y, z)
    channels = [u, v, s]
    if with_texture:
        channels += list(scene.texture.sample(x, y, z))
    if step == 1:
        full = np.stack(channels).astype(np.float32)[:, : r1 - r0, : c1 - c0]
    else:
        full = upsample_bilinear(np.stack(channels).astype(np.float32), step, r1 - r0, c1 - c0)
    # Body x and y are affine in the pixel indices: exact from three points.
    origin = body[0, 0]
    d_row = (body[1, 0] - origin) / step
    d_col = (body[0, 1] - origin) / step
    rr = np.arange(r1 - r0, dtype=np.float32)[:, None]
    cc = np.arange(c1 - c0, dtype=np.float32)[None, :]
    bx = (origin[0] + rr * d_row[0] + cc * d_col[0]).astype(np.float32)
    by = (origin[1] + rr * d_row[1] + cc * d_col[1]).astype(np.float32)
    tex = full[3:5] if with_texture else None
    return _Coords(bx, by, full[0], full[1], full[2], tex)
