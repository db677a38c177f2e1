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
from monailabel.tasks.activelearning.first import First
from monailabel.tasks.activelearning.random import Random

from lib.configs.registry import MODEL_CONFIGS
from lib.datastore.dicom_folder import DicomFolderDatastore, holds_dicom_studies
from lib.dicom import StudyError

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
        super().__init__(app_dir=app_dir, studies=studies, conf=conf, name=APP_NAME,
                         description="Segments, measures and grades lumbar spinal stenosis on axial T2 MRI",
                         version=APP_VERSION)

    def init_datastore(self) -> Datastore:
        if not self.studies.startswith(("http://", "https://")) and holds_dicom_studies(Path(self.studies)):
            return DicomFolderDatastore(self.studies)
        return super().init_datastore()

    def init_infers(self):
        infers = {}
        for name, config in self.models.items():
            task = config.infer()
            infers.update(task if isinstance(task, dict) else {name: task})
        return infers

    def init_trainers(self):
        trainers = {}
        for name, config in self.models.items():
            task = config.trainer()
            if task:
                trainers[name] = task
        return trainers

    def init_strategies(self):
        strategies = {"random": Random(), "first": First()}
        for config in self.models.values():
            extra = config.strategy()
            if extra:
                strategies.update(extra if isinstance(extra, dict) else {config.name: extra})
        return strategies

    def init_scoring_methods(self):
        methods = {}
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
            return super().infer(request, datastore)
        except (StudyError, ValueError) as e:
            raise HTTPException(status_code=422, detail=f"study '{image}', model '{request.get('model')}': {e}")
