"""Scoring at scale: a MONAI Label scoring method that scores, per run, a bounded batch of the studies that need it.

A study needs scoring when it is unlabelled and has no stored score of the method, or one made with another model
version (stale). Never-scored studies come first, then the stalest. Each run (``POST /scoring/{method}``, or started
in the background by the app: lib/activelearning/background.py) scores at most ``batch`` of them (request key
``max_samples`` overrides) and stores each score as soon as it is computed, so a run that is stopped loses nothing.
A study that fails is marked with the error at that version and retried only when the version changes.

Subclasses say what version they would score with (``current_version``; None: cannot score now, e.g. no trained
model), which version a study would get (``version_of``) and how to score one study (``score``).
"""
from __future__ import annotations

import logging
import time
from abc import abstractmethod
from typing import Any, Mapping

from monailabel.interfaces.tasks.scoring import ScoringMethod

from lib.activelearning.scores import SCORES_KEY, score_record, write_score

logger = logging.getLogger(__name__)


class BatchedScoring(ScoringMethod):
    def __init__(self, method: str, description: str, batch: int):
        super().__init__(description)
        self.method = method
        self.batch = batch

    @abstractmethod
    def current_version(self) -> str | None:
        """The model version scores are made with now; None when nothing can be scored."""

    def version_of(self, image_id: str, info: Mapping[str, Any], current: str) -> str | None:
        """The version a score of this study would carry; None when this study cannot be scored now."""
        return current

    @abstractmethod
    def score(self, image_id: str, info: Mapping[str, Any], datastore) -> tuple[float, dict] | None:
        """(value, details) of one study, or None when it cannot be scored."""

    def pending(self, datastore) -> list[str]:
        """Unlabelled studies to (re)score: never scored first (by id), then stale ones (oldest score first)."""
        current = self.current_version()
        if current is None:
            return []
        unscored, stale = [], []
        for image_id in sorted(datastore.get_unlabeled_images()):
            info = datastore.get_image_info(image_id)
            version = self.version_of(image_id, info, current)
            if version is None:
                continue
            record = (info.get(SCORES_KEY) or {}).get(self.method)  # a score, or a failure at some version
            if not isinstance(record, dict):
                unscored.append(image_id)
            elif record.get("model_version") != version:
                stale.append((record.get("ts", 0), image_id))
        return unscored + [i for _, i in sorted(stale)]

    def __call__(self, request, datastore):
        start = time.time()
        todo = self.pending(datastore)
        batch = int(request.get("max_samples") or self.batch)
        scored, failed = [], {}
        for image_id in todo[:batch]:
            logger.info(f"{self.method}: scoring {image_id}")
            try:
                info = datastore.get_image_info(image_id)
                result = self.score(image_id, info, datastore)
                if result is None:
                    failed[image_id] = "cannot be scored now"
                    self._mark_failed(datastore, image_id, failed[image_id])
                    continue
                version = self.version_of(image_id, datastore.get_image_info(image_id), self.current_version() or "")
                write_score(datastore, image_id, self.method, score_record(result[0], version or "", result[1]))
                scored.append(image_id)
            except Exception as e:  # one study that fails must not stop the batch
                logger.exception(f"{self.method}: scoring {image_id} failed")
                failed[image_id] = repr(e)
                self._mark_failed(datastore, image_id, repr(e))
        summary = {"method": self.method, "model_version": self.current_version(), "pending_before": len(todo),
                   "scored": scored, "failed": failed, "pending_after": len(todo) - len(scored),
                   "latency": round(time.time() - start, 2)}
        logger.info(f"{self.method} scoring: {summary}")
        return summary

    def _mark_failed(self, datastore, image_id: str, error: str) -> None:
        """Record the failure at this version (no value), so the study is retried only when the version changes."""
        version = self.version_of(image_id, datastore.get_image_info(image_id), self.current_version() or "")
        record = {"value": None, "model_version": version or "", "ts": int(time.time()), "error": error}
        write_score(datastore, image_id, self.method, record)
