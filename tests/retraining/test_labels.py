"""Which saved labels count for which model, and when a label counts as new."""
from lib.retraining.labels import LabelKind, kinds_fed, label_fingerprints, new_since


class FakeStore:
    def __init__(self, labels: dict, image_infos: dict):
        self.labels, self.infos = labels, image_infos

    def get_labeled_images(self):
        return sorted(self.labels)

    def get_label_info(self, image_id, tag):
        return self.labels[image_id]

    def get_label_uri(self, image_id, tag):
        return ""

    def list_images(self):
        return sorted(self.infos)

    def get_image_info(self, image_id):
        return self.infos[image_id]


STORE = FakeStore(
    labels={"mask_only": {"ts": 1}, "with_landmarks": {"ts": 2, "landmarks_lps_mm": {"L4-L5": {}}},
            "with_grades": {"ts": 3, "grades": {"L4-L5": {"central_canal": "mild"}}}},
    image_infos={"mask_only": {}, "with_landmarks": {}, "with_grades": {},
                 "imported": {"grade_labels": {"L5-S1": {"central_canal": "severe"}}}},
)


def test_each_model_counts_the_kinds_it_learns_from():
    assert set(label_fingerprints(STORE, kinds_fed("segmentation"))) == {"mask_only", "with_landmarks", "with_grades"}
    assert set(label_fingerprints(STORE, kinds_fed("landmarks"))) == {"with_landmarks"}
    assert set(label_fingerprints(STORE, kinds_fed("grading"))) == {"with_grades", "imported"}
    assert kinds_fed("canal_tree") == {LabelKind.GRADES} and kinds_fed("some_new_model") == {LabelKind.MASK}


def test_a_label_saved_again_or_regraded_is_new():
    before = label_fingerprints(STORE, kinds_fed("grading"))
    STORE.labels["with_grades"] = {**STORE.labels["with_grades"], "ts": 9}
    STORE.infos["imported"] = {"grade_labels": {"L5-S1": {"central_canal": "moderate"}}}
    after = label_fingerprints(STORE, kinds_fed("grading"))
    assert new_since(after, before) == ["imported", "with_grades"]
    assert new_since(after, after) == []


def test_carry_over_keeps_old_landmarks_and_grades_only_where_the_new_info_is_silent():
    from lib.retraining.labels import carry_over_label_info

    old = {"landmarks_lps_mm": {"L4-L5": {"facet_left": [1, 2, 3]}}, "grades": {}, "source": "slicer"}
    assert carry_over_label_info(old, {"source": "ohif"}) == {
        "source": "ohif", "landmarks_lps_mm": old["landmarks_lps_mm"], "carried_over": ["landmarks_lps_mm"]}
    new = {"landmarks_lps_mm": {"L4-L5": {"facet_left": [9, 9, 9]}}, "grades": {"L4-L5": {"central_canal": "mild"}}}
    assert carry_over_label_info(old, new) == new
    assert carry_over_label_info(None, {"a": 1}) == {"a": 1}


def test_landmarks_in_any_form_replace_all_old_landmarks():
    from lib.retraining.labels import carry_over_label_info

    old = {"landmarks_lps_mm": {"L4-L5": {"facet_left": [1, 2, 3]}}, "grades": {"L4-L5": {"central_canal": "mild"}}}
    merged = carry_over_label_info(old, {"slicer_markups": {"markups": []}})
    assert "landmarks_lps_mm" not in merged and merged["grades"] == old["grades"] and merged["carried_over"] == ["grades"]
