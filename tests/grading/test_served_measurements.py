"""The canal tree learns from stage 1 as served: the stored result is reused only when the current segmentation weights
made it, a study stage 1 cannot read or sees no disc in falls back to its final mask, and the setting is checked."""
from __future__ import annotations

import pytest

from lib.grading.datastore_samples import ServedStage1
from lib.grading.settings import GradingSettings
from tests.grading.fake_datastore import FakeDatastore


def _document(version: str, area: float) -> dict:
    return {"models": {"segmentation": version}, "missing_levels": {},
            "levels": {"L4-L5": {"measurements": {"dural_sac_area_mm2": area}}}}


class _Store(FakeDatastore):
    def get_image_uri(self, image_id):
        return f"/work/images/{image_id}.nii.gz"


def test_a_result_stored_by_the_same_weights_is_reused_and_a_stale_one_is_run_again():
    store = _Store({"fresh": {"grading": _document("v2", 101.0)}, "stale": {"grading": _document("v1", 99.0)}})
    ran = []

    def run_stage1(image_path):
        ran.append(image_path)
        return _document("v2", 97.0)

    served = ServedStage1(run_stage1, "v2")
    assert served(store, "fresh")["levels"]["L4-L5"]["measurements"]["dural_sac_area_mm2"] == 101.0
    assert served(store, "stale")["levels"]["L4-L5"]["measurements"]["dural_sac_area_mm2"] == 97.0
    assert ran == ["/work/images/stale.nii.gz"]
    assert served.counts == {"reused": 1, "run": 1, "failed": 0, "no_levels": 0}
    assert "segmentation v2 (1 studies run, 1 reused" in served.describe()


def test_an_unknown_version_is_never_taken_for_the_current_one():
    store = _Store({"s": {"grading": _document("unknown", 101.0)}})
    served = ServedStage1(lambda path: _document("unknown", 90.0), "unknown")
    assert served(store, "s")["levels"]["L4-L5"]["measurements"]["dural_sac_area_mm2"] == 90.0


def test_failures_and_studies_without_levels_give_none_so_the_final_mask_is_used():
    store = _Store({"broken": {}, "empty": {}})

    def run_stage1(image_path):
        if "broken" in image_path:
            raise ValueError("image broken.nii.gz cannot be read as NIfTI")
        return {"models": {"segmentation": "v2"}, "levels": {}, "missing_levels": {"L1-L2": "no disc"}}

    served = ServedStage1(run_stage1, "v2")
    assert served(store, "broken") is None and served(store, "empty") is None
    assert served.counts == {"reused": 0, "run": 1, "failed": 1, "no_levels": 1}


def test_the_measurement_source_setting_is_checked():
    assert GradingSettings.from_conf({"grading_tree_measurements": "final_mask"}).tree_measurements == "final_mask"
    with pytest.raises(ValueError, match="grading_tree_measurements must be one of served, final_mask"):
        GradingSettings(tree_measurements="truth")
