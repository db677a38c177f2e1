"""Same seed, same study; grades follow the anatomy they were read from."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from lib.phantom import PhantomConfig, generate_study

FAST = PhantomConfig(acquisition="angled", max_matrix=256, workers=1, sagittal_t2_probability=0.0,
                     localizer_probability=0.0, axial_t1_probability=0.0)


def test_same_seed_same_study():
    a, b = generate_study(3, 11, FAST), generate_study(3, 11, FAST)
    assert a.truth == b.truth
    assert all(np.array_equal(x, y) for x, y in zip(a.axial_t2.pixels, b.axial_t2.pixels))
    assert np.array_equal(a.labels, b.labels)


def test_other_seed_or_index_other_study():
    a, b, c = generate_study(3, 11, FAST), generate_study(3, 12, FAST), generate_study(4, 11, FAST)
    assert a.truth["study_uid"] != b.truth["study_uid"] != c.truth["study_uid"]
    assert a.truth["levels"] != b.truth["levels"]


@pytest.fixture(scope="module")
def enriched_levels() -> list[dict]:
    """Levels of a small dataset enriched in stenosis (so that every grade occurs)."""
    config = PhantomConfig(acquisition="angled", max_matrix=256, workers=1, sagittal_t2_probability=0.0,
                           localizer_probability=0.0, axial_t1_probability=0.0, severity_boost=1.6)
    return [lv for i in range(8) for lv in generate_study(i, 7, config).truth["levels"].values()]


def test_mean_sac_area_falls_with_canal_grade(enriched_levels):
    means = []
    for grade in ("normal", "mild", "moderate", "severe"):
        areas = [lv["dural_sac_area_mm2"] for lv in enriched_levels if lv["central_canal"] == grade]
        assert areas, f"no {grade} level in the sample"
        means.append(np.mean(areas))
    assert means[0] > means[1] > means[2] > means[3]


def test_crowding_and_ratio_follow_grade(enriched_levels):
    normal = [lv for lv in enriched_levels if lv["central_canal"] == "normal"]
    severe = [lv for lv in enriched_levels if lv["central_canal"] in ("moderate", "severe")]
    ratio = lambda lv: lv["dural_sac_area_mm2"] / lv["disc_area_mm2"]  # noqa: E731
    assert np.mean([ratio(lv) for lv in normal]) > np.mean([ratio(lv) for lv in severe])
    assert np.mean([lv["anatomy"]["rootlet_crowding"] for lv in severe]) > np.mean([lv["anatomy"]["rootlet_crowding"] for lv in normal])


def test_foramen_and_facet_calls_follow_their_scores(enriched_levels):
    for kind in ("foramen", "facet"):
        pos, neg = [], []
        for lv in enriched_levels:
            for side in ("left", "right"):
                (pos if lv[f"{kind}_{side}"] else neg).append(lv["anatomy"][f"{kind}_{side}"]["reader_score"])
        assert pos and neg, kind
        assert np.mean(pos) > np.mean(neg) + 0.2, kind


def test_import_needs_neither_torch_nor_monailabel():
    code = "import sys, lib.phantom; bad = [m for m in ('torch', 'monailabel') if m in sys.modules]; assert not bad, bad"
    subprocess.run([sys.executable, "-c", code], check=True)
