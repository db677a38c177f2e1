"""Train task ``canal_tree``: the interpretable central canal decision tree, from grade labels in the datastore.

Synchronous: reads every study with a central canal grade (``DatastoreGradeLabelStore``: image info ``grade_labels``
and final label info ``grades``), takes its stage 1 measurements, fits the tree and writes ``model/canal_tree.joblib``
with its model card, ``canal_tree.txt`` and ``canal_tree.png``. Studies are split into train and validation by a
stable hash.

Measurements (``lib.grading.datastore_samples``): with a ``ServedStage1`` source (the default when segmentation
weights exist) stage 1 as the server computes it from the image, so the thresholds are learnt on what the tree will
grade; about 2-3 s per study on 2 CPU cores, none for studies the post-infer hook already graded with the current
weights. Without one, the final mask (seconds in all).
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, Iterable

from monailabel.interfaces.tasks.train import TrainTask

from lib.grading.dataset import StudySample
from lib.grading.datastore_samples import ServedStage1, datastore_samples
from lib.grading.fit import fit_canal_tree, split_studies
from lib.grading.settings import GradingSettings

logger = logging.getLogger(__name__)

#: (datastore) -> study samples; the default reads the app's DICOM-folder datastore.
SampleSource = Callable[[Any], Iterable[StudySample]]


class CanalTree(TrainTask):
    """Fits the canal tree from labelled studies. ``samples`` replaces the datastore reader (scripts, tests);
    ``served``, called at each training, gives the source of stage 1 as served, or None for the final masks (see the
    module docstring); it is asked each time because segmentation weights come and change while a server runs."""

    def __init__(self, model_dir: str, settings: GradingSettings, samples: SampleSource | None = None,
                 served: Callable[[], ServedStage1 | None] | None = None):
        super().__init__("Fit the central canal decision tree from grade labels and stage 1 measurements")
        self.model_dir = model_dir
        self.settings = settings
        self.served = served or (lambda: None)
        self.samples = samples
        self._stats: dict = {}

    def config(self):
        return {"max_depth": self.settings.tree_max_depth, "val_fraction": self.settings.val_fraction}

    def stats(self):
        return self._stats

    def __call__(self, request, datastore):
        start = time.time()
        served = self.served() if self.samples is None else None
        samples = (self.samples(datastore) if self.samples is not None
                   else datastore_samples(datastore, with_pixels=False, served=served))
        train, val = split_studies(samples, self.settings.val_fraction)
        measurements = served.describe() if served else ("final masks" if self.samples is None else "as given")
        result = fit_canal_tree(train, val, self.model_dir, self.settings, measurements)
        kappa = result["validation"].get("kappa_linear")
        self._stats = {"best_metric": kappa, "total_time": f"{time.time() - start:.1f}s", "train_studies": len(train),
                       "val_studies": len(val), **result}
        logger.info("canal_tree: %d train / %d validation studies, kappa %s; measurements %s", len(train), len(val),
                    kappa, measurements)
        return self._stats
