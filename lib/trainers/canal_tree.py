"""Train task ``canal_tree``: the interpretable central canal decision tree, from grade labels in the datastore.

Quick and synchronous (seconds): reads every study with a central canal grade (``DatastoreGradeLabelStore``: image
info ``grade_labels`` and final label info ``grades``), takes its stage 1 measurements (from the final mask, or the last
stored stage 1 result: ``lib.grading.datastore_samples``), fits the tree and writes ``model/canal_tree.joblib`` with
its model card, ``canal_tree.txt`` and ``canal_tree.png``. Studies are split into train and validation by a stable hash.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, Iterable

from monailabel.interfaces.tasks.train import TrainTask

from lib.grading.dataset import StudySample
from lib.grading.datastore_samples import datastore_samples
from lib.grading.fit import fit_canal_tree, split_studies
from lib.grading.settings import GradingSettings

logger = logging.getLogger(__name__)

#: (datastore) -> study samples; the default reads the app's DICOM-folder datastore.
SampleSource = Callable[[Any], Iterable[StudySample]]


class CanalTree(TrainTask):
    """Fits the canal tree from labelled studies. ``samples`` replaces the datastore reader (scripts, tests)."""

    def __init__(self, model_dir: str, settings: GradingSettings, samples: SampleSource | None = None):
        super().__init__("Fit the central canal decision tree from grade labels and stage 1 measurements")
        self.model_dir = model_dir
        self.settings = settings
        self.samples = samples or (lambda ds: datastore_samples(ds, with_pixels=False))
        self._stats: dict = {}

    def config(self):
        return {"max_depth": self.settings.tree_max_depth, "val_fraction": self.settings.val_fraction}

    def stats(self):
        return self._stats

    def __call__(self, request, datastore):
        start = time.time()
        train, val = split_studies(self.samples(datastore), self.settings.val_fraction)
        result = fit_canal_tree(train, val, self.model_dir, self.settings)
        kappa = result["validation"].get("kappa_linear")
        self._stats = {"best_metric": kappa, "total_time": f"{time.time() - start:.1f}s", "train_studies": len(train),
                       "val_studies": len(val), **result}
        logger.info("canal_tree: %d train / %d validation studies, kappa %s", len(train), len(val), kappa)
        return self._stats
