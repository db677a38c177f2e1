"""Truth of one study: per-level measurements, readings and landmarks, as the truth JSON and preview crops.

Truth JSON (``truth/<study_id>.json``; coordinates DICOM patient LPS mm, areas mm2, lengths mm)::

    {"study_id", "study_uid", "series_uid" (the axial T2), "acquisition": "contiguous" | "angled",
     "pixel_spacing_mm": [row spacing, col spacing], "slice_thickness_mm", "spacing_between_slices_mm",
     "rows", "columns", "slice_sop_uids": [canonical order = the label volume's k axis], "synthetic": true,
     "vendor": "GE" | "SIEMENS" | "Philips", "manufacturer_model", "magnetic_field_strength_t",
     "series_description", "decoy_series": [roles of the other series],
     "levels": {"L1-L2" .. "L5-S1": {
         "central_canal": "normal" | "mild" | "moderate" | "severe",
         "foramen_left", "foramen_right", "facet_left", "facet_right": bool,
         "dural_sac_area_mm2", "disc_area_mm2": label pixel count x row spacing x col spacing on the mid-disc slice,
         "dural_sac_ap_mm", "disc_ap_mm": extent along the spine's AP axis (projected into the slice) of the pixel
             centres plus one pixel footprint,
         "mid_disc_sop_uid": the slice nearest the midline posterior disc margin at mid-disc height,
         "landmarks_lps_mm": {"facet_left", "facet_right" (centre of the joint line), "foramen_left",
             "foramen_right" (centre of the perineural fat / root region), "dural_sac_centroid", "disc_centroid"
             (area centroids of the masks)}, all in the mid-disc slice's plane,
         "anatomy": {the parameters that made the grades, the reader's scores}}}}
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from lib.phantom.anatomy import FIRST_GRADED_DISC, DISC_NAMES, StudyAnatomy
from lib.phantom.config import PhantomConfig
from lib.phantom.layout import LevelLayout
from lib.phantom.measure import closest_slice, landmark_on_plane, measure_mask
from lib.phantom.planning import spine_direction_world
from lib.phantom.reader import foramen_fat_fraction, read_canal, read_facet, read_foramen, size_ratio
from lib.phantom.scene import Scene
from lib.phantom.study_plan import StudyPlan
from lib.spine.geometry import SliceGeometry
from lib.spine.levels import LABEL_DISC, LABEL_DURAL_SAC, LANDMARK_NAMES

PREVIEW_WINDOW_MM = 90.0


@dataclass(frozen=True)
class LevelTruth:
    """Everything recorded for one graded level."""

    level: str
    slice_index: int  # canonical index of the mid-disc slice
    mid_disc_sop_uid: str
    central_canal: str
    foramen_left: bool
    foramen_right: bool
    facet_left: bool
    facet_right: bool
    dural_sac_area_mm2: float
    disc_area_mm2: float
    dural_sac_ap_mm: float
    disc_ap_mm: float
    landmarks_lps_mm: dict[str, tuple[float, float, float]]
    anatomy: dict

    def to_json(self) -> dict:
        out = asdict(self)
        out.pop("level")
        out.pop("slice_index")
        out["landmarks_lps_mm"] = {k: [round(x, 3) for x in v] for k, v in self.landmarks_lps_mm.items()}
        for key in ("dural_sac_area_mm2", "disc_area_mm2", "dural_sac_ap_mm", "disc_ap_mm"):
            out[key] = round(out[key], 3)
        return out


@dataclass(frozen=True, eq=False)
class PreviewItem:
    """A crop of one mid-disc slice for the preview sheets (pixels [row, col])."""

    study_id: str
    level: LevelTruth
    image: np.ndarray
    labels: np.ndarray
    landmarks_px: dict[str, tuple[float, float]]  # (row, col) in the crop
    pixel_spacing_mm: tuple[float, float]


def read_levels(anatomy: StudyAnatomy, scene: Scene, geometries: list[SliceGeometry], labels: np.ndarray,
                signals: list[np.ndarray], sop_uids: list[str], config: PhantomConfig, rng: np.random.Generator,
                study_id: str) -> tuple[list[LevelTruth], list[PreviewItem]]:
    """Measure, read and locate every graded level on its mid-disc slice (slices in canonical order)."""
    levels, previews = [], []
    for index in range(FIRST_GRADED_DISC, len(DISC_NAMES)):
        k = closest_slice(geometries, grading_point_world(anatomy, scene.layouts[index]))
        mask = labels[:, :, k].T
        level = _read_level(anatomy, scene.layouts[index], geometries[k], mask, k, sop_uids[k], config, rng)
        levels.append(level)
        previews.append(_preview(study_id, level, geometries[k], signals[k], mask))
    return levels, previews


def grading_point_world(anatomy: StudyAnatomy, layout: LevelLayout) -> np.ndarray:
    """Where a reader grades a level: the posterior margin of the disc in the midline, at mid-disc height.

    The mid-disc slice is the one closest to this point, so that on oblique (non-angled) stacks the slice
    cuts the canal at the level of the disc rather than through the disc's geometric centre.
    """
    body = anatomy.curve.local_to_body(np.array(0.0), np.array(layout.body_posterior_mm), np.array(layout.disc.centre_s_mm))
    return anatomy.pose.to_world(body)


def _read_level(anatomy: StudyAnatomy, layout: LevelLayout, geometry: SliceGeometry, mask: np.ndarray, k: int,
                sop_uid: str, config: PhantomConfig, rng: np.random.Generator) -> LevelTruth:
    disc = layout.disc
    ap_axis = spine_direction_world(anatomy, disc.centre_s_mm, "posterior")
    sac = measure_mask(mask == LABEL_DURAL_SAC, geometry, ap_axis)
    disc_m = measure_mask(mask == LABEL_DISC, geometry, ap_axis)
    canal = read_canal(sac.area_mm2, size_ratio(layout), config.canal_reader_noise, rng)
    sides = {}
    for name, left in (("left", True), ("right", False)):
        side = layout.side(left)
        fat = foramen_fat_fraction(layout, left)
        stenosis, f_score = read_foramen(fat, side.foramen, config.foramen_reader_noise, rng)
        arthropathy, a_score = read_facet(side.facet, config.facet_reader_noise, rng)
        sides[name] = (stenosis, arthropathy, fat, f_score, a_score)
    landmarks = _landmarks(anatomy, layout, geometry, sac.centroid_lps_mm, disc_m.centroid_lps_mm)
    record = _anatomy_record(layout, canal.effective_area_mm2, sides)
    return LevelTruth(
        disc.name, k, sop_uid, canal.grade, sides["left"][0], sides["right"][0], sides["left"][1], sides["right"][1],
        sac.area_mm2, disc_m.area_mm2, sac.extent_mm, disc_m.extent_mm, landmarks, record,
    )


def _landmarks(anatomy: StudyAnatomy, layout: LevelLayout, geometry: SliceGeometry, sac_centroid, disc_centroid) -> dict:
    """Facet joint centres and foramen centres where they pierce the slice; mask centroids for the rest."""
    s = layout.disc.centre_s_mm
    out = {}
    for name, left in (("left", True), ("right", False)):
        side, sign = layout.side(left), (1.0 if left else -1.0)
        out[f"facet_{name}"] = landmark_on_plane(anatomy, sign * side.facet_centre[0], side.facet_centre[1], s, geometry)
        out[f"foramen_{name}"] = landmark_on_plane(anatomy, sign * side.foramen_centre[0], side.foramen_centre[1], s, geometry)
    if np.isnan(sac_centroid[0]):
        sac_centroid = landmark_on_plane(anatomy, 0.0, layout.sac_centre_v_mm, s, geometry)
    if np.isnan(disc_centroid[0]):
        disc_centroid = landmark_on_plane(anatomy, 0.0, 0.0, s, geometry)
    out["dural_sac_centroid"] = tuple(sac_centroid)
    out["disc_centroid"] = tuple(disc_centroid)
    return {name: out[name] for name in LANDMARK_NAMES}


def _anatomy_record(layout: LevelLayout, effective_area: float, sides: dict) -> dict:
    """The parameters that made the grades, for debugging and for studying the reader."""
    disc = layout.disc

    def r(x: float) -> float:
        return round(float(x), 3)

    record = {
        "intended_canal_grade": disc.intended_grade, "target_dural_sac_area_mm2": r(disc.target_csa_mm2),
        "reader_effective_area_mm2": r(effective_area), "disc_degeneration": r(disc.degeneration),
        "disc_height_mm": r(disc.height_mm), "disc_tilt_deg": r(disc.tilt_deg), "disc_bulge_mm": r(disc.bulge_mm),
        "disc_protrusion_mm": r(disc.protrusion_mm), "ligamentum_flavum_mm": r(disc.ligamentum_flavum_mm),
        "congenital_sac_half_axes_mm": [r(disc.sac_half_width_mm), r(disc.sac_half_depth_mm)],
        "rootlet_crowding": r(disc.crowding),
    }
    for name, (_, _, fat, f_score, a_score) in sides.items():
        side = layout.side(name == "left")
        record[f"facet_{name}"] = {**{k: r(v) for k, v in asdict(side.facet).items()}, "reader_score": r(a_score)}
        record[f"foramen_{name}"] = {**{k: r(v) for k, v in asdict(side.foramen).items()},
                                     "fat_fraction": r(fat), "reader_score": r(f_score)}
    return record


def _preview(study_id: str, level: LevelTruth, geometry: SliceGeometry, signal: np.ndarray, mask: np.ndarray) -> PreviewItem:
    """Crop of the mid-disc slice around the canal."""
    row, col, _ = geometry.lps_to_pixel(level.landmarks_lps_mm["dural_sac_centroid"])
    dr, dc = geometry.pixel_spacing_mm
    half_r, half_c = int(PREVIEW_WINDOW_MM / 2 / dr), int(PREVIEW_WINDOW_MM / 2 / dc)
    r0 = int(np.clip(round(row) - int(1.1 * half_r), 0, max(0, geometry.rows - 2 * half_r)))
    c0 = int(np.clip(round(col) - half_c, 0, max(0, geometry.columns - 2 * half_c)))
    crop = (slice(r0, r0 + 2 * half_r), slice(c0, c0 + 2 * half_c))
    image, labels = signal[crop].astype(np.float32), mask[crop].copy()
    flip = geometry.row_direction[0] < 0  # show radiologically: patient right on the image left
    points = {}
    for name, p in level.landmarks_lps_mm.items():
        pr, pc, _ = geometry.lps_to_pixel(p)
        pc = pc - c0
        points[name] = (pr - r0, (image.shape[1] - 1 - pc) if flip else pc)
    if flip:
        image, labels = image[:, ::-1].copy(), labels[:, ::-1].copy()
    return PreviewItem(study_id, level, image, labels, points, (dr, dc))


def build_truth(study_id: str, study_uid: str, plan: StudyPlan, series_uid: str, geometries: list[SliceGeometry],
                sop_uids: list[str], levels: list[LevelTruth]) -> dict:
    """The truth JSON document of one study."""
    t2 = plan.axial_t2
    first = geometries[0]
    return {
        "study_id": study_id,
        "study_uid": study_uid,
        "series_uid": series_uid,
        "acquisition": plan.acquisition,
        "pixel_spacing_mm": [float(x) for x in first.pixel_spacing_mm],
        "slice_thickness_mm": float(first.slice_thickness_mm),
        "spacing_between_slices_mm": float(t2.spacing_between_slices_mm),
        "rows": first.rows,
        "columns": first.columns,
        "slice_sop_uids": list(sop_uids),
        "synthetic": True,
        "vendor": plan.scanner.short_name,
        "manufacturer_model": plan.scanner.model,
        "magnetic_field_strength_t": plan.scanner.field_strength_t,
        "series_description": t2.description,
        "decoy_series": [s.role for s in plan.series[1:]],
        "levels": {level.level: level.to_json() for level in levels},
    }
