"""Agreement of predicted grades with truth: linearly weighted kappa (canal), AUROC (foramen, facet), confusion matrices
and ROC curves as PNG. scikit-learn metrics, no hand-written ones.

Inputs are grades.json-form predictions and grade labels (``lib.grading.labels`` form) per study and level:
``pairs = [(predicted_level_dict, truth_level_dict), ...]``. A level or field missing on either side is skipped.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import numpy as np
from sklearn.metrics import cohen_kappa_score, confusion_matrix, roc_auc_score, roc_curve

from lib.grading.labels import BINARY_FIELDS, CANAL_VALUES


def canal_agreement(truth: list[str], predicted: list[str]) -> dict[str, Any]:
    """Linearly weighted kappa, exact accuracy and the 4x4 confusion matrix (rows truth, columns prediction)."""
    t = [CANAL_VALUES.index(g) for g in truth]
    p = [CANAL_VALUES.index(g) for g in predicted]
    labels = list(range(len(CANAL_VALUES)))
    kappa = float(cohen_kappa_score(t, p, weights="linear", labels=labels)) if len(set(t) | set(p)) > 1 else None
    return {
        "n": len(t),
        "kappa_linear": kappa,
        "accuracy": float(np.mean(np.equal(t, p))) if t else None,
        "confusion": confusion_matrix(t, p, labels=labels).tolist(),
    }


def binary_agreement(truth: list[bool], probability: list[float], threshold: float = 0.5) -> dict[str, Any]:
    """AUROC (None when truth has one class only), accuracy at ``threshold``, 2x2 confusion and the ROC curve."""
    t = np.asarray(truth, int)
    p = np.asarray(probability, float)
    both = len(set(t.tolist())) == 2
    fpr, tpr, _ = roc_curve(t, p) if both else (np.array([]), np.array([]), None)
    return {
        "n": int(len(t)),
        "auroc": float(roc_auc_score(t, p)) if both else None,
        "accuracy": float(np.mean(t == (p >= threshold))) if len(t) else None,
        "confusion": confusion_matrix(t, (p >= threshold).astype(int), labels=[0, 1]).tolist(),
        "roc": {"fpr": fpr.tolist(), "tpr": tpr.tolist()},
    }


def evaluate_grades(pairs: Iterable[tuple[dict, dict]], threshold: float = 0.5) -> dict[str, Any]:
    """Per task agreement over (predicted level, truth level) pairs: ``canal_bit``, ``canal_tree``, ``foramen``,
    ``facet`` (left and right pooled)."""
    canal_t, canal_bit, canal_tree = [], [], []
    binary: dict[str, tuple[list, list]] = {"foramen": ([], []), "facet": ([], [])}
    for pred, truth in pairs:
        if "central_canal" in truth and "central_canal" in pred:
            canal_t.append(truth["central_canal"])
            canal_bit.append(pred["central_canal"]["grade"])
            canal_tree.append(pred["central_canal"]["tree_grade"])
        for field in BINARY_FIELDS:
            if field in truth and field in pred:
                t, p = binary[field.split("_")[0]]
                t.append(bool(truth[field]))
                p.append(float(pred[field]["probability"]))
    return {
        "canal_bit": canal_agreement(canal_t, canal_bit),
        "canal_tree": canal_agreement(canal_t, canal_tree),
        **{k: binary_agreement(t, p, threshold) for k, (t, p) in binary.items()},
    }


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_confusion(confusion: list[list[int]], class_names, title: str, path: str | Path) -> Path:
    plt = _pyplot()
    cm = np.asarray(confusion)
    fig, ax = plt.subplots(figsize=(4.2, 3.8), dpi=110)
    ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center", color="white" if v > cm.max() / 2 else "black")
    ax.set_xticks(range(len(class_names)), class_names, rotation=30)
    ax.set_yticks(range(len(class_names)), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("truth")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def plot_roc(curves: dict[str, dict], path: str | Path, title: str = "ROC") -> Path:
    """``curves``: name -> binary_agreement result (uses its ``roc`` and ``auroc``)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.2, 4.0), dpi=110)
    for name, result in curves.items():
        if result.get("auroc") is not None:
            ax.plot(result["roc"]["fpr"], result["roc"]["tpr"], label=f"{name} (AUROC {result['auroc']:.3f})")
    ax.plot([0, 1], [0, 1], ls=":", color="grey")
    ax.set_xlabel("1 - specificity")
    ax.set_ylabel("sensitivity")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def write_figures(results: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """Confusion matrices of both canal graders and of foramen/facet, plus one ROC figure, into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [
        plot_confusion(results[k]["confusion"], CANAL_VALUES, f"central canal, {k.split('_')[1]}",
                       out / f"confusion_{k}.png")
        for k in ("canal_bit", "canal_tree")
    ]
    for k in ("foramen", "facet"):
        paths.append(plot_confusion(results[k]["confusion"], ["normal", "abnormal"], k, out / f"confusion_{k}.png"))
    paths.append(plot_roc({k: results[k] for k in ("foramen", "facet")}, out / "roc_foramen_facet.png"))
    return paths


#: The reference system's stage 2 figures (Bharadwaj et al. 2023; ../shared/domain.md) and this issue's targets.
REFERENCE = {"canal_bit": ("kappa_linear", 0.54, 0.80), "canal_tree": ("kappa_linear", 0.80, 0.85),
             "foramen": ("auroc", 0.92, 0.95), "facet": ("auroc", 0.93, 0.95)}
TASK_NAMES = {"canal_bit": "central canal, 4 grades, BiT", "canal_tree": "central canal, 4 grades, decision tree",
              "foramen": "foraminal stenosis, binary", "facet": "facet arthropathy, binary"}


def markdown_table(results: dict[str, Any]) -> str:
    """Stage 2 results beside the reference system's figures and the targets."""
    lines = ["| task | metric | ours | reference (UCSF, real MRI) | target (phantoms) | n |", "|---|---|---|---|---|---|"]
    for key, (metric, reference, target) in REFERENCE.items():
        value = results[key].get(metric)
        shown = f"{value:.3f}" if value is not None else "n/a"
        lines.append(f"| {TASK_NAMES[key]} | {metric.replace('_', ' ')} | {shown} | {reference:.2f} | >= {target:.2f} "
                     f"| {results[key]['n']} |")
    return "\n".join(lines)


def stage2_metrics(cases: list[dict], model_dir: str | Path, out_dir: str | Path | None = None) -> dict | None:
    """Hook of ``scripts/evaluate.py``: grade each case (``series``, ``stage1`` document, ``truth`` JSON) with the
    models of ``model_dir`` and compare with the truth grades. Returns ``{"metrics", "markdown"}``, or None when the
    stage 2 models are not trained. ``out_dir``: also write the confusion matrices and ROC curves there."""
    from lib.grading.dataset import labels_from_truth
    from lib.grading.grade import grade_study
    from lib.grading.model_files import load_grading_models, missing_models

    if missing_models(model_dir):
        return None
    models = load_grading_models(model_dir)
    pairs = []
    for case in cases:
        grades = grade_study(case["series"], case["stage1"], models)
        truth = labels_from_truth(case["truth"])
        pairs += [(grades["levels"][lv], truth[lv]) for lv in grades["levels"] if lv in truth]
    results = evaluate_grades(pairs, models.threshold)
    if out_dir is not None:
        write_figures(results, out_dir)
    metrics = {k: {kk: vv for kk, vv in v.items() if kk != "roc"} for k, v in results.items()}
    return {"metrics": metrics, "markdown": markdown_table(results)}
