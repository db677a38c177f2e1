"""Stage 2 ``grading``: the BiT classifiers for canal, foramina and facets, run after stage 1 on every study.

Settings: ``--conf grading_<field> VALUE`` (``lib.grading.settings.GradingSettings``), parsed once here. Weights:
``model/grading_{canal,foramen,facet}.pt`` with model cards; the canal tree (``canal_tree``, its own config) is
loaded with them. Nothing is downloaded or trained here.

The app gets the stage with ``stage(output_root)`` and calls ``GradingStage.run(...)`` after stage 1 (post-infer hook).
``infer()`` serves ``POST /infer/grading`` once the app has bound its stage 1 runner with ``bind_stage1`` (grading
needs stage 1's result); unbound, it adds no endpoint. ``trainer()`` is ``POST /train/grading``.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from monailabel.interfaces.config import TaskConfig

from lib.grading.model_files import missing_models
from lib.grading.settings import GradingSettings
from lib.infers.grading import GradingInfer, GradingStage, Stage1Runner
from lib.trainers.grading import Grading as GradingTrain

logger = logging.getLogger(__name__)


class Grading(TaskConfig):
    """Config of the grading classifiers (and the stage that runs them with the canal tree)."""

    def init(self, name: str, model_dir: str, conf: dict[str, str], planner: Any, **kwargs):
        super().init(name, model_dir, conf, planner, **kwargs)
        self.settings = GradingSettings.from_conf(conf)
        self.path = [os.path.join(model_dir, f"{name}_{s}.pt") for s in ("canal", "foramen", "facet")]
        self._stage: GradingStage | None = None
        self._stage1: Stage1Runner | None = None
        self._datastore = None
        absent = missing_models(model_dir)
        if absent:
            logger.warning(f"Stage 2 models not trained yet ({', '.join(absent)}): grading is skipped until "
                           f"`make models` or POST /train/grading and /train/canal_tree")

    def stage(self, output_root: str | Path | None = None) -> GradingStage:
        """The one GradingStage of the app (created on first use)."""
        if self._stage is None:
            self._stage = GradingStage(self.model_dir, self.settings, output_root)
        return self._stage

    def bind_stage1(self, stage1: Stage1Runner, datastore=None) -> None:
        """Give the config the app's stage 1 runner ``(request) -> (image_id, series, stage1_result, labels)`` and a
        datastore getter, so that ``infer()`` can serve ``/infer/grading``. Call before ``init_infers``."""
        self._stage1 = stage1
        self._datastore = datastore

    def infer(self):
        if self._stage1 is None:
            return {}
        return {self.name: GradingInfer(self.stage(), self._stage1, self._datastore)}

    def trainer(self):
        return GradingTrain(self.model_dir, self.settings)
