"""Small parts: configuration checks, UIDs, the spine frame round trip, the CLI."""
from __future__ import annotations

import numpy as np
import pytest

from lib.phantom import AcquisitionMode, PhantomConfig
from lib.phantom.sampling import sample_anatomy
from lib.phantom.uids import make_uid, study_id


def test_config_parses_mode_and_rejects_bad_values():
    assert PhantomConfig(acquisition="angled").acquisition is AcquisitionMode.ANGLED
    with pytest.raises(ValueError, match="acquisition|valid"):
        PhantomConfig(acquisition="sideways")
    with pytest.raises(ValueError, match="sagittal_t2_probability"):
        PhantomConfig(sagittal_t2_probability=1.5)
    with pytest.raises(ValueError, match="max_matrix"):
        PhantomConfig(max_matrix=128)


def test_uids_are_deterministic_and_distinct():
    assert make_uid(1, 2, "study") == make_uid(1, 2, "study")
    assert make_uid(1, 2, "study") != make_uid(1, 3, "study")
    assert study_id(7) == "phantom_0007"


def test_spine_frame_round_trip():
    anatomy = sample_anatomy(np.random.default_rng(5))
    rng = np.random.default_rng(0)
    u, v, s = rng.uniform(-60, 60, 500), rng.uniform(-40, 90, 500), rng.uniform(-30, 180, 500)
    body = anatomy.curve.local_to_body(u, v, s)
    back = anatomy.curve.body_to_local(body[:, 0], body[:, 1], body[:, 2])
    assert np.allclose(back, (u, v, s), atol=0.05)
    world = anatomy.pose.to_world(body)
    assert np.allclose(anatomy.pose.to_body(world), body)


def test_cli_writes_dataset(tmp_path):
    from scripts.make_phantoms import main

    assert main(["--out", str(tmp_path), "--n", "1", "--seed", "3", "--acquisition", "angled", "--max-matrix", "256",
                 "--workers", "1"]) == 0
    assert (tmp_path / "truth" / "phantom_0000.json").is_file()
    assert (tmp_path / "truth" / "phantom_0000_labels.nii.gz").is_file()
    assert any((tmp_path / "dicom" / "phantom_0000").rglob("*"))
