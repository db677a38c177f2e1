"""Training all stage 2 models from study samples and writing them, with their model cards, into ``model/``.

    summary = fit_canal_tree(samples, model_dir, settings)          # seconds
    summary = fit_classifiers(train, val, model_dir, settings)      # minutes with BiT on 2 cores

Studies are split into train and validation by a stable hash of their id (``split_studies``), so a study never lends
crops to both sides and the split does not change as studies are added.
"""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from lib.grading.bit import save_state_dict
from lib.grading.canal_tree import CanalTree, leaf_size
from lib.grading.dataset import StudySample, crop_examples, tree_rows
from lib.grading.evaluation import canal_agreement
from lib.grading.labels import CANAL_VALUES
from lib.grading.model_files import TREE_NAME, classifier_name, weight_path
from lib.grading.settings import GradingSettings
from lib.grading.structures import Structure
from lib.grading.training import train_classifier
from lib.model_card import write_model_card

logger = logging.getLogger(__name__)


def is_validation(study_id: str, fraction: float) -> bool:
    digest = int(hashlib.sha256(study_id.encode()).hexdigest()[:8], 16)
    return digest / 0xFFFFFFFF < fraction


def split_studies(samples: Iterable[StudySample], fraction: float) -> tuple[list[StudySample], list[StudySample]]:
    """(train, validation) by a stable hash of the study id; at least one training study is kept."""
    samples = list(samples)
    val = [s for s in samples if is_validation(s.study_id, fraction)]
    train = [s for s in samples if not is_validation(s.study_id, fraction)]
    if not train:
        train, val = val[:1], val[1:]
    return train, val


def fit_canal_tree(
    train: Sequence[StudySample], val: Sequence[StudySample], model_dir: str | Path, settings: GradingSettings,
    measurements: str = "",
) -> dict:
    """Fit the canal tree; write canal_tree.joblib, its card, canal_tree.txt and canal_tree.png.

    ``measurements`` says in words where the rows' stage 1 measurements came from (the card keeps it: a tree fit on
    one segmentation model's measurements should be refit when that model is retrained).
    """
    X, y = tree_rows(train)
    if len(y) == 0:
        raise ValueError("no central canal grades to fit the tree on")
    tree = _fit_tree(X, y, settings)
    validation = _tree_validation(tree, val) if val else {}
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    path = tree.save(weight_path(model_dir, TREE_NAME))
    (model_dir / f"{TREE_NAME}.txt").write_text(tree.to_text() + "\n")
    tree.save_png(model_dir / f"{TREE_NAME}.png")
    write_model_card(
        path,
        model=TREE_NAME,
        data={"train_studies": len(train), "train_levels": int(len(y)),
              "train_class_counts": np.bincount(y, minlength=4).tolist(), "val_studies": len(val)},
        settings={"task": "central canal stenosis, 4 grades, from stage 1 measurements",
                  "architecture": "sklearn DecisionTreeClassifier(class_weight=balanced)" + (
                      ", thresholds tuned for linearly weighted kappa" if settings.tree_tune_for_kappa else ""),
                  "features": list(tree.features), "classes": list(CANAL_VALUES),
                  "measurements": measurements or "as given by the caller",
                  "max_depth": settings.tree_max_depth, "min_samples_leaf": tree.classifier.min_samples_leaf,
                  "min_leaf_fraction": settings.tree_min_leaf_fraction,
                  "tuned_for_kappa": settings.tree_tune_for_kappa},
        metrics=validation,
        notes="tree:\n" + tree.to_text(),
    )
    return {"path": str(path), "validation": validation, "measurements": measurements}


def _fit_tree(X: np.ndarray, y: np.ndarray, settings: GradingSettings) -> CanalTree:
    """The canal tree of ``settings`` on rows ``X`` and grade indices ``y``, its smallest leaf sized to the rows."""
    leaf = leaf_size(len(y), settings.tree_min_samples_leaf, settings.tree_min_leaf_fraction)
    return CanalTree.fit(X, y, settings.tree_max_depth, leaf, settings.seed,
                         tune_for_kappa=settings.tree_tune_for_kappa)


