"""The post-infer hook: after segmentation or landmark inference (single or batch), grade the study.

MONAI Label 0.8.5 has no post-infer hook by name; ``SpineApp.infer`` calls :meth:`GradingHook.after_infer` on every
result (batch inference goes through ``infer`` too). Grading runs stage 2 (``lib.infers.grading.GradingStage``) on
the stage 1 document of that inference, then attaches the grades to the study: the result JSON (``params.grades``),
the datastore's image info (``grading``), and ``grades.json``, the DICOM SR and the HTML report on disk.
A grading failure never fails the inference: the result says why grading was skipped.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

import numpy as np

from lib.dicom import read_label_nifti
from lib.infers.grading import GradingStage
from lib.pipeline.run_stage1 import Stage1Runner, image_id_of

logger = logging.getLogger(__name__)

#: Models whose results carry a stage 1 (segmentation mask or stage 1 document) that grading can start from.
STAGE1_MODELS = ("segmentation", "landmarks")

#: Keys of a landmarks result that are not part of the stage 1 document.
_RESULT_ONLY_KEYS = ("slicer_markups", "label_names", "latencies", "centroids")


class GradingHook:
    """Grades a study from the stage 1 output of an inference and attaches the grades (see module docstring)."""

    def __init__(self, stage: GradingStage, landmarks: Any = None, segmentation: Any = None,
                 datastore: Callable[[], Any] | None = None):
        self.stage = stage
        self.landmarks = landmarks  # LandmarkModelFile or None (rules)
        self.segmentation = segmentation
        self.datastore = datastore

    def after_infer(self, request: dict, result: dict, datastore: Any) -> dict:
        """Grade after a stage 1 model; return ``result`` with ``params.grades`` or ``params.grading_skipped``."""
        model = request.get("model")
        if model not in STAGE1_MODELS or str(request.get("grade", "true")).lower() == "false":
            return result
        params = result.setdefault("params", {}) or {}
        result["params"] = params
        reason = self._cannot_grade(datastore)
        if reason:
            params["grading_skipped"] = reason
            return result
        image_id = str(request["image"])
        try:
            series, document, labels = self._stage1(model, image_id, result, datastore)
            params["grades"] = self.stage.run(image_id, series, document, datastore, labels)
        except Exception as e:  # noqa: BLE001 - the inference itself succeeded; say why grading did not
            logger.exception(f"grading of study {image_id} after {model} failed")
            params["grading_skipped"] = f"grading failed for study {image_id}: {e}"
        return result

    def _cannot_grade(self, datastore: Any) -> str | None:
        if not hasattr(datastore, "sidecar"):
            return "grading needs the slice geometry of a DICOM study (a folder of DICOM studies as --studies)"
        if not self.stage.is_ready():
            return "stage 2 models are not trained yet (make models, or POST /train/grading and /train/canal_tree)"
        return None

    def _stage1(self, model: str, image_id: str, result: dict, datastore: Any):
        from lib.grading.datastore_samples import work_series

        series = work_series(datastore, image_id)
        if model == "landmarks":
            document = {k: v for k, v in result["params"].items() if k not in _RESULT_ONLY_KEYS}
            return series, document, None
        labels = read_label_nifti(result["file"])[0] if result.get("file") else None
        if labels is None:
            raise ValueError("the segmentation returned no label file")
        runner = Stage1Runner(segmentation=None, landmarks=self.landmarks)
        out = runner.run(datastore.get_image_uri(image_id), label=np.asarray(labels))
        return series, out.document, out.labels

    def stage1_for_grading(self, request: dict):
        """``/infer/grading``'s stage 1 on the request's image.

        A study with a final (annotator-corrected) mask is graded from that mask, as a radiologist would grade the
        corrected outlines; otherwise the V-Net segments it. ``use_final_label=false`` forces the V-Net.
        """
        from lib.grading.datastore_samples import work_series

        datastore = self.datastore()
        image_path = request["image"]
        image_id = image_id_of(image_path)
        final = None
        if str(request.get("use_final_label", "true")).lower() != "false":
            final = datastore.get_label_uri(image_id, "final") or None
        runner = Stage1Runner(segmentation=self.segmentation, landmarks=self.landmarks)
        out = runner.run(image_path, label=final)
        out.document["stage1_source"] = "final label" if final else "segmentation model"
        return image_id, work_series(datastore, image_id), out.document, out.labels
