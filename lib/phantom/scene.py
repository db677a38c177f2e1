"""Per-study precomputation shared by every plane rendered through one patient."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter, map_coordinates

from lib.phantom.anatomy import StudyAnatomy
from lib.phantom.layout import LevelLayout, level_layout
from lib.phantom.spine_render import SACRUM_BELOW_S1_MM, ZoneContext

TEXTURE_STEP_MM = 5.0
TEXTURE_HALF_EXTENT_MM = 260.0


@dataclass(frozen=True, eq=False)
class TextureVolume:
    """Two smooth random fields (zero mean, unit-ish variance) in body coordinates."""

    fields: np.ndarray  # (2, nx, ny, nz)
    origin_mm: np.ndarray  # body position of voxel (0, 0, 0)

    def sample(self, x, y, z) -> np.ndarray:
        """(2, ...) field values at body points (order-1 interpolation, clamped at the edges)."""
        coords = np.stack([(x - self.origin_mm[0]), (y - self.origin_mm[1]), (z - self.origin_mm[2])]) / TEXTURE_STEP_MM
        return np.stack([map_coordinates(f, coords, order=1, mode="nearest") for f in self.fields])


@dataclass(frozen=True, eq=False)
class Profiles:
    """Smooth profiles along the spine (tabulated at disc centres, ascending s) for the soft tissues."""

    s_mm: np.ndarray
    body_half_width_mm: np.ndarray
    body_half_depth_mm: np.ndarray
    lamina_v_mm: np.ndarray
    spinous_tip_v_mm: np.ndarray
    facet_u_mm: np.ndarray
    psoas_radius_mm: np.ndarray

    def at(self, name: str, s: np.ndarray) -> np.ndarray:
        return np.interp(s, self.s_mm, getattr(self, name))


@dataclass(frozen=True, eq=False)
class Scene:
    """Anatomy plus what is derived from it once: per-level layouts, zones, profiles, textures."""

    anatomy: StudyAnatomy
    layouts: tuple[LevelLayout, ...]  # cranial to caudal, like anatomy.discs
    contexts: tuple[ZoneContext, ...]
    zone_bounds_mm: np.ndarray  # ascending s of the vertebral body centres between discs
    profiles: Profiles
    texture: TextureVolume

    @classmethod
    def build(cls, anatomy: StudyAnatomy, rng: np.random.Generator) -> "Scene":
        layouts = tuple(level_layout(anatomy, i) for i in range(len(anatomy.discs)))
        bounds = np.array(sorted(v.centre_s_mm for v in anatomy.vertebrae[1:-1]))
        return cls(anatomy, layouts, _contexts(anatomy, rng), bounds, _profiles(anatomy, layouts), _texture(anatomy, rng))

    @property
    def sacrum_tip_s_mm(self) -> float:
        """Arc length of the tip of the sacrum and coccyx (no spine below)."""
        lowest = self.layouts[-1]
        return lowest.disc.centre_s_mm - (lowest.disc_half_height_mm + lowest.lower_height_mm + SACRUM_BELOW_S1_MM)

    def zone_of(self, s: np.ndarray) -> np.ndarray:
        """Disc index (into anatomy.discs) of the zone each arc-length falls in."""
        return (len(self.layouts) - 1) - np.searchsorted(self.zone_bounds_mm, s)


def _contexts(anatomy: StudyAnatomy, rng: np.random.Generator) -> tuple[ZoneContext, ...]:
    """The conus ends around L1-L2; the lowest zone holds the end of the thecal sac."""
    tip_s = anatomy.discs[1].centre_s_mm + float(rng.uniform(-4.0, 14.0))
    contexts = []
    for i, disc in enumerate(anatomy.discs):
        tip = tip_s - disc.centre_s_mm if i <= 1 else None
        contexts.append(ZoneContext(conus_tip_ds_mm=tip, sacral=(i == len(anatomy.discs) - 1)))
    return tuple(contexts)


def _profiles(anatomy: StudyAnatomy, layouts: tuple[LevelLayout, ...]) -> Profiles:
    order = np.argsort([d.centre_s_mm for d in anatomy.discs])
    size = anatomy.size_factor
    psoas = np.array([6.0, 10.0, 14.0, 17.5, 20.0, 20.0]) * size * anatomy.body.psoas_scale

    def column(values) -> np.ndarray:
        return np.asarray(values, float)[order]

    return Profiles(
        s_mm=column([d.centre_s_mm for d in anatomy.discs]),
        body_half_width_mm=column([lay.disc_half_axes[0] for lay in layouts]),
        body_half_depth_mm=column([lay.disc_half_axes[1] for lay in layouts]),
        lamina_v_mm=column([lay.lf_apex_v_mm + 3.0 * size for lay in layouts]),
        spinous_tip_v_mm=column([lay.spinous_tip_v_mm for lay in layouts]),
        facet_u_mm=column([lay.left.facet_centre[0] for lay in layouts]),
        psoas_radius_mm=column(psoas),
    )


def _texture(anatomy: StudyAnatomy, rng: np.random.Generator) -> TextureVolume:
    """Smooth noise fields covering the trunk around the lumbar spine."""
    s_lo, s_hi = anatomy.vertebrae[-1].centre_s_mm - 140.0, anatomy.vertebrae[0].centre_s_mm + 140.0
    z_lo = float(anatomy.curve.point(s_lo)[2])
    z_hi = float(anatomy.curve.point(s_hi)[2])
    half = TEXTURE_HALF_EXTENT_MM
    shape = (int(2 * half / TEXTURE_STEP_MM) + 1, int(2 * half / TEXTURE_STEP_MM) + 1,
             int((z_hi - z_lo) / TEXTURE_STEP_MM) + 1)
    fields = []
    for sigma in (1.2, 2.5):
        f = gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma, mode="wrap")
        fields.append(f / (f.std() + 1e-6))
    return TextureVolume(np.stack(fields), np.array([-half, -half + anatomy.body.centre_y_mm, z_lo]))
