"""Stage 2 trainers fit from a handful of studies, save plain state dicts with model cards, and the models load back."""
import json

import pytest
import torch

from lib.grading.dataset import StudySample, crop_examples
from lib.grading.model_files import load_grading_models
from lib.grading.settings import GradingSettings
from lib.grading.structures import Structure
from lib.grading.training import Augmentation, apply_augmentation
from lib.trainers.canal_tree import CanalTree
from lib.trainers.grading import Grading
from tests.grading.synthetic import make_series, stage1_result

SETTINGS = GradingSettings(arch="test_resnet", crop_px=32, epochs=2, batch_size=8, val_fraction=0.3)
CANAL = ["normal", "mild", "moderate", "severe"]


def _samples(n=6):
    out = []
    for i in range(n):
        series = make_series(spacing=0.8 + 0.1 * (i % 3), rotation_deg=3 * i)
        stage1 = stage1_result(series, levels=("L3-L4", "L4-L5"))
        for j, entry in enumerate(stage1["levels"].values()):
            entry["measurements"]["area_ratio"] = 0.2 - 0.04 * ((i + j) % 4)
        grades = {lv: {"central_canal": CANAL[(i + j) % 4], "foramen_left": (i + j) % 2 == 0,
                       "foramen_right": i % 2 == 0, "facet_left": j == 0, "facet_right": i % 3 == 0}
                  for j, lv in enumerate(stage1["levels"])}
        out.append(StudySample(f"study{i}", series, stage1, grades))
    return out


def test_crop_examples_label_each_region():
    examples = crop_examples(_samples(1)[0], SETTINGS.crop_specs())
    assert len(examples) == 10
    assert {e.structure for e in examples} == set(Structure)
    assert all(e.crop.shape == (3, 32, 32) for e in examples)


def test_augmentation_is_deterministic_given_its_parameters():
    import numpy as np

    x = torch.randn(2, 3, 16, 16)
    aug = Augmentation(np.array([0.0, 0.1]), np.zeros((2, 2)), np.ones(2), np.zeros(2), 0.05, 7)
    assert torch.equal(apply_augmentation(x, aug), apply_augmentation(x, aug))
    still = Augmentation(np.zeros(2), np.zeros((2, 2)), np.ones(2), np.zeros(2), 0.0, 7)
    assert torch.allclose(apply_augmentation(x, still), x, atol=1e-5)


def test_trainers_fit_write_cards_and_the_models_load(tmp_path):
    samples = _samples()
    tree_stats = CanalTree(str(tmp_path), SETTINGS, samples=lambda ds: samples)({}, None)
    assert tree_stats["train_studies"] + tree_stats["val_studies"] == 6
    stats = Grading(str(tmp_path), SETTINGS, samples=lambda ds: samples)({}, None)
    assert set(stats["models"]) == {"canal", "foramen", "facet"}
    for name in ("grading_canal", "grading_foramen", "grading_facet"):
        card = json.loads((tmp_path / f"{name}.card.json").read_text())
        assert card["settings"]["architecture"] == "test_resnet" and card["settings"]["crop"]["size_px"] == 32
        assert card["data"]["train_crops"] > 0 and "validation" in card and card["date"]
        torch.load(tmp_path / f"{name}.pt")  # plain state dict: loads with weights_only=True
    assert (tmp_path / "canal_tree.png").exists() and "->" in (tmp_path / "canal_tree.txt").read_text()
    models = load_grading_models(tmp_path)
    assert models.specs[Structure.CANAL].size_px == 32
    assert set(models.versions()) == {"grading_canal", "grading_foramen", "grading_facet", "canal_tree"}


def test_missing_models_are_named(tmp_path):
    from lib.grading.model_files import ModelsNotTrained

    with pytest.raises(ModelsNotTrained, match="grading_canal.*canal_tree"):
        load_grading_models(tmp_path)


def test_grading_structures_retrains_only_the_named_classifiers(tmp_path):
    from dataclasses import replace

    stats = Grading(str(tmp_path), replace(SETTINGS, structures="canal"), samples=lambda ds: _samples())({}, None)
    assert set(stats["models"]) == {"canal"}
    assert (tmp_path / "grading_canal.pt").exists()
    assert not (tmp_path / "grading_foramen.pt").exists() and not (tmp_path / "grading_facet.pt").exists()
    with pytest.raises(ValueError, match="grading_structures"):
        GradingSettings(structures="canal,spleen")
