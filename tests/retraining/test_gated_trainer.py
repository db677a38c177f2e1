"""The real gate around a small test trainer whose validation metric the test chooses: the better model is served in
both directions, the worse one is kept aside with its reason, every training is in the history, and labels saved
during a training (or left by a failed one) count toward the next round."""
import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from monailabel.datastore.local import LocalDatastore
from monailabel.interfaces.tasks.train import TrainTask

from lib.model_card import write_model_card
from lib.retraining.evaluators import CardMetric
from lib.retraining.gated_trainer import GatedTrainTask
from lib.retraining.queue import RetrainQueue
from lib.retraining.settings import RetrainSettings
from lib.retraining.shared_index import SharedIndexMixin


class SharedLocal(SharedIndexMixin, LocalDatastore):
    pass


class ScoreTrainer(TrainTask):
    """Publishes ``fake.pt`` (holding ``score``) and its card into ``model_dir``; records the studies it saw."""

    def __init__(self, model_dir: Path):
        super().__init__("test trainer")
        self.model_dir = str(model_dir)
        self.score, self.seen, self.during = 0.0, [], None

    def __call__(self, request, datastore):
        self.seen = sorted(Path(d["image"]).name.split(".")[0] for d in datastore.datalist())
        if self.during:
            self.during()
        if self.score is None:
            raise RuntimeError("training diverged")
        path = Path(self.model_dir) / "fake.pt"
        torch.save({"w": torch.tensor([self.score])}, path)
        write_model_card(path, model="fake", data={"seen": self.seen}, settings={}, metrics={"score": self.score})
        return {"best_metric": self.score}


class WeightsValue:
    """A fixed-split evaluator: the value stored in the weights, when there are validation studies."""

    uses_fixed_split = True
    lower_is_better = frozenset()
    description = "test metric on the fixed split"

    def evaluate(self, weights_dir, names, val_ids, datastore):
        return {"value": float(torch.load(Path(weights_dir) / "fake.pt")["w"][0])} if val_ids else None


@pytest.fixture
def store(tmp_path):
    root = tmp_path / "studies"
    root.mkdir()
    for i in range(5):
        nib.save(nib.Nifti1Image(np.zeros((4, 4, 2), np.float32), np.eye(4)), root / f"s{i}.nii.gz")
    label = tmp_path / "label.nii.gz"
    nib.save(nib.Nifti1Image(np.ones((4, 4, 2), np.uint8), np.eye(4)), label)
    ds = SharedLocal(str(root))
    ds.save_label_for_test = lambda i: ds.save_label(f"s{i}", str(label), "final", {"source": "test"})
    return ds


def gated(tmp_path, evaluator, **settings):
    model_dir = tmp_path / "model"
    model_dir.mkdir(exist_ok=True)
    trainer = ScoreTrainer(model_dir)
    return trainer, GatedTrainTask("fake", trainer, model_dir, evaluator, RetrainSettings(**settings)), model_dir


def served_value(model_dir: Path) -> float:
    return float(torch.load(model_dir / "fake.pt")["w"][0])


def test_card_metric_gate_keeps_the_better_model_in_both_directions(tmp_path, store):
    trainer, task, model_dir = gated(tmp_path, CardMetric())
    for i in range(2):
        store.save_label_for_test(i)
    results = []
    for score in (0.5, 0.7, 0.6):
        trainer.score = score
        results.append(task({"trigger": "test"}, store)["gate"])
    assert [r["promoted"] for r in results] == [True, True, False]
    assert served_value(model_dir) == pytest.approx(0.7)
    assert "fake.score 0.7000 >= served 0.5000" in results[1]["reason"]
    assert "fake.score 0.6000 < served 0.7000" in results[2]["reason"]
    kept = Path(results[2]["kept_at"])
    assert kept.parent == model_dir / "candidates" and kept.name.startswith("fake-")
    assert float(torch.load(kept / "fake.pt")["w"][0]) == pytest.approx(0.6)
    assert json.loads((kept / "reason.json").read_text())["reason"] == results[2]["reason"]
    history = json.loads((model_dir / "retraining" / "fake.history.json").read_text())
    assert [h["promoted"] for h in history] == [True, True, False]
    assert all(h["labels"] == 2 and h["version"] and h["date"] and h["trigger"] == "test" for h in history)
    assert history[1]["candidate_metrics"] == {"fake.score": 0.7}
    assert history[1]["served_metrics"] == {"fake.score": 0.5}
    assert not list((model_dir / "candidates").glob(".staging-*"))


def test_fixed_split_is_held_out_of_training_and_used_for_both_models(tmp_path, store):
    trainer, task, model_dir = gated(tmp_path, WeightsValue(), val_fraction=0.5)
    for i in range(4):
        store.save_label_for_test(i)
    trainer.score = 0.4
    first = task({}, store)["gate"]
    assert first["promoted"] and len(first["validation_studies"]) == 2 and first["train_studies"] == 2
    assert not set(trainer.seen) & set(first["validation_studies"])
    trainer.score = 0.3
    worse = task({}, store)["gate"]
    assert not worse["promoted"] and worse["validation_studies"] == first["validation_studies"]
    assert worse["candidate_metrics"] == {"value": pytest.approx(0.3)}
    assert worse["served_metrics"] == {"value": pytest.approx(0.4)} and served_value(model_dir) == pytest.approx(0.4)
    trainer.score = 0.9
    assert task({}, store)["gate"]["promoted"] and served_value(model_dir) == pytest.approx(0.9)


def test_a_label_saved_during_training_counts_for_the_next_round(tmp_path, store):
    trainer, task, model_dir = gated(tmp_path, CardMetric(), labels=1)
    queue = RetrainQueue(str(model_dir), RetrainSettings(labels=1), ["fake"])
    for i in range(2):
        store.save_label_for_test(i)
    server = SharedLocal(store._datastore_path)  # the server's own copy of the index, as in another process
    trainer.score = 0.5
    trainer.during = lambda: server.save_label("s2", str(tmp_path / "label.nii.gz"), "final", {"source": "during"})
    entry = task({}, store)["gate"]
    assert entry["labels"] == 2 and trainer.seen == ["s0", "s1"]
    assert queue.new_labels(server, "fake") == ["s2"]  # not lost, not counted as trained on
    assert SharedLocal(store._datastore_path).get_label_info("s2", "final")["source"] == "during"
    trainer.during = None
    trainer.score = 0.6
    assert task({}, store)["gate"]["labels"] == 3 and "s2" in trainer.seen
    assert queue.new_labels(store, "fake") == []


def test_labels_of_a_failed_training_count_again(tmp_path, store):
    trainer, task, model_dir = gated(tmp_path, CardMetric())
    queue = RetrainQueue(str(model_dir), RetrainSettings(labels=1), ["fake"])
    store.save_label_for_test(0)
    trainer.score = None
    with pytest.raises(RuntimeError, match="diverged"):
        task({}, store)
    assert queue.new_labels(store, "fake") == ["s0"]
    history = json.loads((model_dir / "retraining" / "fake.history.json").read_text())
    assert not history[-1]["promoted"] and "training failed" in history[-1]["reason"]
    assert not (model_dir / "fake.pt").exists()
