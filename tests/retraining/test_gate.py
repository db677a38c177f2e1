"""The promotion gate's decision, in both directions, and moving a candidate's files."""
import json

import pytest

from lib.retraining.gate import decide, keep_aside, publish


def test_first_model_is_promoted_without_comparison():
    d = decide({"dice": 0.1}, None, served_exists=False, n_validation=0)
    assert d.promoted and "no model was served" in d.reason


@pytest.mark.parametrize("candidate, promoted", [(0.71, True), (0.70, True), (0.69, False)])
def test_not_worse_is_promoted_worse_is_kept(candidate, promoted):
    d = decide({"dice": candidate}, {"dice": 0.70}, served_exists=True, n_validation=3)
    assert d.promoted is promoted
    assert d.reason.startswith("not worse" if promoted else "worse than the served model on 3 validation studies")
    assert f"{candidate:.4f}" in d.reason and "0.7000" in d.reason


def test_every_shared_metric_must_be_not_worse_and_tolerance_applies():
    served = {"dice_dural_sac": 0.8, "dice_disc": 0.6}
    assert not decide({"dice_dural_sac": 0.9, "dice_disc": 0.55}, served, served_exists=True, n_validation=2).promoted
    assert decide({"dice_dural_sac": 0.9, "dice_disc": 0.55}, served, served_exists=True, n_validation=2,
                  tolerance=0.06).promoted


def test_lower_is_better_metrics_compare_the_other_way():
    kw = dict(served_exists=True, n_validation=0, lower_is_better={"model_median_error_mm"})
    assert decide({"landmarks.model_median_error_mm": 1.0}, {"landmarks.model_median_error_mm": 2.0}, **kw).promoted
    worse = decide({"landmarks.model_median_error_mm": 3.0}, {"landmarks.model_median_error_mm": 2.0}, **kw)
    assert not worse.promoted and "3.0000 > served 2.0000" in worse.reason


def test_a_candidate_that_cannot_be_validated_is_kept_unless_asked():
    kept = decide(None, {"dice": 0.5}, served_exists=True, n_validation=0)
    assert not kept.promoted and "could not be validated" in kept.reason
    assert decide(None, {"dice": 0.5}, served_exists=True, n_validation=0, promote_unvalidated=True).promoted
    nan = decide({"dice": float("nan")}, {"dice": 0.5}, served_exists=True, n_validation=1)
    assert not nan.promoted


def test_publish_moves_files_and_keep_aside_records_the_reason(tmp_path):
    served, cand = tmp_path / "model", tmp_path / "model" / "candidates" / ".staging"
    cand.mkdir(parents=True)
    (served / "m.pt").write_bytes(b"old")
    (cand / "m.pt").write_bytes(b"new")
    (cand / "m.card.json").write_text("{}")
    assert publish(cand, served) == ["m.card.json", "m.pt"]  # weights last
    assert (served / "m.pt").read_bytes() == b"new" and not cand.exists()
    cand.mkdir()
    (cand / "m.pt").write_bytes(b"worse")
    dest = keep_aside(cand, served / "candidates" / "m-20261124-100000", {"reason": "worse"})
    assert (dest / "m.pt").read_bytes() == b"worse" and (served / "m.pt").read_bytes() == b"new"
    assert json.loads((dest / "reason.json").read_text())["reason"] == "worse"
