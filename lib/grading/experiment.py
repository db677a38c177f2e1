"""Train stage 2 on phantom studies and measure it on held-out ones (stage 1 taken from the phantom truth).

    python -m lib.grading.experiment --train DIR_A --test DIR_B --model-dir M [--conf grading_epochs 8 ...]

``DIR_A``/``DIR_B``: phantom datasets (``DIR/dicom/<id>``, ``DIR/truth/<id>.json``), generated when absent with
``--n-train``/``--n-test`` studies and different seeds. Writes the models into ``M`` and ``M/evaluation/`` (metrics
JSON, confusion matrices, ROC curves). Grading uses the truth landmarks and measurements, so this measures stage 2
alone; the full pipeline (stage 1 predicted) is measured by ``scripts/evaluate.py``.
"""
from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from lib.grading.dataset import phantom_samples
from lib.grading.evaluation import evaluate_grades, write_figures
from lib.grading.grade import GradingModels, grade_study

logger = logging.getLogger(__name__)


def evaluate_on_samples(samples, models: GradingModels) -> tuple[dict, float]:
    """Grade every sample and compare with its labels; returns (metrics, mean seconds per study)."""
    pairs, seconds = [], []
    for s in samples:
        start = time.perf_counter()
        grades = grade_study(s.series, s.stage1, models)
        seconds.append(time.perf_counter() - start)
        pairs += [(grades["levels"][lv], s.grades[lv]) for lv in grades["levels"] if lv in s.grades]
    return evaluate_grades(pairs, models.threshold), sum(seconds) / max(len(seconds), 1)


def _ensure(data_dir: Path, n: int, seed: int) -> None:
    if not any((data_dir / "truth").glob("*.json")):
        import os

        from lib.phantom import PhantomConfig, generate_dataset

        generate_dataset(data_dir, n, seed, PhantomConfig(workers=os.cpu_count() or 1))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train", type=Path, required=True)
    p.add_argument("--test", type=Path, required=True)
    p.add_argument("--model-dir", type=Path, required=True)
    p.add_argument("--n-train", type=int, default=40)
    p.add_argument("--n-test", type=int, default=20)
    p.add_argument("--skip-training", action="store_true", help="evaluate the models already in --model-dir")
    p.add_argument("--conf", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"))
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from lib.grading.fit import fit_canal_tree, fit_classifiers, split_studies
    from lib.grading.model_files import load_grading_models
    from lib.grading.settings import GradingSettings

    settings = GradingSettings.from_conf(dict(args.conf))
    _ensure(args.train, args.n_train, 101)
    _ensure(args.test, args.n_test, 202)
    start = time.time()
    if not args.skip_training:
        train, val = split_studies(phantom_samples(args.train), settings.val_fraction)
        fit_canal_tree(train, val, args.model_dir, settings)
        fit_classifiers(train, val, args.model_dir, settings, progress=logger.info)
    trained_s = time.time() - start
    metrics, per_study = evaluate_on_samples(phantom_samples(args.test), load_grading_models(args.model_dir))
    out = args.model_dir / "evaluation"
    write_figures(metrics, out)
    summary = {"train_data": str(args.train), "test_data": str(args.test), "settings": settings.__dict__,
               "training_seconds": round(trained_s, 1), "grading_seconds_per_study": round(per_study, 3),
               "canal_kappa_bit": metrics["canal_bit"]["kappa_linear"],
               "canal_kappa_tree": metrics["canal_tree"]["kappa_linear"],
               "foramen_auroc": metrics["foramen"]["auroc"], "facet_auroc": metrics["facet"]["auroc"],
               "metrics": {k: {kk: vv for kk, vv in v.items() if kk != "roc"} for k, v in metrics.items()}}
    (out / "metrics.json").write_text(json.dumps(summary, indent=1, default=str))
    print(json.dumps({k: v for k, v in summary.items() if k not in ("metrics", "settings")}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
