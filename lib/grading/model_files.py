"""Where stage 2 models live in ``model/`` and the model card written beside each one.

    model/grading_canal.pt         plain state dict of the canal classifier (likewise grading_foramen, grading_facet)
    model/grading_canal.card.json  its model card (``lib.model_card``): data, settings (architecture, crop geometry,
                                   classes, training), validation metrics and history, date
    model/canal_tree.joblib        the decision tree (plus canal_tree.card.json, canal_tree.txt, canal_tree.png)

The card's settings are the source of truth for rebuilding a classifier (architecture, crop size and field of view),
so weights and the crops they expect cannot drift apart. A model's version is its card's date.
"""
from __future__ import annotations

from pathlib import Path

from lib.grading.bit import load_classifier
from lib.grading.canal_tree import CanalTree
from lib.grading.crops import CropSpec
from lib.grading.grade import Classifier, GradingModels
from lib.grading.structures import Structure
from lib.model_card import card_path, model_version, read_model_card

TREE_NAME = "canal_tree"


class ModelsNotTrained(FileNotFoundError):
    """Raised when a stage 2 model file is absent; the message lists them."""


def classifier_name(structure: Structure) -> str:
    return f"grading_{structure.value}"


def weight_path(model_dir: str | Path, name: str) -> Path:
    return Path(model_dir) / (f"{name}.joblib" if name == TREE_NAME else f"{name}.pt")


def missing_models(model_dir: str | Path) -> list[str]:
    names = [classifier_name(s) for s in Structure] + [TREE_NAME]
    return [n for n in names
            if not weight_path(model_dir, n).is_file() or not card_path(weight_path(model_dir, n)).is_file()]


def load_grading_models(model_dir: str | Path, threshold: float = 0.5) -> GradingModels:
    """All stage 2 models from ``model_dir``; raises ModelsNotTrained naming the absent ones."""
    absent = missing_models(model_dir)
    if absent:
        raise ModelsNotTrained(f"stage 2 models not trained in {model_dir}: missing {absent} (run `make models`)")
    classifiers = {}
    for structure in Structure:
        path = weight_path(model_dir, classifier_name(structure))
        settings = read_model_card(path)["settings"]
        spec = CropSpec(int(settings["crop"]["size_px"]), float(settings["crop"]["field_mm"]))
        model = load_classifier(settings["architecture"], structure.num_classes, path)
        classifiers[structure] = Classifier(structure, model, spec, model_version(path))
    tree_path = weight_path(model_dir, TREE_NAME)
    return GradingModels(classifiers, CanalTree.load(tree_path), model_version(tree_path), threshold)
