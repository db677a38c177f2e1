"""The spine core on phantom studies (lib.phantom): level naming, measurements and landmark rules vs truth.

The rule constants were calibrated on phantom seed 7 (tests/spine/phantom_landmarks.py); these studies come from
another seed, so the errors below are held-out errors.
"""
import json

import numpy as np
import pytest

from lib.spine.level_naming import name_levels_in_volume

from .phantom_landmarks import RULE_LANDMARKS, load_cases, rule_errors

try:
    from lib.dicom.loader import load_axial_series
    from lib.phantom import PhantomConfig, generate_dataset
except ImportError as exc:  # written in parallel by other engineers
    pytest.skip(f"lib.phantom or lib.dicom cannot be imported: {exc}", allow_module_level=True)

N_STUDIES, SEED = 4, 2024
#: Bounds from what was measured (distance rule point - truth landmark, facets and foramina pooled, disc scale from
#: level naming as stage 1 should pass it): median 1.26 mm, p90 2.36 mm, max 3.1 mm on 10 held-out studies of
#: seed 7; median 1.33 mm, p90 2.70 mm, max 5.2 mm on these 4 studies of seed 2024 (20 levels, 80 points).
MEDIAN_RULE_ERROR_MM = 2.0
P90_RULE_ERROR_MM = 4.0


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("spine_phantoms")
    generate_dataset(out, N_STUDIES, SEED, PhantomConfig(workers=1))
    return out


@pytest.fixture(scope="module")
def cases(dataset):
    found, problems = load_cases(dataset)
    assert problems == []
    return found


def test_naming_finds_every_level_and_its_mid_disc_slice(dataset):
    """Names must all be right. The mid-disc slice is the truth's or its neighbour: the truth picks the slice nearest
    the generator's grading point (posterior disc margin, midline, mid-disc height), we the one nearest a point
    estimated from the masks, up to ~2.5 mm off along a tilted disc; on angled blocks of an even slice count two
    slices are often equally near and the larger disc area decides. On 30 studies of seed 7, 124 of 150 levels
    matched exactly; every other was a neighbour at most 2.7 mm farther from our point than our choice."""
    import nibabel as nib

    exact = total = 0
    for path in sorted((dataset / "truth").glob("*.json")):
        truth = json.loads(path.read_text())
        series = load_axial_series(dataset / "dicom" / truth["study_id"])
        labels = np.asarray(nib.load(str(path.with_name(f"{truth['study_id']}_labels.nii.gz"))).dataobj)
        geometries = series.geometries()
        naming = name_levels_in_volume(labels, geometries, [list(b) for b in series.blocks])
        assert naming.missing_levels == {} and {str(n.level) for n in naming.levels} == set(truth["levels"])
        for n in naming.levels:
            k = truth["slice_sop_uids"].index(truth["levels"][str(n.level)]["mid_disc_sop_uid"])
            centre = n.grading_point_lps_mm
            ours = abs(geometries[n.slice_index].lps_to_pixel(centre)[2])
            theirs = abs(geometries[k].lps_to_pixel(centre)[2])
            assert k == n.slice_index or (abs(k - n.slice_index) == 1 and theirs - ours < 3.0), (truth["study_id"], n)
            exact += k == n.slice_index
            total += 1
    assert exact >= 0.7 * total


def test_measurements_agree_with_truth(cases, dataset):
    ratios = []
    for case in cases:
        record = json.loads((dataset / "truth" / f"{case.study_id}.json").read_text())["levels"][case.level]
        assert case.measurements.dural_sac_area_mm2 == pytest.approx(record["dural_sac_area_mm2"], rel=0.01)
        assert case.measurements.disc_area_mm2 == pytest.approx(record["disc_area_mm2"], rel=0.01)
        # both are caliper extents; the truth's runs along the spine's true posterior axis, ours along the
        # disc-to-sac direction, a few degrees off on oblique cuts
        for key in ("disc_ap_mm", "dural_sac_ap_mm"):
            ratios.append(getattr(case.measurements, key) / record[key])
    assert np.median(ratios) == pytest.approx(1.0, abs=0.03)
    assert np.percentile(np.abs(np.log(ratios)), 90) < 0.1


def test_rule_landmarks_near_truth(cases):
    errors = rule_errors(cases)
    rules = np.concatenate([errors[n] for n in RULE_LANDMARKS])
    assert len(rules) == 4 * 5 * N_STUDIES
    assert np.median(rules) < MEDIAN_RULE_ERROR_MM
    assert np.percentile(rules, 90) < P90_RULE_ERROR_MM
    assert np.max(errors["dural_sac_centroid"]) < 0.5 and np.max(errors["disc_centroid"]) < 0.5
