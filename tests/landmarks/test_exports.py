"""The landmark label map lines up with the series; the Slicer markups JSON is valid and reads back."""
import json

import nibabel as nib
import numpy as np
import pytest

from lib.landmarks.exports import (
    LANDMARK_LABELS,
    MARKUPS_SCHEMA,
    disc_on_slice,
    landmark_label_map,
    landmarks_from_markups,
    slicer_markups,
)
from lib.pipeline.run_stage1 import Stage1Runner
from lib.spine.levels import LEVELS

from .synthetic import axial_geometries, synthetic_volumes, write_work_image


@pytest.fixture(scope="module")
def stage1(tmp_path_factory):
    """Stage 1 (rules) on a synthetic series with flipped rows and anisotropic pixels, from its own label."""
    geometries = axial_geometries(flip_rows=True, spacing=(1.0, 0.8))
    image, labels = synthetic_volumes(geometries)
    path = write_work_image(tmp_path_factory.mktemp("work"), "s1", geometries, image)
    return Stage1Runner().run(path, label=labels)


def test_markups_json_is_valid_slicer_markups(stage1):
    markups = json.loads(json.dumps(slicer_markups(stage1.document)))  # JSON-serialisable
    assert markups["@schema"] == MARKUPS_SCHEMA and markups["@schema"].endswith("markups-schema-v1.0.3.json#")
    (fiducials,) = markups["markups"]
    assert fiducials["type"] == "Fiducial" and fiducials["coordinateSystem"] == "LPS"
    labels = [p["label"] for p in fiducials["controlPoints"]]
    assert len(labels) == 5 * 4 and len(set(labels)) == 20
    assert "L4-L5 facet_left" in labels and "L5-S1 foramen_right" in labels
    for point in fiducials["controlPoints"]:
        assert set(point) == {"label", "position"}
        assert len(point["position"]) == 3 and all(isinstance(v, float) for v in point["position"])
        level, name = point["label"].split()
        assert point["position"] == stage1.document["levels"][level]["landmarks_lps_mm"][name]


def test_markups_read_back_to_landmarks_including_ras(stage1):
    markups = slicer_markups(stage1.document)
    back = landmarks_from_markups(markups)
    assert set(back) == {str(lv) for lv in LEVELS}
    assert back["L3-L4"]["foramen_left"] == stage1.document["levels"]["L3-L4"]["landmarks_lps_mm"]["foramen_left"]
    ras = {"markups": [{"type": "Fiducial", "coordinateSystem": "RAS", "controlPoints": [
        {"label": "L4-L5 facet_left", "position": [-10.0, -20.0, 30.0]}, {"label": "junk", "position": [0, 0, 0]}]}]}
    assert landmarks_from_markups(ras) == {"L4-L5": {"facet_left": [10.0, 20.0, 30.0]}}


def test_label_map_lines_up_with_the_series(stage1):
    doc, geometries = stage1.document, stage1.series.geometries
    label_map = landmark_label_map(doc, geometries, stage1.labels.shape, radius_mm=2.0)
    assert label_map.shape == stage1.labels.shape and label_map.dtype == np.uint8
    for level, entry in doc["levels"].items():
        k, g = entry["slice_index"], geometries[entry["slice_index"]]
        for name, value in LANDMARK_LABELS.items():
            r, c, off = g.lps_to_pixel(entry["landmarks_lps_mm"][name])
            assert abs(off) < 1e-6  # on the mid-disc plane
            assert label_map[int(round(c)), int(round(r)), k] == value, (level, name)  # [col, row, k]
            # a disc of ~2 mm: pixels 2.5 mm away along the rows are not labelled
            assert label_map[int(round(c)), min(int(round(r + 2.5 / g.pixel_spacing_mm[0])), g.rows - 1), k] != value
    assert set(np.unique(label_map)) == {0, 1, 2, 3, 4}
    others = [k for k in range(label_map.shape[2]) if k not in {e["slice_index"] for e in doc["levels"].values()}]
    assert not label_map[:, :, others].any()


def test_label_map_written_by_the_infer_task_has_the_work_image_affine(stage1, tmp_path):
    """Voxel -> world of the written label map puts each landmark's value at its LPS position (RAS flip)."""
    from lib.infers.landmarks import Landmarks

    label_map = landmark_label_map(stage1.document, stage1.series.geometries, stage1.labels.shape)
    path = Landmarks._write_label_map({"image": "x.nii.gz"}, label_map, stage1)
    img = nib.load(path)
    data = np.asarray(img.dataobj)
    assert data.shape == label_map.shape
    entry = stage1.document["levels"]["L2-L3"]
    point = np.asarray(entry["landmarks_lps_mm"]["foramen_right"])
    ijk = np.linalg.inv(img.affine) @ np.r_[point * [-1, -1, 1], 1.0]
    assert data[tuple(int(round(v)) for v in ijk[:3])] == LANDMARK_LABELS["foramen_right"]


def test_disc_sets_the_nearest_pixel_even_when_pixels_are_coarse():
    from .synthetic import axial_geometries as geoms

    g = geoms(n=1, spacing=(5.0, 5.0), shape=(20, 20))[0]
    mask = disc_on_slice(g, g.pixel_to_lps(7.4, 9.6), radius_mm=0.5)
    assert mask.sum() == 1 and mask[7, 10]
