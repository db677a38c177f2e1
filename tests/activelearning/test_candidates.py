"""Which studies a strategy may hand out: labelled and held studies are left out unless the request asks."""
from lib.activelearning.candidates import candidate_pool, holders


class FakeStore:
    def __init__(self, infos: dict, labelled: set):
        self.infos, self.labelled = infos, labelled

    def list_images(self):
        return sorted(self.infos)

    def get_unlabeled_images(self):
        return [i for i in sorted(self.infos) if i not in self.labelled]

    def get_image_info(self, image_id):
        return self.infos[image_id]


NOW = 10_000.0
STORE = FakeStore({
    "free": {},
    "held_by_a": {"strategy": {"random": {"ts": NOW - 60, "client_id": "A"}}},
    "hold_expired": {"strategy": {"first": {"ts": NOW - 7200, "client_id": "A"}}},
    "labelled": {},
}, labelled={"labelled"})


def test_each_client_holds_only_its_latest_study_within_the_hold():
    infos = {
        "a_old": {"strategy": {"random": {"ts": NOW - 100, "client_id": "A"}}},
        "a_new": {"strategy": {"first": {"ts": NOW - 50, "client_id": "A"}}},
        "b": {"strategy": {"random": {"ts": NOW - 200, "client_id": "A"}, "epistemic": {"ts": NOW - 10,
                                                                                       "client_id": "B"}}},
    }
    assert holders(infos, NOW, 3600) == {"a_new": "A", "b": "B"}
    assert holders(infos, NOW, 20) == {"b": "B"}
    assert holders({}, NOW, 3600) == {}


def test_other_annotators_holds_and_labelled_studies_are_left_out():
    pool = candidate_pool({"client_id": "B"}, STORE, 3600, now=NOW)
    assert pool.ids == ("free", "hold_expired")
    assert pool.held == {"held_by_a": "A"} and pool.labeled_excluded == 1


def test_own_hold_is_kept_and_flags_widen_the_pool():
    assert "held_by_a" in candidate_pool({"client_id": "A"}, STORE, 3600, now=NOW).ids
    assert "held_by_a" in candidate_pool({"client_id": "B", "include_held": True}, STORE, 3600, now=NOW).ids
    assert "labelled" in candidate_pool({"client_id": "B", "include_labeled": "true"}, STORE, 3600, now=NOW).ids
    assert "labelled" not in candidate_pool({"client_id": "B", "include_labeled": "no"}, STORE, 3600, now=NOW).ids
