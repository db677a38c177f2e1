"""The MONAI Label app for lumbar spine axial T2 MRI: wiring only.

Each model is one TaskConfig in ``lib/configs`` (infer and train tasks beside it in ``lib/infers`` and
``lib/trainers``, same name). Start with::

    monailabel start_server --app . --studies datasets/phantoms/dicom --host 127.0.0.1 --conf models all
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from fastapi import HTTPException

from monailabel.interfaces.app import MONAILabelApp
from monailabel.interfaces.config import TaskConfig
from monailabel.interfaces.datastore import Datastore

from lib.configs.registry import MODEL_CONFIGS
from lib.datastore.dicom_folder import holds_dicom_studies
from lib.dicom import StudyError
from lib.infers.post_infer import GradingHook

# --- annotator loop (issue 5): strategies, background scoring, continuous retraining behind the promotion gate ---
from lib.activelearning.background import methods_to_start
from lib.activelearning.settings import ActiveLearningSettings
from lib.activelearning.wiring import app_scoring_methods, app_strategies
from lib.retraining.loop import RetrainingLoop
from lib.retraining.shared_index import SharedDicomFolderDatastore
# --- end annotator loop ---

logger = logging.getLogger(__name__)

APP_NAME = "Lumbar spine stenosis (axial T2)"
APP_VERSION = "0.1.0"


def selected_models(conf: dict[str, str]) -> list[str]:
    """Model names from ``--conf models a,b`` (default all); unknown names are an error that lists the known ones."""
    asked = [m.strip() for m in conf.get("models", "all").split(",") if m.strip()]
    if not asked or "all" in asked:
        return list(MODEL_CONFIGS)
    unknown = [m for m in asked if m not in MODEL_CONFIGS]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown} in --conf models; known: all, {', '.join(MODEL_CONFIGS)}")
    return asked


class SpineApp(MONAILabelApp):
    """Stage 1 (segmentation, landmarks) and stage 2 (grading) models over a datastore of lumbar spine studies."""

    def __init__(self, app_dir: str, studies: str, conf: dict[str, str]):
        # --conf model_dir DIR lets tests and deployments keep weights outside the app folder.
        self.model_dir = conf.get("model_dir") or str(Path(app_dir) / "model")
        self.models: dict[str, TaskConfig] = {}
        for name in selected_models(conf):
            config = MODEL_CONFIGS[name]()
            config.init(name, self.model_dir, conf, None)
            self.models[name] = config
        self.grading_hook = self._wire_stage_tasks()
        super().__init__(app_dir=app_dir, studies=studies, conf=conf, name=APP_NAME,
                         description="Segments, measures and grades lumbar spinal stenosis on axial T2 MRI",
                         version=APP_VERSION)

    def init_datastore(self) -> Datastore:
        # --- PACS (issue 6): a DICOMweb root is served by lib.pacs (axial T2 only, angled series per block) ---
        if self.studies.startswith(("http://", "https://")):
            from lib.pacs import pacs_datastore

            return pacs_datastore(self.studies, self.conf)
        # --- end PACS ---
        if not self.studies.startswith(("http://", "https://")) and holds_dicom_studies(Path(self.studies)):
            # issue 5: the index is shared with training and scoring subprocesses (no label or score overwritten)
            return SharedDicomFolderDatastore(self.studies)
        return super().init_datastore()

    def _wire_stage_tasks(self) -> GradingHook | None:
        """One segmentation task shared by landmarks and grading; the grading stage as the post-infer hook."""
        segmentation = self.models["segmentation"].infer() if "segmentation" in self.models else None
        self._shared_infers = {"segmentation": segmentation} if segmentation else {}
        landmark_file = None
        if "landmarks" in self.models:
            self.models["landmarks"].segmentation_task = segmentation
            landmark_file = self.models["landmarks"].model_file
        if "canal_tree" in self.models:
            self.models["canal_tree"].segmentation_task = segmentation  # the tree learns from stage 1 as served
        if "grading" not in self.models or segmentation is None:
            return None
        hook = GradingHook(self.models["grading"].stage(), landmark_file, segmentation, self.datastore)
        self.models["grading"].bind_stage1(hook.stage1_for_grading, self.datastore)
        return hook

    def init_infers(self):
        infers = {}
        for name, config in self.models.items():
            task = self._shared_infers.get(name) or config.infer()
            infers.update(task if isinstance(task, dict) else {name: task})
        return infers

    def init_trainers(self):
        trainers = {}
        for name, config in self.models.items():
            task = config.trainer()
            if task:
                trainers[name] = task
        return self.retraining().gate(trainers, self.models)  # issue 5: served only if not worse

    def init_strategies(self):
        strategies = app_strategies(ActiveLearningSettings.from_conf(self.conf))  # issue 5: respect labels, holds
        for config in self.models.values():
            extra = config.strategy()
            if extra:
                strategies.update(extra if isinstance(extra, dict) else {config.name: extra})
        return strategies

    def init_scoring_methods(self):
        methods = app_scoring_methods(ActiveLearningSettings.from_conf(self.conf), self._grade_study())  # issue 5
        for config in self.models.values():
            extra = config.scoring_method()
            if extra:
                methods.update(extra if isinstance(extra, dict) else {config.name: extra})
        return methods

    def infer(self, request, datastore=None):
        """MONAI Label's infer, with clear errors for studies that do not exist or cannot be read."""
        image = request.get("image")
        store = datastore or self.datastore()
        if isinstance(image, str) and not os.path.exists(image) and not store.get_image_uri(image):
            raise HTTPException(status_code=404, detail=f"study '{image}' is not in the datastore "
                                                        f"(GET /datastore/?output=all lists the studies)")
        try:
            result = super().infer(request, datastore)
        except (StudyError, ValueError) as e:
            raise HTTPException(status_code=422, detail=f"study '{image}', model '{request.get('model')}': {e}")
        return self.grading_hook.after_infer(request, result, store) if self.grading_hook else result

    # --- annotator loop (issue 5) ---------------------------------------------------------------------------------
    def retraining(self) -> RetrainingLoop:
        """Gated trainers, the retrain queue and the model history (lib/retraining)."""
        if getattr(self, "_retraining_loop", None) is None:
            self._retraining_loop = RetrainingLoop(self.model_dir, self.conf)
        return self._retraining_loop

    def _grade_study(self):
        """Grades a study that has none yet (for grading_uncertainty scoring), when the grading model is served."""
        if "grading" not in self._infers:
            return None
        return lambda image_id: self.infer({"model": "grading", "image": image_id})

    def info(self):
        meta = super().info()
        meta["model_history"] = self.retraining().history()
        return meta

    def on_init_complete(self):
        import schedule  # MONAI Label's base on_init_complete runs schedule.run_pending every 30 s

        super().on_init_complete()
        minutes = ActiveLearningSettings.from_conf(self.conf).score_every_minutes
        schedule.clear("spine-scoring")  # one periodic check per server, whichever app instance is current
        if minutes > 0:
            schedule.every(minutes).minutes.do(self.async_scoring, None).tag("spine-scoring")

    def async_scoring(self, method, params=None):
        """MONAI Label's background scoring, started only for methods with studies to (re)score and none queued."""
        started = {}
        for m in methods_to_start(self._scoring_methods, self.datastore(), method):
            try:
                started[m] = super().async_scoring(m, params)
            except Exception as e:  # noqa: BLE001 - e.g. a training subprocess whose server is gone
                logger.error(f"Could not start scoring {m}: {e!r}")
        return started.get(method) if method else started

    def on_save_label(self, image_id, label_id):
        """Queue the retraining of every model that now has enough new labels; the response says what was decided."""
        super().on_save_label(image_id, label_id)

        def queue(model: str, params: dict):
            return self.async_training(model, params={model: params}, enqueue=True)

        return {"retraining": self.retraining().on_label_saved(self.datastore(), queue)}
    # --- end annotator loop ---------------------------------------------------------------------------------------
