"""Which scoring methods the app starts in the background, so scoring never piles up or runs for nothing.

MONAI Label starts every scoring method after each next-sample request, each training and at start-up
(``MONAI_LABEL_AUTO_UPDATE_SCORING``); the app also asks every ``activelearning_score_every_minutes``. A method is
started only when it has studies to (re)score (``BatchedScoring.pending``) and no run of it is queued or running;
each run scores a bounded batch, the next trigger takes the next batch.
"""
from __future__ import annotations

from typing import Mapping

from monailabel.interfaces.tasks.scoring import ScoringMethod

from lib.activelearning.scoring import BatchedScoring
from lib.retraining.queue import queued_tasks


def scoring_queued(method: str) -> bool:
    """True when a run of ``method`` is waiting or running in MONAI Label's scoring queue."""
    return bool(queued_tasks("scoring", "method", method, ("SUBMITTED", "RUNNING")))


def methods_to_start(methods: Mapping[str, ScoringMethod], datastore, asked: str | None = None) -> list[str]:
    """The methods (``asked``, or all) worth starting now."""
    names = [asked] if asked else list(methods)
    start = []
    for name in names:
        method = methods.get(name)
        if method is None or scoring_queued(name):
            continue
        if isinstance(method, BatchedScoring) and not method.pending(datastore):
            continue
        start.append(name)
    return start
