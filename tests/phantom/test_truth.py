"""Truth JSON against the label volume and the DICOM geometry, computed independently here."""
from __future__ import annotations

import numpy as np

from lib.spine.levels import LANDMARK_NAMES, LEVELS
from tests.phantom.conftest import geometry_of

GRADES = {"normal", "mild", "moderate", "severe"}
LEVEL_KEYS = {
    "central_canal", "foramen_left", "foramen_right", "facet_left", "facet_right", "dural_sac_area_mm2",
    "disc_area_mm2", "dural_sac_ap_mm", "disc_ap_mm", "mid_disc_sop_uid", "landmarks_lps_mm", "anatomy",
}


def _mid_slice(study, level: str):
    truth = study.truth["levels"][level]
    k = study.truth["slice_sop_uids"].index(truth["mid_disc_sop_uid"])
    geometry = geometry_of(study.by_sop()[truth["mid_disc_sop_uid"]])
    return truth, k, geometry, study.labels[:, :, k].T  # [row, col]


def test_truth_document_form(any_study):
    truth = any_study.truth
    assert truth["synthetic"] is True
    assert truth["study_id"].startswith("phantom_")
    assert truth["acquisition"] in ("contiguous", "angled")
    assert truth["vendor"] in ("GE", "SIEMENS", "Philips")
    assert set(truth["levels"]) == {str(level) for level in LEVELS}
    for level in truth["levels"].values():
        assert LEVEL_KEYS <= set(level)
        assert level["central_canal"] in GRADES
        assert set(level["landmarks_lps_mm"]) == set(LANDMARK_NAMES)
        assert all(len(p) == 3 and np.all(np.isfinite(p)) for p in level["landmarks_lps_mm"].values())
        assert level["mid_disc_sop_uid"] in truth["slice_sop_uids"]


def test_areas_agree_with_label_volume(any_study):
    dr, dc = any_study.truth["pixel_spacing_mm"]
    for level in any_study.truth["levels"]:
        truth, _, _, mask = _mid_slice(any_study, level)
        sac = np.count_nonzero(mask == 1) * dr * dc
        disc = np.count_nonzero(mask == 2) * dr * dc
        assert sac > 20.0, level
        assert abs(sac - truth["dural_sac_area_mm2"]) <= 0.02 * sac
        assert abs(disc - truth["disc_area_mm2"]) <= 0.02 * max(disc, 1.0)


def test_sac_centroid_projects_into_the_sac_label(any_study):
    for level in any_study.truth["levels"]:
        truth, _, geometry, mask = _mid_slice(any_study, level)
        row, col, distance = geometry.lps_to_pixel(truth["landmarks_lps_mm"]["dural_sac_centroid"])
        assert abs(distance) < 1e-3
        window = mask[int(round(row)) - 1:int(round(row)) + 2, int(round(col)) - 1:int(round(col)) + 2]
        assert np.any(window == 1), level


def test_landmarks_lie_in_the_mid_disc_plane_in_anatomical_order(any_study):
    for level in any_study.truth["levels"]:
        truth, _, geometry, mask = _mid_slice(any_study, level)
        points = {k: np.asarray(v) for k, v in truth["landmarks_lps_mm"].items()}
        for name, p in points.items():
            assert abs(geometry.lps_to_pixel(p)[2]) < 0.05, (level, name)
        # Patient left is +x: left structures lie to the left of the sac, right ones to the right.
        sac_x = points["dural_sac_centroid"][0]
        assert points["facet_left"][0] > sac_x + 5 and points["foramen_left"][0] > sac_x + 5
        assert points["facet_right"][0] < sac_x - 5 and points["foramen_right"][0] < sac_x - 5
        # The disc is anterior (-y) of the sac, the facets posterior of the disc.
        assert points["disc_centroid"][1] < sac_x * 0 + points["dural_sac_centroid"][1]
        assert points["facet_left"][1] > points["disc_centroid"][1]


def test_mid_disc_slice_holds_disc_and_sac(any_study):
    for level in any_study.truth["levels"]:
        truth, _, _, mask = _mid_slice(any_study, level)
        assert truth["disc_area_mm2"] > 300, level
        assert truth["dural_sac_ap_mm"] > 3 and truth["disc_ap_mm"] > truth["dural_sac_ap_mm"]


def test_previews_written(any_study):
    preview = any_study.root.parent.parent / "preview"
    names = {p.name for p in preview.glob("*.png")}
    assert {"normal.png", "mild.png", "moderate.png", "severe.png", "foramen_facet.png"} <= names