def _kappa(truth: np.ndarray, predicted: np.ndarray) -> float | None:
    """Linearly weighted kappa of grade indices (``canal_agreement``)."""
    return canal_agreement([CANAL_VALUES[int(i)] for i in truth], [CANAL_VALUES[int(i)] for i in predicted])[
        "kappa_linear"]


def _tree_validation(tree: CanalTree, val: Sequence[StudySample]) -> dict:
    X, y = tree_rows(val)
    if not len(y):
        return {}
    predicted = [CANAL_VALUES[int(i)] for i in tree.classifier.predict(X)]
    r = canal_agreement([CANAL_VALUES[i] for i in y], predicted)
    return {"kappa_linear": r["kappa_linear"], "accuracy": r["accuracy"], "confusion": r["confusion"], "n": r["n"]}


def fit_classifiers(
    train: Sequence[StudySample],
    val: Sequence[StudySample],
    model_dir: str | Path,
    settings: GradingSettings,
    structures: Sequence[Structure] = tuple(Structure),
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Train one classifier per structure on crops; write grading_<structure>.pt and its card for each."""
    specs = settings.crop_specs()
    train_crops = [e for s in train for e in crop_examples(s, specs)]
    val_crops = [e for s in val for e in crop_examples(s, specs)]
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    summary = {}
    for structure in structures:
        tr = [e for e in train_crops if e.structure is structure]
        va = [e for e in val_crops if e.structure is structure]
        result = train_classifier(structure, tr, va, settings.train_settings(), progress)
        path = save_state_dict(result.model, weight_path(model_dir, classifier_name(structure)))
        spec = specs[structure]
        write_model_card(
            path,
            model=classifier_name(structure),
            data=result.data,
            settings={
                "task": f"{structure.value}: {' / '.join(structure.class_names)}",
                "architecture": settings.arch,
                "pretrained": settings.pretrained or "none (random initialisation)",
                "classes": list(structure.class_names),
                "crop": {"size_px": spec.size_px, "field_mm": spec.field_mm, "step_mm": spec.step_mm,
                         "channels": "inferior neighbour, mid-disc slice, superior neighbour"},
                "train": result.settings,
            },
            metrics={**result.validation, "history": result.history},
            notes="" if structure is Structure.CANAL else "left and right share this model; right crops mirrored",
        )
        summary[structure.value] = {"path": str(path), "validation": result.validation}
        logger.info("trained %s: %s", structure.value, result.validation)
    return summary


def cross_validate_canal_tree(samples: Sequence[StudySample], settings: GradingSettings, folds: int = 5,
                              shuffles: int = 3) -> dict:
    """Linearly weighted kappa of the canal tree in ``folds``-fold cross-validation by study, pooled over all levels,
    once per shuffle of the studies; and the kappa of a tree fit and scored on all levels (the most a tree of this
    depth can reach on these measurements). Small held-out sets swing by several hundredths; this is the steadier
    figure (README "The canal tree")."""
    from sklearn.model_selection import GroupKFold

    per_study = [tree_rows([s]) for s in samples]
    X = np.concatenate([x for x, _ in per_study])
    y = np.concatenate([t for _, t in per_study])
    study = np.concatenate([[i] * len(t) for i, (_, t) in enumerate(per_study)])

    runs = []
    for shuffle in range(shuffles):
        groups = np.random.default_rng(shuffle).permutation(len(per_study))[study]
        predicted = np.zeros_like(y)
        fold_kappas = []
        for train, test in GroupKFold(folds).split(X, y, groups):
            predicted[test] = _fit_tree(X[train], y[train], settings).classifier.predict(X[test])
            fold_kappas.append(_kappa(y[test], predicted[test]))
        runs.append({"kappa_linear": _kappa(y, predicted), "fold_kappas": fold_kappas})
    pooled = [r["kappa_linear"] for r in runs]
    return {"studies": len(per_study), "levels": int(len(y)), "folds": folds,
            "kappa_linear_mean": float(np.mean(pooled)), "kappa_linear_sd": float(np.std(pooled)), "shuffles": runs,
            "in_sample_kappa_linear": _kappa(y, _fit_tree(X, y, settings).classifier.predict(X))}
