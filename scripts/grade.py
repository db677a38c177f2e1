"""Grade one study without a server: ``python scripts/grade.py --study DICOM_DIR --out result.json``.

Reads the study folder (any nesting and file names; the axial T2 series is found by lib.dicom.load_axial_series),
writes its work image to a temporary folder, runs stage 1 with the trained models of ``--model-dir`` (segmentation
V-Net; the landmark model where its card says it beats the rules, else the rules) and writes ``--out``::

    {"study_uid", "series_uid", "models": {name: version},
     "levels": {"L1-L2": {"measurements": {"dural_sac_area_mm2", "disc_area_mm2", "dural_sac_ap_mm", "disc_ap_mm",
                                           "area_ratio", "ap_ratio"},
                          "landmarks_lps_mm": {"facet_left": [x, y, z], "facet_right", "foramen_left",
                                               "foramen_right", "dural_sac_centroid", "disc_centroid"},
                          "slice_sop_uid", "slice_index", "landmark_source"}, ...},
     "missing_levels": {level: reason}, "landmark_source", "landmark_model", "ignored", "timings_s",
     "grading": "added" | why not}

Coordinates are DICOM LPS mm. Where stage 2 models are trained in ``--model-dir`` (lib.grading), each level also gets
its grades (``central_canal``, ``foramen_left/right``, ``facet_left/right``) and ``models`` their versions.

``--labels-out L.nii.gz`` writes the stage 1 label volume (uint8, 0 background, 1 dural sac, 2 disc; ``[col, row,
slice]``) with the series' true affine (RAS). A contiguous series is one regular volume: one file, ``L.nii.gz``. An
angled series (one block of slices per disc, each block tilted) is not one volume: one file per block,
``L_block0.nii.gz``, ``L_block1.nii.gz`` ... (blocks inferior to superior, slices within a block inferior to
superior), each with that block's exact affine.

A study that cannot be read, or whose series cannot go through stage 1, exits with status 2 and writes
``{"error": reason, "levels": {}, "missing_levels": {every level: reason}}`` to ``--out``.
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

logger = logging.getLogger("grade")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--study", type=Path, required=True, help="folder of one study's DICOM files")
    p.add_argument("--out", type=Path, required=True, help="result JSON to write")
    p.add_argument("--labels-out", type=Path, help="stage 1 label volume(s) as NIfTI (see above for angled series)")
    p.add_argument("--report", type=Path, help="also write the HTML report (report.html + one PNG per level) here")
    p.add_argument("--model-dir", type=Path, default=Path("model"))
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--conf", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"),
                   help="MONAI Label conf, e.g. --conf landmarks_use_model never")
    return p.parse_args(argv)


def stage1_runner(model_dir: Path, conf: dict):
    """A Stage1Runner with the app's segmentation task and landmark model, from ``model_dir``."""
    from lib.configs.landmarks import Landmarks
    from lib.pipeline.run_stage1 import Stage1Runner

    config = Landmarks()
    config.init("landmarks", str(model_dir), conf, None)
    return Stage1Runner(segmentation=config.segmentation_infer(), landmarks=config.model_file, device="cpu")


def run_stage1_on_series(series, model_dir: Path, conf: dict):
    """Write the series' work image to a temporary folder and run stage 1 on it; returns the Stage1Output."""
    from lib.datastore.work_images import write_work_image

    with tempfile.TemporaryDirectory(prefix="grade_") as tmp:
        work = write_work_image(series, Path(tmp) / "images", Path(tmp) / "geometry", signature="")
        return stage1_runner(model_dir, conf).run(work.image_path)


def add_grades(result: dict, series, model_dir: Path) -> str:
    """Stage 2: add each level's grades (lib.grading) to ``result`` in place; returns 'added' or why not."""
    # ---- stage 2 hook: lib.grading.grade_study(series, stage1_result, models) -------------------------------
    try:
        from lib.grading.grade import grade_study
        from lib.grading.model_files import load_grading_models, missing_models
    except ImportError as e:
        return f"not added: stage 2 is not available ({e})"
    absent = missing_models(model_dir)
    if absent:
        return f"not added: stage 2 models not trained in {model_dir} (missing {absent})"
    graded = grade_study(series, result, load_grading_models(model_dir))
    for level, grades in graded["levels"].items():
        result["levels"][level].update(grades)
    result["models"].update(graded["models"])
    result["missing_levels"].update(graded["missing_levels"])
    return "added"


def write_labels(labels, series, path: Path) -> list[Path]:
    """The label volume with the series' true affine: one file, or one per block of an angled series."""
    from lib.dicom import CONTIGUOUS, write_nifti

    if series.acquisition == CONTIGUOUS or len(series.blocks) == 1:
        return [write_nifti(labels, series.stacked_volume()[1], path)]
    stem = path.name[: -len(".nii.gz")] if path.name.endswith(".nii.gz") else path.stem
    suffix = ".nii.gz" if path.name.endswith(".nii.gz") else (path.suffix or ".nii.gz")
    return [write_nifti(labels[:, :, list(block)], affine, path.with_name(f"{stem}_block{b}{suffix}"))
            for b, (_, affine, block) in enumerate(series.block_volumes())]


def error_result(reason: str) -> dict:
    from lib.spine.levels import LEVELS

    return {"error": reason, "levels": {}, "missing_levels": {str(level): reason for level in LEVELS}}


def write_json(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=1))
    os.replace(tmp, path)


def main(argv=None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    import torch

    from lib.dicom import StudyError, load_axial_series
    from lib.pipeline.run_stage1 import Stage1Error

    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    try:
        series = load_axial_series(args.study)
        out = run_stage1_on_series(series, args.model_dir, dict(args.conf))
    except (StudyError, Stage1Error) as e:
        write_json(args.out, error_result(str(e)))
        print(f"error: {e}", file=sys.stderr)
        return 2
    result = dict(out.document)
    result["timings_s"] = {k: round(v, 3) for k, v in out.timings.items()}
    result["grading"] = add_grades(result, series, args.model_dir)
    result["timings_s"]["total"] = round(time.perf_counter() - start, 3)
    write_json(args.out, result)
    written = write_labels(out.labels, series, args.labels_out) if args.labels_out else []
    if args.report:
        from lib.outputs.report import write_report

        written.append(write_report(args.report, result, series, out.labels))
    print(f"{args.study.name}: {len(result['levels'])} level(s), missing {list(result['missing_levels'])}; "
          f"landmarks by {result['landmark_source']}; grades {result['grading']} -> {args.out}"
          + (f"; files -> {', '.join(map(str, written))}" if written else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
