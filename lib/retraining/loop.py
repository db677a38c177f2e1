"""The app's continuous retraining in one object: gated trainers, the retrain queue, and the history for ``/info``.

``main.py`` holds one ``RetrainingLoop``::

    loop = RetrainingLoop(model_dir, conf)
    trainers = loop.gate(trainers, configs)                        # in init_trainers
    loop.on_label_saved(datastore, queue)                          # in on_save_label
    info["model_history"] = loop.history()                         # in info()
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping

from monailabel.interfaces.tasks.train import TrainTask

from lib.retraining.evaluators import CardMetric, Evaluator, SegmentationDice
from lib.retraining.gated_trainer import PUBLISH_ATTRIBUTES, GatedTrainTask
from lib.retraining.queue import QueueTraining, RetrainQueue
from lib.retraining.settings import RetrainSettings
from lib.retraining.store import RetrainStore

logger = logging.getLogger(__name__)


def evaluator_for(name: str, config: Any) -> Evaluator:
    """Dice on the fixed validation split for the segmentation V-Net (run coarse to fine, as served); the model
    card's metric for the others."""
    if name == "segmentation":
        from lib.networks import segmentation_vnet

        return SegmentationDice(segmentation_vnet, Path(config.path[0]).name, config.labels, config.settings.spacing_mm,
                                coarse_to_fine=getattr(config, "coarse_to_fine", None))
    return CardMetric()


class RetrainingLoop:
    def __init__(self, model_dir: str | Path, conf: Mapping[str, str] | None):
        self.model_dir = Path(model_dir)
        self.settings = RetrainSettings.from_conf(conf)
        self.store = RetrainStore(model_dir)
        self.retrain_queue: RetrainQueue | None = None

    def gate(self, trainers: Mapping[str, TrainTask], configs: Mapping[str, Any]) -> dict[str, TrainTask]:
        """Each trainer behind the promotion gate (unless ``retrain_gated`` is off or it cannot be redirected)."""
        self.retrain_queue = RetrainQueue(str(self.model_dir), self.settings, trainers)
        if not self.settings.gated:
            return dict(trainers)
        gated = {}
        for name, task in trainers.items():
            if any(getattr(task, a, None) for a in PUBLISH_ATTRIBUTES):
                gated[name] = GatedTrainTask(name, task, self.model_dir, evaluator_for(name, configs.get(name)),
                                             self.settings)
            else:
                logger.warning(f"Trainer {name} publishes nowhere the gate can redirect; it is served ungated")
                gated[name] = task
        return gated

    def on_label_saved(self, datastore, queue: QueueTraining) -> dict:
        return self.retrain_queue.on_label_saved(datastore, queue) if self.retrain_queue else {}

    def history(self) -> dict[str, list[dict]]:
        """Every model's trainings, oldest first (version, date, labels, validation metrics, promoted, reason)."""
        return self.store.all_histories()
