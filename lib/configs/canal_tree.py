"""Stage 2 ``canal_tree``: the interpretable decision tree for central canal stenosis on stage 1 measurements.

It grades inside the grading stage (``lib.configs.grading``), so it adds no infer endpoint; ``POST /train/canal_tree``
refits it from grade labels. Settings share the ``grading_`` conf keys (``grading_tree_max_depth`` ...).

By default (``grading_tree_measurements served``) the tree learns from stage 1 as the server computes it: the
segmentation model's masks, measured by the stage 1 rules. Its thresholds then sit where the measurements it will grade
put them; on the 16 held-out evaluation phantoms a tree fit on exact masks graded served measurements at kappa 0.828,
one fit on served measurements at 0.872 (README, "The canal tree"). Without segmentation weights, or with
``final_mask``, it learns from the final masks.
"""
from __future__ import annotations

import logging
import os
from typing import Any

from monailabel.interfaces.config import TaskConfig

from lib.grading.datastore_samples import ServedStage1
from lib.grading.settings import GradingSettings
from lib.trainers.canal_tree import CanalTree as CanalTreeTrain

logger = logging.getLogger(__name__)


class CanalTree(TaskConfig):
    def init(self, name: str, model_dir: str, conf: dict[str, str], planner: Any, **kwargs):
        self.segmentation_task = kwargs.pop("segmentation_task", None)
        super().init(name, model_dir, conf, planner, **kwargs)
        self.settings = GradingSettings.from_conf(conf)
        self.path = [os.path.join(model_dir, f"{name}.joblib")]

    def infer(self):
        return {}

    def trainer(self):
        return CanalTreeTrain(self.model_dir, self.settings, served=self.served_stage1)

    def served_stage1(self) -> ServedStage1 | None:
        """Stage 1 as served, for the tree's training rows; None (final masks) when so configured or untrained."""
        if self.settings.tree_measurements != "served":
            return None
        from lib.configs.segmentation import Segmentation
        from lib.pipeline.run_stage1 import Stage1Runner, segmentation_version

        task = self.segmentation_task
        if task is None:
            config = Segmentation()
            config.init("segmentation", self.model_dir, self.conf, self.planner)
            task = config.infer()
        weights = task.get_path(validate=False) if hasattr(task, "get_path") else None
        if not weights or not os.path.exists(weights):
            logger.info(f"canal_tree: no segmentation weights ({weights}); the tree learns from the final masks "
                        "until there are")
            return None
        runner = Stage1Runner(segmentation=task, landmarks=None)  # the tree needs measurements, not landmarks
        return ServedStage1(lambda image_path: runner.run(image_path).document, segmentation_version(task))
