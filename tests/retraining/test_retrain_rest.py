"""Continuous retraining through the real app: labels saved with PUT /datastore/label queue a training in MONAI
Label's queue (a subprocess), the new model passes the promotion gate or is kept aside, the history is in /info,
and labels saved while a training or a scoring runs are kept and used by the next round."""
import json

import pytest

from tests.retraining.support import LOOP_CONF, background_done, loop_app, put_label, served_ids, wait_for

CONF = {**LOOP_CONF, "retrain_labels": "2", "retrain_val_fraction": "0.5"}


@pytest.fixture(scope="module")
def app(loop_phantoms, tmp_path_factory):
    mp = pytest.MonkeyPatch()
    with loop_app(loop_phantoms, tmp_path_factory.mktemp("retrain"), CONF, mp) as (client, _, model_dir):
        yield client, loop_phantoms, model_dir
    mp.undo()


def labels_state(model_dir) -> dict:
    path = model_dir / "retraining" / "segmentation.labels.json"
    return json.loads(path.read_text()) if path.exists() else {}


def history(client) -> list[dict]:
    return client.get("/info/").json()["model_history"].get("segmentation", [])


def label_info(client, study) -> dict:
    return client.get(f"/datastore/label/info?label={study}&tag=final").json()


def test_labels_queue_a_retraining_and_a_label_saved_meanwhile_waits_for_the_next(app):
    client, phantoms, model_dir = app
    s0, s1, s2, _ = served_ids(client)
    assert put_label(client, phantoms, s0)["retraining"]["segmentation"] == {"new_labels": 1, "needed": 2,
                                                                             "queued": False}
    assert put_label(client, phantoms, s1)["retraining"]["segmentation"]["queued"] is True

    wait_for(lambda: "running" in labels_state(model_dir), 300, "the queued training to start")
    during = put_label(client, phantoms, s2, {"source": "saved during training"})["retraining"]["segmentation"]
    assert during["new_labels"] == 1 and not during["queued"]  # counted against what the running training reads
    wait_for(lambda: background_done(client, "train"), 300, "the training to finish")

    first = history(client)[-1]
    assert first["trigger"] == "labels" and first["labels"] == 2 and first["promoted"]
    assert first["validation_studies"] == [s1] and first["train_studies"] == 1
    assert first["candidate_metrics"]["dice"] >= 0 and (model_dir / "segmentation.pt").exists()
    assert label_info(client, s2)["source"] == "saved during training"
    assert set(labels_state(model_dir)["finished"]["labels"]) == {s0, s1}


def test_a_label_saved_during_scoring_is_kept_and_the_next_round_uses_it(app):
    client, phantoms, model_dir = app
    s0, s1, s2, s3 = served_ids(client)
    assert client.post("/scoring/epistemic", json={}).status_code == 200  # a background subprocess
    wait_for(lambda: any(f"scoring {s3}" in line for line in client.get("/scoring/").json().get("details", [])),
             180, "the scoring subprocess to be scoring")
    corrected = put_label(client, phantoms, s0, {"source": "corrected during scoring"})["retraining"]["segmentation"]
    assert corrected == {"new_labels": 2, "needed": 2, "queued": True}  # s2 from the last test, s0 corrected
    # Two MONAI Label subprocesses (scoring, then training) each start torch and the app: ~70 s on an idle
    # 2-core machine, several minutes when other jobs share it.
    wait_for(lambda: background_done(client, "scoring") and background_done(client, "train"), 900,
             "scoring and the second training to finish")

    assert label_info(client, s0)["source"] == "corrected during scoring"
    assert label_info(client, s2)["source"] == "saved during training"
    assert client.get(f"/datastore/image/info?image={s3}").json()["scores"]["epistemic"]["value"] >= 0

    second = history(client)[-1]
    assert second["labels"] == 3 and second["new_labels"] == 2
    assert second["validation_studies"] == [s1] and second["train_studies"] == 2  # s2 is trained on this round
    assert set(second["served_metrics"]) == set(second["candidate_metrics"]) >= {"dice", "dice_dural_sac"}
    if second["promoted"]:
        assert second["reason"].startswith("not worse")
    else:
        kept = model_dir / "candidates" / second["kept_at"].rsplit("/", 1)[-1]
        assert (kept / "segmentation.pt").exists() and json.loads((kept / "reason.json").read_text())["reason"]
    assert set(labels_state(model_dir)["finished"]["labels"]) == {s0, s1, s2}
