"""What on_save_label decides: queue a model's retraining once enough new labels of its kinds are saved, never twice."""
from lib.retraining.queue import RetrainQueue
from lib.retraining.settings import RetrainSettings
from tests.retraining.test_labels import FakeStore


def test_models_are_queued_when_their_new_labels_reach_the_threshold(tmp_path):
    store = FakeStore(labels={"a": {"ts": 1}, "b": {"ts": 2, "grades": {"L4-L5": {}}}},
                      image_infos={"a": {}, "b": {}})
    queued = []
    queue = RetrainQueue(str(tmp_path), RetrainSettings(labels=2), ["segmentation", "grading", "landmarks"])
    decided = queue.on_label_saved(store, lambda m, p: queued.append((m, p)), waits=lambda m: False)
    assert queued == [("segmentation", {"trigger": "labels", "new_labels": 2})]
    assert decided["grading"] == {"new_labels": 1, "needed": 2, "queued": False}
    assert decided["landmarks"]["new_labels"] == 0

    waiting = queue.on_label_saved(store, lambda m, p: queued.append(m), waits=lambda m: True)
    assert "already waiting" in waiting["segmentation"]["reason"] and len(queued) == 1


def test_a_queue_that_cannot_be_reached_does_not_fail_the_save(tmp_path):
    store = FakeStore(labels={"a": {"ts": 1}}, image_infos={"a": {}})

    def unreachable(model, params):
        raise ConnectionError("server gone")

    decided = RetrainQueue(str(tmp_path), RetrainSettings(labels=1), ["segmentation"]).on_label_saved(
        store, unreachable, waits=lambda m: False)
    assert decided["segmentation"]["queued"] is False


def test_retraining_is_off_with_zero_labels_or_for_models_not_listed(tmp_path):
    assert RetrainQueue(str(tmp_path), RetrainSettings(labels=0), ["segmentation"]).models == []
    assert RetrainQueue(str(tmp_path), RetrainSettings(models=("grading",)), ["segmentation", "grading"]).models == [
        "grading"]
