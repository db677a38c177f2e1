"""Stage 2 ``canal_tree``: the interpretable decision tree for central canal stenosis on stage 1 measurements.

It grades inside the grading stage (``lib.configs.grading``), so it adds no infer endpoint; ``POST /train/canal_tree``
refits it from grade labels in seconds. Settings share the ``grading_`` conf keys (``grading_tree_max_depth`` ...).
"""
from __future__ import annotations

import os
from typing import Any

from monailabel.interfaces.config import TaskConfig

from lib.grading.settings import GradingSettings
from lib.trainers.canal_tree import CanalTree as CanalTreeTrain


class CanalTree(TaskConfig):
    def init(self, name: str, model_dir: str, conf: dict[str, str], planner: Any, **kwargs):
        super().init(name, model_dir, conf, planner, **kwargs)
        self.settings = GradingSettings.from_conf(conf)
        self.path = [os.path.join(model_dir, f"{name}.joblib")]

    def infer(self):
        return {}

    def trainer(self):
        return CanalTreeTrain(self.model_dir, self.settings)
