"""No label lost: the server and a training or scoring process, each with its own copy of the datastore index,
write to it in turn; every label and every score survives, whoever writes last."""
import json

import nibabel as nib
import numpy as np
import pytest
from monailabel.datastore.local import LocalDatastore

from lib.activelearning.scores import stored_score, write_score
from lib.retraining.shared_index import SharedIndexMixin


class SharedLocal(SharedIndexMixin, LocalDatastore):
    pass


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "studies"
    root.mkdir()
    for i in range(3):
        nib.save(nib.Nifti1Image(np.zeros((4, 4, 2), np.float32), np.eye(4)), root / f"s{i}.nii.gz")
    label = tmp_path / "label.nii.gz"
    nib.save(nib.Nifti1Image(np.ones((4, 4, 2), np.uint8), np.eye(4)), label)
    return root, label


def test_a_stale_process_writing_a_score_keeps_the_label_the_server_saved(folder):
    root, label = folder
    server, scorer = SharedLocal(str(root)), SharedLocal(str(root))  # both loaded before the label exists
    server.save_label("s0", str(label), "final", {"grades": {"L4-L5": {"central_canal": "mild"}}})
    write_score(scorer, "s1", "epistemic", {"value": 0.3, "model_version": "v1", "ts": 1})
    server.update_image_info("s2", {"strategy": {"random": {"ts": 5, "client_id": "A"}}})
    fresh = SharedLocal(str(root))
    assert fresh.get_labeled_images() == ["s0"]
    assert fresh.get_label_info("s0", "final")["grades"] == {"L4-L5": {"central_canal": "mild"}}
    assert stored_score(fresh.get_image_info("s1"), "epistemic")["value"] == 0.3
    assert fresh.get_image_info("s2")["strategy"]["random"]["client_id"] == "A"
    assert sorted(server.get_unlabeled_images()) == ["s1", "s2"] and scorer.get_labeled_images() == ["s0"]


def test_two_methods_scoring_one_study_keep_both_scores(folder):
    root, _ = folder
    a, b = SharedLocal(str(root)), SharedLocal(str(root))
    write_score(a, "s0", "epistemic", {"value": 0.1, "model_version": "v1", "ts": 1})
    write_score(b, "s0", "grading_uncertainty", {"value": 0.9, "model_version": "g", "ts": 1})
    scores = SharedLocal(str(root)).get_image_info("s0")["scores"]
    assert set(scores) == {"epistemic", "grading_uncertainty"}


def test_the_index_file_is_replaced_whole(folder):
    root, label = folder
    store = SharedLocal(str(root))
    store.save_label("s1", str(label), "final", {})
    assert json.loads((root / "datastore_v2.json").read_text())["objects"]["s1"]["labels"]["final"]
    assert not list(root.glob("datastore_v2.json.*.tmp"))
