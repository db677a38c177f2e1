"""Evaluate stage 1 on phantom studies with truth: ``python scripts/evaluate.py --data DIR --out REPORT_DIR``.

``DIR`` is a phantom dataset (``DIR/dicom/<id>/``, ``DIR/truth/<id>.json``, ``DIR/truth/<id>_labels.nii.gz``; use
studies the models were NOT trained on). Each study goes through ingestion and stage 1 with the models of
``--model-dir``, exactly as ``scripts/grade.py`` runs it; stage 1 is also run on the truth masks, which separates
the segmentation's errors from the landmarks' and the measurements'. Landmarks are reported for the learned model
(its raw points, whenever weights exist, whatever its card decides), the rules, and what the result reports
("final"). Figures: lib/pipeline/evaluation.py.

Writes ``REPORT_DIR/evaluation.json`` (summary, per-study and per-level records), ``REPORT_DIR/evaluation.md`` (tables
beside the reference system's figures) and PNG overlays of the worst levels by landmark error:
``worst_<n>_<study>_<level>.png`` (stage 1 as it runs) and ``worst_truth_masks_<n>_...png`` (from the truth masks).
Stage 2 (kappa, AUROC, confusion matrices, ROC curves) comes from lib.grading.evaluation.stage2_metrics, on the
predicted stage 1 (what a user gets) and on stage 1 from the truth masks (the grading models alone).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("MONAI_LABEL_TRACKING_ENABLED", "false")

logger = logging.getLogger("evaluate")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True, help="phantom dataset with truth (DIR/dicom, DIR/truth)")
    p.add_argument("--out", type=Path, required=True, help="report folder")
    p.add_argument("--model-dir", type=Path, default=Path("model"))
    p.add_argument("--limit", type=int, default=0, help="evaluate only the first N studies (0 = all)")
    p.add_argument("--worst", type=int, default=6, help="PNG overlays of this many worst levels")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--conf", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"))
    return p.parse_args(argv)


def model_points(out, model) -> dict:
    """The learned model's raw points per level of a Stage1Output (None when there is no model)."""
    from lib.pipeline.run_stage1 import level_slices

    if model is None:
        return None
    slices = level_slices(out.document, out.image, out.labels, out.series, out.rule_landmarks)
    return {s.level: p.points for s, p in zip(slices, model.predict_many(slices))}


def evaluate_study(study_id: str, data: Path, runner, model, tmp: Path):
    """(StudyEvaluation, StudyEvaluation on truth masks, level views for overlays, stage 2 cases: [predicted
    stage 1, stage 1 from the truth masks])."""
    from lib.datastore.work_images import write_work_image
    from lib.dicom import load_axial_series, read_label_nifti
    from lib.pipeline.evaluation import LABELS, StudyEvaluation, dice, evaluate_levels

    truth = json.loads((data / "truth" / f"{study_id}.json").read_text())
    truth_labels = read_label_nifti(data / "truth" / f"{study_id}_labels.nii.gz")[0]
    start = time.perf_counter()
    series = load_axial_series(data / "dicom" / study_id, study_id=study_id)
    work = write_work_image(series, tmp / "images", tmp / "geometry", signature="")
    ingest_s = time.perf_counter() - start
    out = runner.run(work.image_path)
    evaluations, views, documents = [], [], []
    for labels, stage1 in ((out.labels, out), (truth_labels, runner.run(work.image_path, label=truth_labels))):
        documents.append(stage1.document)
        ev = StudyEvaluation(study_id, {n: dice(labels, truth_labels, v) for n, v in LABELS.items()},
                             missing=dict(stage1.document["missing_levels"]))
        ev.levels = evaluate_levels(stage1.document, truth, stage1.series.geometries, stage1.rule_landmarks,
                                    model_points(stage1, model))
        evaluations.append(ev)
        views.append([_view(study_id, r, stage1, truth) for r in ev.levels])
    evaluations[0].seconds = {"ingest": ingest_s, **out.timings}
    cases = [{"study_id": study_id, "series": series, "stage1": document, "truth": truth} for document in documents]
    return evaluations[0], evaluations[1], views, cases


