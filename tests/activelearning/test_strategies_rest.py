"""Strategies through the real app: valid unlabelled studies, other annotators' studies left alone unless asked,
grading_uncertainty from stored grades, and a clear fallback when nothing is scored yet."""
import json

import pytest

from tests.activelearning.test_grading_uncertainty import CONFIDENT, UNSURE, grades, level
from tests.retraining.support import LOOP_CONF, loop_app, put_label, served_ids


@pytest.fixture(scope="module")
def app(loop_phantoms, tmp_path_factory):
    mp = pytest.MonkeyPatch()
    with loop_app(loop_phantoms, tmp_path_factory.mktemp("strategies"), LOOP_CONF, mp) as (client, *_):
        yield client, loop_phantoms
    mp.undo()


def next_study(client, strategy: str, **params) -> dict:
    r = client.post(f"/activelearning/{strategy}", json=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_info_lists_the_strategies_and_scoring_methods(app):
    client, _ = app
    info = client.get("/info/").json()
    assert {"random", "first", "epistemic", "grading_uncertainty"} <= set(info["strategies"])
    assert {"epistemic", "grading_uncertainty"} <= set(info["scoring"])
    assert info["model_history"] == {}


def test_held_and_labelled_studies_are_not_handed_to_another_annotator(app):
    client, phantoms = app
    ids = served_ids(client)
    mine = next_study(client, "first", client_id="A")
    assert mine["id"] == ids[0] and mine["candidates"] == len(ids)
    theirs = {next_study(client, s, client_id="B")["id"] for s in ("first", "random", "random", "random", "epistemic")}
    assert ids[0] not in theirs and theirs <= set(ids)
    assert next_study(client, "first", client_id="B")["held_by_others"] == 1
    assert next_study(client, "first", client_id="A")["id"] == ids[0]  # an annotator keeps their own study
    assert next_study(client, "first", client_id="B", include_held=True)["id"] == ids[0]

    put_label(client, phantoms, ids[0])
    for strategy in ("first", "random", "epistemic", "grading_uncertainty"):
        for client_id in ("A", "C"):
            assert next_study(client, strategy, client_id=client_id)["id"] != ids[0]
    reviewed = next_study(client, "first", client_id="A", include_labeled=True, include_held=True)
    assert reviewed["id"] == ids[0]


def test_a_scored_strategy_without_scores_says_it_chose_at_random(app):
    client, _ = app
    r = next_study(client, "epistemic", client_id="D", include_held=True)
    assert r["fallback"] == "random" and "no candidate study has a stored 'epistemic' score" in r["reason"]
    assert r["id"] in served_ids(client)


def test_grading_uncertainty_serves_the_most_uncertain_graded_study(app):
    client, _ = app
    unlabelled = [i for i in served_ids(client)
                  if not client.get(f"/datastore/label/info?label={i}&tag=final").json()]
    docs = {unlabelled[0]: grades(CONFIDENT, CONFIDENT), unlabelled[1]: grades(UNSURE, CONFIDENT),
            unlabelled[2]: grades(UNSURE, UNSURE)}
    for image_id, doc in docs.items():  # graded (and the earlier tests' holds over)
        r = client.put(f"/datastore/image/info?image={image_id}",
                       data={"info": json.dumps({"grades": doc, "strategy": {}})})
        assert r.status_code == 200, r.text
    summary = client.post("/scoring/grading_uncertainty?run_sync=true", json={}).json()
    assert sorted(summary["scored"]) == sorted(docs) and summary["pending_after"] == 0
    stored = {i: client.get(f"/datastore/image/info?image={i}").json()["scores"]["grading_uncertainty"]
              for i in docs}
    assert stored[unlabelled[0]]["value"] < stored[unlabelled[1]]["value"] < stored[unlabelled[2]]["value"]
    first = next_study(client, "grading_uncertainty", client_id="E", include_held=True)
    assert first["id"] == unlabelled[2] and first["score"] == pytest.approx(stored[unlabelled[2]]["value"])
    second = next_study(client, "grading_uncertainty", client_id="F")  # E now holds the most uncertain one
    assert second["id"] == unlabelled[1] and second["held_by_others"] == 1

    # Graded again: only that study's score is stale and recomputed.
    regraded = grades(level((0.3, 0.3, 0.2, 0.2), "mild", "severe", 0.45), UNSURE)
    client.put(f"/datastore/image/info?image={unlabelled[0]}", data={"info": json.dumps({"grades": regraded})})
    again = client.post("/scoring/grading_uncertainty?run_sync=true", json={}).json()
    assert again["scored"] == [unlabelled[0]]
    assert client.post("/scoring/grading_uncertainty?run_sync=true", json={}).json()["scored"] == []
