"""A train task wrapped so that its model is served only when it is not worse than the one served now.

``GatedTrainTask(name, inner, model_dir, evaluator, settings)`` runs the model's own train task with its output
redirected into a staging folder (``publishing_into``), measures the candidate and the served model with the same
evaluator on the same validation studies, then either moves the candidate's files into ``model_dir`` or keeps them
aside in ``model_dir/candidates/<name>-<date>/`` with the reason, and appends an entry to the model's history.

Any trainer that writes weights and a model card works: a MONAI Label ``BasicTrainTask`` (its ``publish_path`` is
redirected) or a task that writes into its ``model_dir`` attribute (the grading classifiers, the canal tree).

The labels a training reads are recorded when it starts and become the baseline for "new labels" only when it ends
(``RetrainStore``): a label saved during a training, or left over by a failed one, counts toward the next round.
"""
from __future__ import annotations

import datetime as dt
import filecmp
import logging
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from monailabel.interfaces.tasks.train import TrainTask

from lib.model_card import card_path, read_model_card
from lib.retraining.evaluators import Evaluator
from lib.retraining.gate import WEIGHT_SUFFIXES, candidate_files, decide, keep_aside, publish
from lib.retraining.labels import kinds_fed, label_fingerprints, label_order, new_since
from lib.retraining.settings import RetrainSettings
from lib.retraining.split import FixedValidationSplit
from lib.retraining.store import RetrainStore, now_iso
from lib.retraining.training_view import TrainingView

logger = logging.getLogger(__name__)

STATS_KEPT = ("best_metric", "best_metric_epoch", "total_time", "epochs", "train_studies", "val_studies")


#: Attributes through which a train task is told where to publish: MONAI Label's BasicTrainTask, a task writing one
#: weight file (the landmark model), a task writing into a folder (the grading classifiers, the canal tree).
PUBLISH_ATTRIBUTES = ("_publish_path", "weights_path", "model_dir")


@contextmanager
def publishing_into(trainer: TrainTask, folder: Path) -> Iterator[None]:
    """Make ``trainer`` publish into ``folder`` while the block runs.

    A trainer that publishes one weight file finds a copy of the served file (and its card) in ``folder`` first, so
    it can fine-tune from it or keep it, exactly as it would in place.
    """
    attr = next((a for a in PUBLISH_ATTRIBUTES if getattr(trainer, a, None)), None)
    if attr is None:
        raise TypeError(f"{type(trainer).__name__} has none of {PUBLISH_ATTRIBUTES} to redirect its output")
    old = getattr(trainer, attr)
    if attr == "model_dir":
        new = folder
    else:
        new = folder / Path(old).name
        for served in (Path(old), card_path(old)):
            if served.exists():
                shutil.copy2(served, folder / served.name)
    setattr(trainer, attr, new if isinstance(old, Path) else str(new))
    try:
        yield
    finally:
        setattr(trainer, attr, old)


def drop_unchanged(staging: Path, model_dir: Path) -> list[str]:
    """Remove files identical to the served ones from ``staging``; returns the names of what the training changed."""
    changed = []
    for f in candidate_files(staging):
        served = model_dir / f.name
        if served.exists() and filecmp.cmp(f, served, shallow=False):
            f.unlink()
        else:
            changed.append(f.name)
    return changed


class GatedTrainTask(TrainTask):
    def __init__(self, name: str, inner: TrainTask, model_dir: str | Path, evaluator: Evaluator,
                 settings: RetrainSettings):
        super().__init__(inner.description)
        self.name = name
        self.inner = inner
        self.model_dir = Path(model_dir)
        self.evaluator = evaluator
        self.settings = settings
        self.store = RetrainStore(model_dir)
        self.split = FixedValidationSplit(self.store.dir / "validation_split.json", settings.val_fraction)

    def info(self):
        return {**self.inner.info(), "gate": self.evaluator.description}

    def config(self):
        return self.inner.config()

    def stats(self):
        return self.inner.stats()

    def __call__(self, request, datastore):
        labels = label_fingerprints(datastore, kinds_fed(self.name))
        new = new_since(labels, self.store.baseline(self.name))
        self.store.training_started(self.name, labels)
        trained = False
        try:
            stats, entry = self._train_and_gate(request, datastore, labels, len(new))
            trained = "train_stats" in entry  # the trainer ran: these labels are used
            return {**(stats if isinstance(stats, dict) else {"stats": stats}), "gate": entry}
        finally:
            self.store.training_finished(self.name, trained)

    def _train_and_gate(self, request, datastore, labels: dict[str, str], n_new: int) -> tuple[Any, dict]:
        val_ids: list[str] = []
        if self.evaluator.uses_fixed_split:
            _, val_ids = self.split.assign(label_order(datastore, labels))
        entry = {"model": self.name, "date": now_iso(), "trigger": request.get("trigger", "manual"),
                 "labels": len(labels), "new_labels": n_new, "train_studies": len(labels) - len(val_ids),
                 "validation_studies": val_ids, "metric_source": self.evaluator.description}
        if labels and len(val_ids) == len(labels):
            return {}, self._record(entry, False, "every labelled study is in the validation split; label more")
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        staging = self.store.candidates_dir / f".staging-{self.name}-{stamp}-{os.getpid()}"
        staging.mkdir(parents=True, exist_ok=True)
        try:
            with publishing_into(self.inner, staging):
                stats = self.inner(request, TrainingView(datastore, val_ids) if val_ids else datastore)
        except Exception as e:
            shutil.rmtree(staging, ignore_errors=True)
            self._record(entry, False, f"training failed: {e!r}")
            raise
        entry["train_stats"] = {k: stats[k] for k in STATS_KEPT if isinstance(stats, dict) and k in stats}
        return stats, self._gate(entry, staging, stamp, val_ids, datastore)

    def _gate(self, entry: dict, staging: Path, stamp: str, val_ids: list[str], datastore) -> dict:
        names = drop_unchanged(staging, self.model_dir)
        if not names:
            shutil.rmtree(staging, ignore_errors=True)
            return self._record(entry, False, "the trainer published nothing new (it kept the served model or failed)")
        weights = [n for n in names if n.endswith(WEIGHT_SUFFIXES)]
        served_exists = bool(weights) and all((self.model_dir / n).exists() for n in weights)
        candidate = self.evaluator.evaluate(staging, names, val_ids, datastore)
        served = self.evaluator.evaluate(self.model_dir, names, val_ids, datastore) if served_exists else None
        decision = decide(candidate, served, served_exists=served_exists, n_validation=len(val_ids),
                          tolerance=self.settings.tolerance, promote_unvalidated=self.settings.promote_unvalidated,
                          lower_is_better=self.evaluator.lower_is_better)
        version = read_model_card(staging / weights[0]).get("date") if weights else None
        entry.update(version=version or entry["date"], files=names, candidate_metrics=candidate,
                     served_metrics=served)
        if decision.promoted:
            publish(staging, self.model_dir)
        else:
            dest = self.store.candidates_dir / f"{self.name}-{stamp}"
            entry["kept_at"] = str(keep_aside(staging, dest, {**entry, "reason": decision.reason}))
        return self._record(entry, decision.promoted, decision.reason)

    def _record(self, entry: dict, promoted: bool, reason: str) -> dict:
        entry.update(promoted=promoted, reason=reason)
        self.store.append_history(self.name, entry)
        logger.info(f"{self.name}: {'promoted' if promoted else 'not promoted'}: {reason}")
        return entry
