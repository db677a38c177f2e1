"""The stage 1 landmark model: facets and foramina per level, learned heatmaps with the geometric rules as fallback.

Needs the segmentation infer task: by default it builds its own through the ``segmentation`` TaskConfig (same
model dir and conf, so the same weights); a caller that already has one passes it as
``init(..., segmentation_task=task)`` or sets ``config.segmentation_task`` before ``infer()``.
"""
from __future__ import annotations

import logging
import os
from typing import Any

from monailabel.interfaces.config import TaskConfig

from lib.conf import from_conf
from lib.infers.landmarks import Landmarks as LandmarksInfer
from lib.landmarks.model import LandmarkModelFile
from lib.landmarks.settings import LandmarksSettings
from lib.trainers.landmarks import Landmarks as LandmarksTrain

logger = logging.getLogger(__name__)


class Landmarks(TaskConfig):
    """Infer task ``landmarks`` (stage 1 + points, label map, Slicer markups) and its trainer; weights at
    ``model/landmarks.pt`` with ``model/landmarks.card.json``."""

    def init(self, name: str, model_dir: str, conf: dict[str, str], planner: Any, **kwargs):
        self.segmentation_task = kwargs.pop("segmentation_task", None)
        super().init(name, model_dir, conf, planner, **kwargs)
        self.settings = from_conf(LandmarksSettings, conf, prefix=f"{name}_")
        self.path = [os.path.join(model_dir, f"{name}.pt")]
        self.model_file = LandmarkModelFile(self.path[0], self.settings.use_model, **self.settings.model_kwargs())
        if not os.path.exists(self.path[0]):
            logger.info(f"No weights at {self.path[0]}: '{name}' places facets and foramina with the geometric rules "
                        f"until trained (make models, or POST /train/{name}).")

    def segmentation_infer(self):
        """The segmentation infer task this config was given, or one built by the segmentation TaskConfig."""
        if self.segmentation_task is None:
            from lib.configs.segmentation import Segmentation

            config = Segmentation()
            config.init("segmentation", self.model_dir, self.conf, self.planner)
            self.segmentation_task = config.infer()
        return self.segmentation_task

    def infer(self):
        return LandmarksInfer(segmentation=self.segmentation_infer(), model_file=self.model_file,
                              settings=self.settings)

    def trainer(self):
        return LandmarksTrain(weights_path=self.path[0], settings=self.settings)
