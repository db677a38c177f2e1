"""POST /train/canal_tree through the real app learns from stage 1 as served: with the shipped V-Net in the model
folder, the tree's rows come from running stage 1 on each labelled study's image, and its card says so."""
from __future__ import annotations

import json
import shutil

import pytest

from tests.app.conftest import REPO, TINY_CONF, make_client
from tests.app.test_grading_hook import TINY_GRADING, put_truth_label

SHIPPED_WEIGHTS = REPO / "model" / "segmentation.pt"


@pytest.mark.skipif(not SHIPPED_WEIGHTS.exists(), reason="the shipped V-Net weights are not in this checkout")
def test_the_tree_learns_from_the_measurements_the_served_v_net_gives(phantom_data, tmp_path):
    studies = tmp_path / "studies"
    shutil.copytree(phantom_data / "dicom", studies)
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    for name in ("segmentation.pt", "segmentation.card.json"):
        shutil.copy(REPO / "model" / name, model_dir / name)
    version = json.loads((model_dir / "segmentation.card.json").read_text())["date"]
    with make_client(studies, model_dir, {**TINY_CONF, **TINY_GRADING}) as client:
        ids = sorted(client.get("/datastore/?output=all").json()["objects"])
        for study in ids:
            put_truth_label(client, phantom_data, study)
        r = client.post("/train/canal_tree?run_sync=true", json={"device": "cpu"})
        assert r.status_code == 200, r.text[:1000]
    card = json.loads((model_dir / "canal_tree.card.json").read_text())
    measurements = card["settings"]["measurements"]
    assert measurements.startswith(f"served: stage 1 with segmentation {version} "), measurements
    assert f"({len(ids)} studies run, 0 reused from image info, 0 failed, 0 with no level" in measurements
    assert card["data"]["train_levels"] > 0
