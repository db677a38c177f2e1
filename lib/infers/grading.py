"""Stage 2 after stage 1: grade a study and carry the grades to where people look.

``GradingStage.run(image_id, series, stage1_result, datastore, labels=None)``:
1. grades every level stage 1 found (``lib.grading.grade.grade_study``; BiT classifiers and the canal tree);
2. writes ``grades.json`` (atomically), the DICOM SR (``grades_sr.dcm``, Comprehensive SR, TID 1500) and the HTML
   report with PNG overlays into ``<output_root>/<image_id>/``;
3. stores the grades document in the datastore's image info under ``grading`` (and the output paths under
   ``grading_outputs``), so ``GET /datastore/image/info`` shows them and the trainers can reuse its stage 1 part;
4. returns the grades document (grades.json form), to be put in the infer result's ``params``.

Models are loaded lazily from ``model_dir`` and reloaded when a weight file changes (after a training), so a new
model is used without restarting the server. ``GradingInfer`` wraps the stage as a MONAI Label infer task that first
runs a stage 1 callable (the lead's segmentation + landmarks pipeline).
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
from monailabel.interfaces.tasks.infer_v2 import InferTask, InferType

from lib.grading.datastore_samples import PREDICTED_INFO_KEY
from lib.grading.grade import GradingModels, grade_study
from lib.grading.model_files import TREE_NAME, classifier_name, load_grading_models, weight_path
from lib.grading.settings import GradingSettings
from lib.grading.structures import Structure
from lib.outputs.grades_json import write_grades_json
from lib.outputs.report import write_report
from lib.outputs.sr import write_grades_sr

logger = logging.getLogger(__name__)

OUTPUTS_INFO_KEY = "grading_outputs"


class GradingStage:
    """Grades studies and writes their outputs. Thread-safe model (re)loading."""

    def __init__(self, model_dir: str | Path, settings: GradingSettings, output_root: str | Path | None = None):
        self.model_dir = Path(model_dir)
        self.settings = settings
        self.output_root = Path(output_root) if output_root else None
        self._models: GradingModels | None = None
        self._stamp: tuple | None = None
        self._lock = threading.Lock()

    def _files(self) -> list[Path]:
        return [weight_path(self.model_dir, classifier_name(s)) for s in Structure] + [
            weight_path(self.model_dir, TREE_NAME)]

    def is_ready(self) -> bool:
        return all(p.is_file() for p in self._files())

    def models(self) -> GradingModels:
        """The current models; raises ModelsNotTrained when a file is absent."""
        stamp = tuple(p.stat().st_mtime_ns if p.exists() else 0 for p in self._files())
        with self._lock:
            if self._models is None or stamp != self._stamp:
                self._models = load_grading_models(self.model_dir, self.settings.threshold)
                self._stamp = stamp
            return self._models

    def output_dir(self, image_id: str, datastore: Any = None) -> Path:
        root = self.output_root
        if root is None and datastore is not None and hasattr(datastore, "work_dir"):
            root = Path(datastore.work_dir) / "grading"
        if root is None:
            raise ValueError("GradingStage needs output_root, or a datastore with a work_dir")
        return root / image_id

    def run(self, image_id: str, series: Any, stage1_result: dict, datastore: Any = None,
            labels: np.ndarray | None = None, out_dir: str | Path | None = None) -> dict:
        """Grade one study, write its outputs and store the grades in image info; returns the grades document.

        ``labels``: the stage 1 label volume ``[col, row, k]`` for the report's mask outlines (optional).
        """
        start = time.perf_counter()
        grades = grade_study(series, stage1_result, self.models())
        seconds = {"grade": time.perf_counter() - start}
        out = Path(out_dir) if out_dir else self.output_dir(image_id, datastore)
        outputs = {"grades_json": str(write_grades_json(out / "grades.json", grades))}
        if self.settings.write_sr and grades["levels"]:
            sr_path = out / "grades_sr.dcm"
            outputs["sr"] = self._try("SR", image_id, lambda: str(write_grades_sr(sr_path, grades, series)))
        if self.settings.write_report:
            outputs["report"] = self._try("report", image_id, lambda: str(write_report(out, grades, series, labels)))
        seconds["total"] = time.perf_counter() - start
        if datastore is not None:
            datastore.update_image_info(image_id, {PREDICTED_INFO_KEY: grades, OUTPUTS_INFO_KEY: outputs})
        logger.info("graded %s in %.2f s (%d levels, %d missing): %s", image_id, seconds["total"],
                    len(grades["levels"]), len(grades["missing_levels"]), outputs)
        return grades

    @staticmethod
    def _try(what: str, image_id: str, write: Callable[[], str]) -> str | None:
        """An output that fails (e.g. SR of a series whose files moved) is logged; the grades still stand."""
        try:
            return write()
        except Exception as err:  # noqa: BLE001
            logger.error("grading %s: could not write the %s: %s", image_id, what, err)
            return None


#: (request) -> (image_id, series, stage1_result, labels or None); the stage 1 pipeline of the app.
Stage1Runner = Callable[[dict], tuple[str, Any, dict, "np.ndarray | None"]]


class GradingInfer(InferTask):
    """``POST /infer/grading``: stage 1 (through ``stage1``), then ``GradingStage.run``; result params = grades."""

    def __init__(self, stage: GradingStage, stage1: Stage1Runner, datastore: Callable[[], Any] | None = None):
        super().__init__(type=InferType.CLASSIFICATION, labels=["normal", "mild", "moderate", "severe"], dimension=2,
                         description="Grades central canal, foraminal stenosis and facet arthropathy per level")
        self.stage = stage
        self.stage1 = stage1
        self.datastore = datastore

    def is_valid(self) -> bool:
        return self.stage.is_ready()

    def __call__(self, request):
        image_id, series, stage1_result, labels = self.stage1(request)
        datastore = self.datastore() if self.datastore else None
        grades = self.stage.run(image_id, series, stage1_result, datastore, labels)
        return None, {"grades": grades}
