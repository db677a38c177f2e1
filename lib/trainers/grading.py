"""Train task ``grading``: the BiT classifiers (canal 4 grades, foramen and facet binary, left and right shared).

Reads every study with grade labels from the datastore (``lib.grading.datastore_samples``), samples crops in mm
around each region (``lib.grading.crops``), and trains one classifier per structure with balanced sampling and light
augmentation (``lib.grading.training``), keeping the epoch with the best validation metric. Writes
``model/grading_<structure>.pt`` (plain state dicts) with a model card each. On 2 CPU cores, BiT-R50x1 at 96 px
takes minutes per structure; ``--conf grading_max_minutes`` caps each one.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, Iterable

from monailabel.interfaces.tasks.train import TrainTask

from lib.grading.dataset import StudySample
from lib.grading.datastore_samples import datastore_samples
from lib.grading.fit import fit_classifiers, split_studies
from lib.grading.settings import GradingSettings

logger = logging.getLogger(__name__)

SampleSource = Callable[[Any], Iterable[StudySample]]


class Grading(TrainTask):
    """Trains the three grading classifiers. ``samples`` replaces the datastore reader (scripts, tests)."""

    def __init__(self, model_dir: str, settings: GradingSettings, samples: SampleSource | None = None):
        super().__init__("Train the BiT grading classifiers (canal, foramen, facet) from grade labels")
        self.model_dir = model_dir
        self.settings = settings
        self.samples = samples or (lambda ds: datastore_samples(ds, with_pixels=True))
        self._stats: dict = {}

    def config(self):
        s = self.settings
        return {"arch": s.arch, "crop_px": s.crop_px, "epochs": s.epochs, "max_minutes": s.max_minutes,
                "structures": s.structures}

    def stats(self):
        return self._stats

    def __call__(self, request, datastore):
        start = time.time()
        train, val = split_studies(self.samples(datastore), self.settings.val_fraction)
        summary = fit_classifiers(train, val, self.model_dir, self.settings, self.settings.structures_to_train(),
                                  progress=logger.info)
        scores = {k: v["validation"].get("score") for k, v in summary.items()}
        self._stats = {"best_metric": scores, "total_time": f"{time.time() - start:.1f}s", "train_studies": len(train),
                       "val_studies": len(val), "models": summary}
        logger.info("grading: trained on %d studies (%d validation): %s", len(train), len(val), scores)
        return self._stats
