"""The stage 1 segmentation model: a 2D V-Net for the dural sac (1) and the intervertebral discs (2)."""
from __future__ import annotations

import logging
import os
from typing import Any

from monailabel.interfaces.config import TaskConfig

from lib.activelearning.settings import ActiveLearningSettings
from lib.activelearning.wiring import epistemic_scoring, epistemic_strategy
from lib.conf import from_conf
from lib.infers.segmentation import Segmentation as SegmentationInfer
from lib.networks import segmentation_vnet
from lib.spine.levels import LABEL_NAMES
from lib.transforms.coarse_to_fine import CoarseToFineSettings
from lib.trainers.segmentation import Segmentation as SegmentationTrain
from lib.trainers.segmentation import SegmentationTrainSettings

logger = logging.getLogger(__name__)


class Segmentation(TaskConfig):
    """Infer and train tasks of the V-Net; weights at ``model/segmentation.pt`` (``make models`` trains them)."""

    def init(self, name: str, model_dir: str, conf: dict[str, str], planner: Any, **kwargs):
        super().init(name, model_dir, conf, planner, **kwargs)
        self.settings = from_conf(SegmentationTrainSettings, conf, prefix=f"{name}_")
        # issue 3: coarse-to-fine inference (--conf segmentation_c2f_<field>), shared by inference and scoring
        self.coarse_to_fine = from_conf(CoarseToFineSettings, conf, prefix=f"{name}_c2f_")
        self.labels = dict(LABEL_NAMES)
        self.path = [os.path.join(model_dir, f"{name}.pt")]
        self.network = segmentation_vnet()
        if not os.path.exists(self.path[0]):
            logger.warning(f"No weights at {self.path[0]}: '{name}' answers from random initialisation until "
                           f"trained (make models, or POST /train/{name}).")

    def infer(self):
        return SegmentationInfer(path=self.path, network=self.network, labels=self.labels,
                                 spacing_mm=self.settings.spacing_mm, coarse_to_fine=self.coarse_to_fine)

    # issue 5: the epistemic strategy and its scoring method (lib/activelearning)
    def strategy(self):
        return epistemic_strategy(ActiveLearningSettings.from_conf(self.conf))

    def scoring_method(self):
        return epistemic_scoring(self.path[0], self.settings.spacing_mm, ActiveLearningSettings.from_conf(self.conf),
                                 self.coarse_to_fine)

    def trainer(self):
        return SegmentationTrain(
            model_dir=os.path.join(self.model_dir, self.name),
            network=self.network,
            settings=self.settings,
            labels=self.labels,
            load_path=self.path[0],
            publish_path=self.path[0],
        )
