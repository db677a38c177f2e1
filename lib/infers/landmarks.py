"""Infer task ``landmarks``: stage 1 of a study (segmentation -> levels -> measurements -> facets and foramina).

Takes the ``segmentation`` infer task as a collaborator (constructor argument, like the radiology app's
``InferVertebraPipeline(task_loc_spine=...)``) and runs lib/pipeline/run_stage1.py. ``POST /infer/landmarks?image=ID``
returns

* the label map (file): small discs (``label_radius_mm``, in-plane, on each level's mid-disc slice) valued
  facet_left=1, facet_right=2, foramen_left=3, foramen_right=4, on the work image's grid, so OHIF and Slicer show
  it over the series like a segmentation; ``params`` ``result_extension`` / ``result_dtype`` are honoured (OHIF asks
  for .nrrd);
* the result JSON (``params``): the stage 1 document (``study_uid``, ``series_uid``, ``models``, ``levels`` with every
  level's ``landmarks_lps_mm`` (LPS mm), ``measurements``, ``slice_sop_uid``, ``slice_index``, ``landmark_source``),
  ``missing_levels`` (level -> reason), ``landmark_source`` and ``landmark_model`` (why model or rules),
  ``slicer_markups`` (3D Slicer markups JSON, Fiducials in LPS labelled "L4-L5 facet_left"), ``label_names``.

How to get each alone: ``output=json`` returns only the result JSON (``slicer_markups`` inside it is a complete
markups document); ``output=image`` only the label map; with ``params={"result_file": "markups"}`` the returned file
is the Slicer markups document itself (``.mrk.json``), so ``output=image`` downloads it and Slicer opens it as a point
list (``slicer.util.loadMarkups``).

Optional request keys: ``label`` (path of an existing label, e.g. the final label: segmentation is then not run),
``pipeline_mode`` / ``skip_writer`` (return ``(None, {"stage1": Stage1Output, "result": result JSON,
"landmark_map": array})`` for a later stage such as grading).

Bad input (unknown image id, missing file, a single slice, a non-axial series, a label of the wrong size) does not
raise: the result JSON carries ``error`` (why), no levels, every level in ``missing_levels`` with that reason, and no
label file. A series without a spine gives an empty label map and every level missing with the reason.
"""
from __future__ import annotations

import copy
import json
import logging
import tempfile
import time
from typing import Any, Callable, Sequence

import numpy as np
from monailabel.interfaces.tasks.infer_v2 import InferTask, InferType
from monailabel.tasks.infer.basic_infer import BasicInferTask
from monailabel.transform.writer import Writer
from monailabel.utils.others.generic import name_to_device

from lib.landmarks.exports import LANDMARK_LABELS, landmark_label_map, slicer_markups
from lib.landmarks.model import LandmarkModelFile
from lib.landmarks.settings import LandmarksSettings
from lib.pipeline.run_stage1 import Stage1Error, Stage1Output, Stage1Runner
from lib.spine.levels import LEVELS

logger = logging.getLogger(__name__)

MARKUPS_EXTENSION = ".mrk.json"


class Landmarks(BasicInferTask):
    """Stage 1 with facet and foramen landmarks: JSON points, a label map for OHIF, Slicer markups."""

    def __init__(self, segmentation: InferTask, model_file: LandmarkModelFile, settings: LandmarksSettings,
                 **kwargs):
        super().__init__(
            path=None,
            network=None,
            type=InferType.SEGMENTATION,
            labels=dict(LANDMARK_LABELS),
            dimension=3,
            description="Facet joints and neural foramina per level (LPS mm), with stage 1 measurements",
            load_strict=False,
            **kwargs,
        )
        self.segmentation = segmentation
        self.model_file = model_file
        self.settings = settings

    def pre_transforms(self, data=None) -> Sequence[Callable]:
        return []

    def post_transforms(self, data=None) -> Sequence[Callable]:
        return []

    def is_valid(self) -> bool:
        return True  # the rules answer without weights

    def __call__(self, request, callbacks=None):
        start = time.perf_counter()
        req = copy.deepcopy(self._config)
        req.update(request)
        runner = Stage1Runner(self.segmentation, self.model_file, device=name_to_device(req.get("device", "cpu")))
        try:
            out = runner.run(req.get("image"), label=req.get("label") or None)
        except Stage1Error as e:
            logger.warning(f"landmarks: {req.get('image')!r}: {e}")
            return self._write_empty_label_map(req), error_result(str(e))
        shape = out.labels.shape
        landmark_map = landmark_label_map(out.document, out.series.geometries, shape, self.settings.label_radius_mm)
        result = result_json(out)
        result["latencies"] = {**{k: round(v, 3) for k, v in out.timings.items()},
                               "total": round(time.perf_counter() - start, 3)}
        if req.get("pipeline_mode") or _true(req.get("skip_writer")):
            return None, {"stage1": out, "result": result, "landmark_map": landmark_map}
        if req.get("result_file") == "markups":
            return _write_markups(result["slicer_markups"]), result
        return self._write_label_map(req, landmark_map, out), result

    @staticmethod
    def _write_empty_label_map(req: dict) -> str | None:
        """An all-background label on the work image's grid, so ``output=image`` answers "nothing found" (the JSON
        says why) instead of failing; None when the image itself cannot be read."""
        import nibabel as nib

        try:
            header = nib.load(str(req.get("image")))
        except Exception:  # noqa: BLE001 - unreadable or missing image: the JSON result carries the reason
            return None
        return Landmarks._write(req, np.zeros(header.shape[:3], np.uint8), header.affine)

    @staticmethod
    def _write_label_map(req: dict, landmark_map: np.ndarray, out: Stage1Output) -> str:
        return Landmarks._write(req, landmark_map, out.affine)

    @staticmethod
    def _write(req: dict, label_map: np.ndarray, affine: np.ndarray) -> str:
        """MONAI Label's writer for a label map on the work image's grid (the request's result format, else NIfTI)."""
        data = {"image_path": str(req.get("image")), "pred": label_map,
                "pred_meta_dict": {"affine": affine}, "logging": req.get("logging", "INFO")}
        data.update({k: req[k] for k in ("result_extension", "result_dtype", "result_compress") if req.get(k)})
        data.setdefault("result_extension", ".nii.gz")
        file_name, _ = Writer(label="pred")(data)
        return file_name


def result_json(out: Stage1Output) -> dict:
    """The result JSON of a stage 1 run (see module docstring)."""
    result = copy.deepcopy(out.document)
    result["slicer_markups"] = slicer_markups(out.document)
    result["label_names"] = dict(LANDMARK_LABELS)
    return result


def error_result(reason: str) -> dict:
    """The result JSON of an input stage 1 cannot use: why, no levels, every level missing with that reason."""
    return {
        "error": reason,
        "levels": {},
        "missing_levels": {str(level): reason for level in LEVELS},
        "landmark_source": "none",
        "slicer_markups": slicer_markups({"levels": {}}),
        "label_names": dict(LANDMARK_LABELS),
    }


def _write_markups(markups: dict) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=MARKUPS_EXTENSION, delete=False) as f:
        json.dump(markups, f, indent=1)
        return f.name


def _true(value: Any) -> bool:
    return str(value).lower() in ("1", "true", "yes") if value is not None else False
