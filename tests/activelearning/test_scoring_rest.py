"""Epistemic scores through the real app: stored in image info in bounded batches, read by the strategy, and
recomputed in the background (MONAI Label's scoring subprocess) after the served model changes."""
import time

import pytest
from monailabel.interfaces.utils.app import app_instance

from lib.model_card import model_version, read_model_card, write_model_card
from tests.retraining.support import LOOP_CONF, background_done, loop_app, put_label, served_ids, wait_for

CONF = {**LOOP_CONF, "activelearning_score_batch": "2"}


@pytest.fixture(scope="module")
def app(loop_phantoms, tmp_path_factory):
    mp = pytest.MonkeyPatch()
    with loop_app(loop_phantoms, tmp_path_factory.mktemp("scoring"), CONF, mp) as (client, _, model_dir):
        app_instance()._auto_update_scoring = False  # scoring runs only when a test asks, until the last test
        yield client, loop_phantoms, model_dir
    mp.undo()


def scores(client, ids) -> dict:
    return {i: client.get(f"/datastore/image/info?image={i}").json().get("scores", {}).get("epistemic") for i in ids}


def score_now(client) -> dict:
    r = client.post("/scoring/epistemic?run_sync=true", json={})
    assert r.status_code == 200, r.text
    return r.json()


def test_nothing_is_scored_before_a_model_is_trained(app):
    client, *_ = app
    summary = score_now(client)
    assert summary["model_version"] is None and summary["scored"] == [] and summary["pending_before"] == 0


def test_scores_are_stored_in_bounded_batches_and_the_strategy_reads_them(app):
    client, phantoms, model_dir = app
    labelled, *unlabelled = served_ids(client)
    put_label(client, phantoms, labelled)
    assert client.post("/train/segmentation?run_sync=true", json={"device": "cpu"}).status_code == 200
    version = model_version(model_dir / "segmentation.pt")

    first, second, third = score_now(client), score_now(client), score_now(client)
    assert len(first["scored"]) == 2 and first["pending_after"] == 1
    assert len(second["scored"]) == 1 and second["pending_after"] == 0 and third["scored"] == []
    stored = scores(client, unlabelled)
    assert all(s["model_version"] == version and s["value"] >= 0 and s["details"]["samples"] == 2
               for s in stored.values())
    assert scores(client, [labelled])[labelled] is None  # labelled studies need no score

    best = max(unlabelled, key=lambda i: stored[i]["value"])
    r = client.post("/activelearning/epistemic", json={"client_id": "A"}).json()
    assert r["id"] == best and r["score"] == pytest.approx(stored[best]["value"])
    assert r["score_model_version"] == version and r["scored_candidates"] == 3 and "fallback" not in r


def test_scores_refresh_in_the_background_after_the_model_changes(app):
    client, _, model_dir = app
    _, *unlabelled = served_ids(client)
    old = model_version(model_dir / "segmentation.pt")
    time.sleep(1.1)  # a card's date has one-second resolution
    card = read_model_card(model_dir / "segmentation.pt")
    write_model_card(model_dir / "segmentation.pt", model="segmentation", data=card["data"],
                     settings=card["settings"], metrics=card["validation"], notes="a newly promoted model")
    new = model_version(model_dir / "segmentation.pt")
    assert new != old
    app_instance()._auto_update_scoring = True

    # Serving reads the stored (now stale) scores at once; the request starts one bounded background run.
    r = client.post("/activelearning/epistemic", json={"client_id": "B", "include_held": True}).json()
    assert r["score_model_version"] == old
    wait_for(lambda: background_done(client, "scoring"), 240, "the first background scoring run")
    versions = [s["model_version"] for s in scores(client, unlabelled).values()]
    assert versions.count(new) == 2 and versions.count(old) == 1

    client.post("/activelearning/epistemic", json={"client_id": "B", "include_held": True})
    wait_for(lambda: background_done(client, "scoring"), 240, "the second background scoring run")
    assert all(s["model_version"] == new for s in scores(client, unlabelled).values())
    runs = client.get("/scoring/?all=true").json()
    assert [t["status"] for t in runs] == ["DONE", "DONE"]