def _view(study_id: str, record: dict, out, truth: dict):
    from lib.pipeline.evaluation_report import LevelView

    k = record["slice_index"]
    entry = out.document["levels"][record["level"]]
    sources = {"final": entry["landmarks_lps_mm"], "rules": out.rule_landmarks.get(record["level"], {})}
    worst = max((e["inplane_mm"] for e in record["points"]["final"].values()), default=0.0)
    return LevelView(study_id, record["level"], out.image[:, :, k].T, out.labels[:, :, k].T,
                     out.series.geometries[k], truth["levels"][record["level"]]["landmarks_lps_mm"], sources, worst)


def main(argv=None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    import torch

    from lib.grading.evaluation import stage2_metrics
    from lib.landmarks.model import LandmarkModel
    from lib.pipeline.evaluation import summarise
    from lib.pipeline.evaluation_report import markdown, overlay_png, write_json

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from grade import stage1_runner

    torch.set_num_threads(args.threads)
    runner = stage1_runner(args.model_dir, dict(args.conf))
    weights = args.model_dir / "landmarks.pt"
    model = LandmarkModel.load(weights) if weights.exists() else None
    study_ids = sorted(p.name[:-5] for p in (args.data / "truth").glob("*.json"))
    study_ids = [s for s in study_ids if (args.data / "dicom" / s).is_dir()][: args.limit or None]
    if not study_ids:
        print(f"no studies with truth under {args.data}", file=sys.stderr)
        return 2
    studies, on_truth, views, truth_views, cases, truth_cases, failed = [], [], [], [], [], [], {}
    with tempfile.TemporaryDirectory(prefix="evaluate_") as tmp:
        for i, study_id in enumerate(study_ids):
            try:
                ev, ev_truth, v, (case, truth_case) = evaluate_study(study_id, args.data, runner, model, Path(tmp))
            except Exception as e:  # noqa: BLE001 - report the study, evaluate the others
                failed[study_id] = f"{type(e).__name__}: {e}"
                continue
            studies.append(ev), on_truth.append(ev_truth), views.extend(v[0]), truth_views.extend(v[1])
            cases.append(case), truth_cases.append(truth_case)
            print(f"[{i + 1}/{len(study_ids)}] {study_id}: dice {ev.dice}, {len(ev.levels)} levels, "
                  f"{sum(ev.seconds.values()):.1f} s", flush=True)
    summary = summarise(studies)
    summary_truth = summarise(on_truth)
    # Stage 2 on the predicted stage 1 (what a user gets) and on the truth masks (the grading models alone).
    stage2 = stage2_metrics(cases, args.model_dir, args.out)
    stage2_truth = stage2_metrics(truth_cases, args.model_dir, args.out / "on_truth_masks")
    if stage2 and stage2_truth:
        stage2["markdown"] += ("\n\nThe same grading models on stage 1 from the truth masks:\n\n"
                               + stage2_truth["markdown"])
    report = {"summary": summary, "on_truth_masks": summary_truth, "stage2": (stage2 or {}).get("metrics"),
              "stage2_on_truth_masks": (stage2_truth or {}).get("metrics"),
              "failed": failed, "landmark_model_used_by_results": runner.landmark_model()[1],
              "studies": [vars(s) for s in studies]}
    write_json(args.out / "evaluation.json", report)
    (args.out / "evaluation.md").write_text(markdown(summary, summary_truth, stage2))
    for prefix, level_views in (("worst", views), ("worst_truth_masks", truth_views)):
        for n, view in enumerate(sorted(level_views, key=lambda v: -v.score_mm)[: args.worst]):
            overlay_png(view, args.out / f"{prefix}_{n}_{view.study_id}_{view.level}.png")
    print((args.out / "evaluation.md").read_text())
    return 0 if studies else 2


if __name__ == "__main__":
    raise SystemExit(main())
