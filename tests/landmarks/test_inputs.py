"""LevelSlice from a stage 1 document equals one measured afresh; the runner applies a usable model level by level."""
import numpy as np
import pytest

from lib.landmarks.inputs import CropSpec, LevelSlice, make_inputs
from lib.landmarks.model import LandmarkModel, save_weights
from lib.landmarks.network import landmark_unet
from lib.pipeline.run_stage1 import Stage1Runner, level_slices

from .synthetic import axial_geometries, synthetic_volumes, write_work_image


@pytest.fixture(scope="module")
def stage1(tmp_path_factory):
    geometries = axial_geometries(flip_rows=True, spacing=(0.9, 1.1))
    image, labels = synthetic_volumes(geometries)
    path = write_work_image(tmp_path_factory.mktemp("work"), "s1", geometries, image)
    return path, labels, Stage1Runner().run(path, label=labels)


def test_level_slice_from_the_document_equals_a_fresh_measurement(stage1):
    _, _, out = stage1
    for fast in level_slices(out.document, out.image, out.labels, out.series):
        k = fast.slice_index
        fresh = LevelSlice.from_arrays(fast.level, k, out.image[:, :, k].T, out.labels[:, :, k].T,
                                       out.series.geometries[k])
        for axis in ("origin_lps_mm", "ap", "lateral", "superior"):
            assert np.allclose(getattr(fast.frame, axis), getattr(fresh.frame, axis), atol=1e-9)
        for name, point in fresh.rule_points.items():
            assert np.allclose(fast.rule_points[name], point)
        spec = CropSpec(size_px=32)
        np.testing.assert_allclose(make_inputs(fast, spec.grid(fast), spec), make_inputs(fresh, spec.grid(fresh), spec),
                                   atol=1e-5)


def test_runner_uses_a_given_model_and_keeps_the_rules_beside(stage1, tmp_path):
    path, labels, rules_only = stage1
    spec = CropSpec(size_px=32, spacing_mm=2.0)
    save_weights(tmp_path / "landmarks.pt", landmark_unet(spec.in_channels), spec)
    model = LandmarkModel.load(tmp_path / "landmarks.pt", min_confidence=0.0, max_shift_from_rules_mm=1e6)
    out = Stage1Runner(landmarks=model).run(path, label=labels)
    assert out.document["landmark_source"] == "model"
    assert all(e["landmark_source"] == "model" for e in out.document["levels"].values())
    assert out.rule_landmarks == rules_only.rule_landmarks
    entry = out.document["levels"]["L3-L4"]
    assert entry["landmarks_lps_mm"]["dural_sac_centroid"] == rules_only.document["levels"]["L3-L4"][
        "landmarks_lps_mm"]["dural_sac_centroid"]

    strict = LandmarkModel.load(tmp_path / "landmarks.pt", min_confidence=1.01)  # an untrained model is never sure
    out = Stage1Runner(landmarks=strict).run(path, label=labels)
    assert out.document["landmark_source"] == "rules"
    assert all("low confidence" in e["landmark_fallback"] for e in out.document["levels"].values())
    assert out.document["levels"]["L3-L4"]["landmarks_lps_mm"] == rules_only.document["levels"]["L3-L4"][
        "landmarks_lps_mm"]
