"""The landmark trainer learns from landmarks in final labels' info (phantom truth or an annotator's correction),
writes weights and a card comparing model and rules, and inference uses the model only when the card says so."""
import json

import numpy as np
import pytest
import torch

from lib.landmarks.dataset import Jitter, example_arrays
from lib.landmarks.exports import slicer_markups
from lib.landmarks.heatmaps import MIRROR_ORDER, mirror
from lib.landmarks.model import LandmarkModel, LandmarkModelFile, model_decision
from lib.landmarks.settings import LandmarksSettings
from lib.landmarks.training import split_cases
from lib.model_card import read_model_card, write_model_card
from lib.trainers.landmarks import Landmarks, datastore_examples
from lib.training.phantom_datastore import phantom_training_datastore
from tests.landmarks.phantoms import phantom_set

TINY = dict(size_px=48, spacing_mm=1.5, max_epochs=1, batch_size=4, val_fraction=0.5)


@pytest.fixture(scope="module")
def datastore(tmp_path_factory):
    data = phantom_set(tmp_path_factory, "contiguous", n=2, seed=5)
    return phantom_training_datastore(data)


def test_split_is_fixed_per_case_and_keeps_both_sides():
    ids = [f"study{i}" for i in range(20)]
    train, val = split_cases(ids, 0.2)
    assert set(train) | set(val) == set(ids) and not set(train) & set(val) and val
    train2, val2 = split_cases(ids + ["new1", "new2"], 0.2)
    assert set(val) <= set(val2) and set(train) <= set(train2)  # old cases never change side
    assert split_cases(["a", "b"], 0.2)[1] and split_cases(["a", "b"], 0.2)[0]


def test_examples_come_from_final_label_info(datastore):
    examples, skipped = datastore_examples(datastore)
    assert len({e.case_id for e in examples}) == 2 and not skipped
    assert len(examples) == 10
    e = examples[0]
    assert set(e.truth) == {"facet_left", "facet_right", "foramen_left", "foramen_right"}


def test_mirroring_an_example_swaps_left_and_right_heatmaps(datastore):
    example = datastore_examples(datastore)[0][3]
    spec = LandmarksSettings(**{k: v for k, v in TINY.items() if k in ("size_px", "spacing_mm")}).crop_spec()
    x, y, w = example_arrays(example, spec, Jitter())
    xm, ym, wm = example_arrays(example, spec, Jitter(mirror=True))
    np.testing.assert_allclose(ym[0], y[1][:, ::-1], atol=1e-6)  # facet_left <- mirrored facet_right
    np.testing.assert_allclose(ym[3], y[2][:, ::-1], atol=1e-6)  # foramen_right <- mirrored foramen_left
    np.testing.assert_allclose(xm[:3], x[:3, :, ::-1], atol=1e-6)  # image and masks just flip
    np.testing.assert_allclose(xm[3:], mirror(x[3:], MIRROR_ORDER), atol=1e-6)  # rule priors swap too
    assert wm.tolist() == w[list(MIRROR_ORDER)].tolist()


def test_annotator_corrections_in_label_info_are_what_is_learnt(datastore, tmp_path):
    image_id = sorted(datastore.get_labeled_images())[0]
    info = datastore.get_label_info(image_id, "final")
    corrected = json.loads(json.dumps(info["landmarks_lps_mm"]))
    corrected["L4-L5"]["facet_left"] = list(np.add(corrected["L4-L5"]["facet_left"], [2.0, 1.0, 0.0]))
    label = datastore.get_label_uri(image_id, "final")
    copy = tmp_path / "label.nii.gz"
    copy.write_bytes(open(label, "rb").read())
    try:
        datastore.save_label(image_id, str(copy), "final", {"landmarks_lps_mm": corrected})  # as PUT /datastore/label
        examples = {(e.case_id, e.level_slice.level): e for e in datastore_examples(datastore)[0]}
        assert examples[(image_id, "L4-L5")].truth["facet_left"] == corrected["L4-L5"]["facet_left"]
        datastore.save_label(image_id, str(copy), "final", {"slicer_markups": slicer_markups({"levels": {
            "L3-L4": {"landmarks_lps_mm": corrected["L3-L4"]}}})})  # a Slicer markups document instead
        levels = {e.level_slice.level for e in datastore_examples(datastore)[0] if e.case_id == image_id}
        assert levels == {"L3-L4"}
    finally:
        datastore.save_label(image_id, str(copy), "final", info)


def test_train_task_writes_weights_and_a_card_comparing_with_the_rules(datastore, tmp_path):
    weights = tmp_path / "model" / "landmarks.pt"
    task = Landmarks(weights, LandmarksSettings(**TINY))
    torch.manual_seed(0)
    stats = task({"max_epochs": 2}, datastore)
    assert weights.exists() and stats["published"]
    card = read_model_card(weights)
    v = card["validation"]
    assert card["model"] == "landmarks" and v["epochs"] == 2 and v["n_levels"] == 5
    assert v["model_median_error_mm"] > 0 and v["rules_median_error_mm"] > 0
    assert v["model_beats_rules"] == (v["model_median_error_mm"] < v["rules_median_error_mm"])
    assert set(v["model_median_error_mm_by_landmark"]) == {"facet_left", "facet_right", "foramen_left",
                                                           "foramen_right"}
    assert len(card["data"]["train_studies"]) == 1 and len(card["data"]["validation_studies"]) == 1
    model = LandmarkModel.load(weights)
    assert model.spec.size_px == 48 and len(model.predict_many([e.level_slice for e in
                                                                datastore_examples(datastore)[0][:2]])) == 2

    # inference uses the model only when its card says it beat the rules
    use, reason = model_decision(weights, "auto")
    assert use == v["model_beats_rules"] and ("did not beat" in reason or "<" in reason)
    write_model_card(weights, model="landmarks", data={}, settings={}, metrics={
        "model_median_error_mm": 1.0, "rules_median_error_mm": 2.0, "model_beats_rules": True})
    assert LandmarkModelFile(weights).get()[0] is not None
    write_model_card(weights, model="landmarks", data={}, settings={}, metrics={
        "model_median_error_mm": 3.0, "rules_median_error_mm": 2.0, "model_beats_rules": False})
    model_, reason = LandmarkModelFile(weights).get()
    assert model_ is None and "did not beat the rules' 2.00 mm" in reason
    assert LandmarkModelFile(weights, "always").get()[0] is not None
    assert LandmarkModelFile(weights, "never").get()[0] is None
    assert model_decision(tmp_path / "absent.pt")[1].startswith("rules: no trained landmark model")
