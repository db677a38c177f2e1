"""Background scoring starts only methods that have studies to (re)score and are not already queued."""
import datetime as dt

from monailabel.utils.async_tasks import utils as async_utils

from lib.activelearning.background import methods_to_start
from lib.activelearning.scoring import BatchedScoring


class Fixed(BatchedScoring):
    def __init__(self, method, version):
        super().__init__(method, "test", batch=2)
        self.version = version

    def current_version(self):
        return self.version

    def score(self, image_id, info, datastore):
        return 1.0, {}


class Store:
    def __init__(self, infos):
        self.infos = infos

    def get_unlabeled_images(self):
        return sorted(self.infos)

    def get_image_info(self, image_id):
        return self.infos[image_id]


def test_only_methods_with_pending_studies_and_no_queued_run_start(monkeypatch):
    store = Store({"a": {"scores": {"fresh": {"value": 1.0, "model_version": "v1"}}}, "b": {}})
    methods = {"fresh": Fixed("fresh", "v1"), "untrained": Fixed("untrained", None),
               "unscored": Fixed("unscored", "v1"), "queued": Fixed("queued", "v1")}
    store.infos["b"] = {"scores": {"fresh": {"value": 2.0, "model_version": "v1"}}}
    now = dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    monkeypatch.setitem(async_utils.background_tasks, "scoring",
                        [{"status": "SUBMITTED", "request": {"method": "queued"}, "start_ts": now},
                         {"status": "DONE", "request": {"method": "unscored"}, "start_ts": now}])
    assert methods_to_start(methods, store) == ["unscored"]
    assert methods_to_start(methods, store, "fresh") == []


def test_a_run_stores_a_bounded_batch_unscored_first(monkeypatch):
    infos = {"a": {"scores": {"m": {"value": 1.0, "model_version": "old", "ts": 5}}}, "b": {}, "c": {}}
    store = Store(infos)
    store.update_image_info = lambda image_id, info: infos[image_id].update(info)
    summary = Fixed("m", "new")({}, store)
    assert summary["scored"] == ["b", "c"] and summary["pending_after"] == 1
    assert Fixed("m", "new")({}, store)["scored"] == ["a"]
    assert Fixed("m", "new").pending(store) == []
