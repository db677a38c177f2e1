"""The fixed validation split: assignment by arrival, never changed once made, shared through its file."""
import pytest

from lib.retraining.split import FixedValidationSplit


def test_every_fifth_labelled_study_goes_to_validation(tmp_path):
    split = FixedValidationSplit(tmp_path / "split.json", 0.2)
    train, val = split.assign([f"s{i}" for i in range(1, 11)])
    assert val == ["s5", "s10"] and len(train) == 8


def test_assignments_never_change_and_are_shared(tmp_path):
    path = tmp_path / "split.json"
    FixedValidationSplit(path, 0.5).assign(["a", "b"])
    train, val = FixedValidationSplit(path, 0.5).assign(["c", "b", "a", "d"])
    assert val == ["b", "d"] and train == ["c", "a"]


def test_first_study_always_trains(tmp_path):
    assert FixedValidationSplit(tmp_path / "s.json", 0.9).assign(["only"]) == (["only"], [])


def test_bad_fraction_is_refused(tmp_path):
    with pytest.raises(ValueError, match="validation fraction"):
        FixedValidationSplit(tmp_path / "s.json", 1.0)
