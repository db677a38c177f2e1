"""When a label is saved: which models now have enough new labels, and queueing their retraining.

The app calls ``RetrainQueue.on_label_saved`` from ``on_save_label``; a model whose new labels (of the kinds it learns
from, counted against the labels its last or running training read) reach ``retrain_labels`` gets a training queued
through MONAI Label's training queue (``app.async_training(..., enqueue=True)``: one training at a time, in a
subprocess). At most one training per model waits in the queue; a running one does not block queueing the next,
which then reads every label saved until it starts.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Callable, Iterable

from monailabel.utils.async_tasks.utils import processes, tasks

from lib.retraining.labels import kinds_fed, label_fingerprints, new_since
from lib.retraining.settings import RetrainSettings
from lib.retraining.store import RetrainStore

logger = logging.getLogger(__name__)

#: (model, params) -> whatever the app's queue returns.
QueueTraining = Callable[[str, dict], Any]


#: A task still "SUBMITTED" this long after submission while nothing of its kind runs never started (MONAI Label
#: leaves the status as it is when launching the subprocess fails).
STALE_SUBMISSION_S = 120


def queued_tasks(method: str, field: str, value: str, statuses: tuple[str, ...] = ("SUBMITTED",)) -> list[dict]:
    """MONAI Label background tasks of ``method`` ("train", "scoring") for ``request[field] == value`` in ``statuses``.

    A submitted task counts only while another task of the same kind runs or for ``STALE_SUBMISSION_S`` seconds.
    """
    busy = bool(processes(method))
    now = dt.datetime.now()
    found = []
    for t in tasks(method):
        if t.get("status") not in statuses or t.get("request", {}).get(field) != value:
            continue
        if t["status"] == "SUBMITTED" and not busy:
            submitted = dt.datetime.strptime(t.get("start_ts", "1970-01-01 00:00:00"), "%Y-%m-%d %H:%M:%S")
            if (now - submitted).total_seconds() > STALE_SUBMISSION_S:
                continue
        found.append(t)
    return found


def training_waits(model: str) -> bool:
    """True when a training of ``model`` is in MONAI Label's queue and has not started yet."""
    return bool(queued_tasks("train", "model", model))


class RetrainQueue:
    def __init__(self, model_dir: str, settings: RetrainSettings, models: Iterable[str]):
        self.store = RetrainStore(model_dir)
        self.settings = settings
        self.models = [m for m in models if settings.retrains(m)]

    def new_labels(self, datastore, model: str) -> list[str]:
        """Studies whose label (of a kind ``model`` learns from) is new since its running or last training."""
        return new_since(label_fingerprints(datastore, kinds_fed(model)), self.store.baseline(model))

    def on_label_saved(self, datastore, queue: QueueTraining,
                       waits: Callable[[str], bool] = training_waits) -> dict[str, dict]:
        """Queue the retrainings now due; returns per model what was decided (added to the save response)."""
        decided = {}
        for model in self.models:
            n = len(self.new_labels(datastore, model))
            state = {"new_labels": n, "needed": self.settings.labels, "queued": False}
            if n >= self.settings.labels:
                if waits(model):
                    state["reason"] = "a retraining of this model is already waiting in the queue"
                else:
                    state["queued"] = self._queue(queue, model, n)
            decided[model] = state
        return decided

    @staticmethod
    def _queue(queue: QueueTraining, model: str, n: int) -> bool:
        try:
            queue(model, {"trigger": "labels", "new_labels": n})
        except Exception as e:  # noqa: BLE001 - saving the label must succeed even if the queue cannot be reached
            logger.error(f"Could not queue the retraining of {model} ({n} new labels): {e!r}")
            return False
        logger.info(f"Queued the retraining of {model}: {n} new labels")
        return True
