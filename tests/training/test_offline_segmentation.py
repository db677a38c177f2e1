"""The offline V-Net trainer (lib/training/offline_segmentation.py) on two tiny phantom studies, on the CPU."""
from __future__ import annotations

import json
import shutil

import pytest
import torch

from lib.networks import segmentation_vnet
from lib.training.offline_segmentation import OfflineRunSettings, phantom_datalist, train_segmentation_offline
from lib.training.segmentation_recipe import SegmentationTrainSettings


@pytest.fixture(scope="module")
def phantoms(tmp_path_factory):
    from lib.phantom import PhantomConfig, generate_dataset

    out = tmp_path_factory.mktemp("offline_phantoms")
    generate_dataset(out, 2, 23, PhantomConfig(workers=1))
    return out


def test_datalist_pairs_each_ingested_study_with_its_truth_and_skips_an_unreadable_one(phantoms, tmp_path, caplog):
    data = tmp_path / "data"
    shutil.copytree(phantoms, data)
    broken = data / "dicom" / "broken_study"
    broken.mkdir()
    (broken / "IM0001.dcm").write_bytes(b"not a dicom file")
    (data / "truth" / "broken_study_labels.nii.gz").write_bytes(b"")
    pairs = phantom_datalist(data, tmp_path / "work")
    assert [p["study_id"] for p in pairs] == ["phantom_0000", "phantom_0001"]
    assert all((tmp_path / "work" / "images" / f"{p['study_id']}.nii.gz").exists() for p in pairs)
    assert "broken_study" in caplog.text


def test_training_changes_the_weights_and_writes_a_card_the_server_can_load(phantoms, tmp_path):
    init = tmp_path / "init.pt"
    torch.save(segmentation_vnet().state_dict(), init)
    datalist = phantom_datalist(phantoms, tmp_path / "work")
    settings = SegmentationTrainSettings(crop_px=64, crops_per_image=2, learning_rate=1e-2)
    run = OfflineRunSettings(batch_images=1, workers=0, max_minutes=0.05, warmup_steps=1, val_every_steps=1000,
                             val_fraction=0.5, save_half=True)
    model_path = tmp_path / "model" / "segmentation.pt"
    best = train_segmentation_offline(datalist, model_path, settings, run, init_path=init)

    state = torch.load(model_path, weights_only=True)
    assert all(v.dtype == torch.float16 for v in state.values() if v.is_floating_point())
    network = segmentation_vnet()
    network.load_state_dict(state)  # strict: the server's infer task loads it the same way
    before = torch.load(init, weights_only=True)
    assert any(not torch.allclose(before[k].float(), state[k].float(), atol=1e-3) for k in before if "weight" in k)

    card = json.loads((tmp_path / "model" / "segmentation.card.json").read_text())
    assert card["model"] == "segmentation" and card["data"]["train_studies"] == 1 and card["data"]["val_studies"] == 1
    assert 0.0 <= card["validation"]["dice_dural_sac"] <= 1.0 and best["step"] >= 1
    assert card["validation"]["steps"] >= 1


def test_make_models_leaves_present_weights_alone(tmp_path):
    from lib.training.train_all import train_models

    (tmp_path / "segmentation.pt").write_bytes(b"shipped")
    # No datastore is needed when nothing is trained: a model with its weights present is skipped.
    assert train_models(None, tmp_path, {"models": "segmentation"}, skip_existing=True) == {}
    assert (tmp_path / "segmentation.pt").read_bytes() == b"shipped"
