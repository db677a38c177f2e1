"""Stage 1 from the phantom truth masks: all five levels, named right, measured within a few % of truth."""
import json

import numpy as np
import pytest

from lib.datastore.work_images import write_work_image
from lib.dicom import load_axial_series, read_label_nifti
from lib.pipeline.evaluation import level_named_right
from lib.pipeline.run_stage1 import Stage1Runner
from lib.spine.levels import LEVELS
from tests.landmarks.phantoms import study_ids


@pytest.mark.parametrize("acquisition", ["contiguous", "angled"])
def test_truth_masks_give_all_levels_with_measurements_near_truth(acquisition, request, tmp_path):
    data = request.getfixturevalue(f"{acquisition}_phantom")
    (study_id,) = study_ids(data)
    truth = json.loads((data / "truth" / f"{study_id}.json").read_text())
    series = load_axial_series(data / "dicom" / study_id, study_id=study_id)
    work = write_work_image(series, tmp_path / "images", tmp_path / "geometry", signature="")
    labels = read_label_nifti(data / "truth" / f"{study_id}_labels.nii.gz")[0]
    doc = Stage1Runner().run(work.image_path, label=labels).document

    assert truth["acquisition"] == acquisition
    assert list(doc["levels"]) == [str(lv) for lv in LEVELS] and doc["missing_levels"] == {}
    assert doc["study_uid"] == truth["study_uid"] and doc["series_uid"] == truth["series_uid"]
    for level, entry in doc["levels"].items():
        t = truth["levels"][level]
        assert level_named_right(level, entry["landmarks_lps_mm"]["disc_centroid"], truth["levels"])
        assert entry["slice_sop_uid"] in truth["slice_sop_uids"]
        m = entry["measurements"]
        assert m["dural_sac_area_mm2"] == pytest.approx(t["dural_sac_area_mm2"], rel=0.05), level
        assert m["disc_area_mm2"] == pytest.approx(t["disc_area_mm2"], rel=0.05), level
        assert m["dural_sac_ap_mm"] == pytest.approx(t["dural_sac_ap_mm"], rel=0.08), level
        assert m["disc_ap_mm"] == pytest.approx(t["disc_ap_mm"], rel=0.08), level
        for name in ("facet_left", "facet_right", "foramen_left", "foramen_right"):
            error = np.linalg.norm(np.subtract(entry["landmarks_lps_mm"][name], t["landmarks_lps_mm"][name]))
            assert error < 8.0, (level, name, error)  # the rules, from the true masks


def test_a_dural_sac_drawn_small_shows_as_a_negative_signed_error_in_the_evaluation(contiguous_phantom, tmp_path):
    """The evaluation reports the bias, not only the size, of measurement errors: a sac mask eroded by one pixel
    gives a negative signed area error at every level, and the summary's median says so."""
    from scipy.ndimage import binary_erosion

    from lib.pipeline.evaluation import StudyEvaluation, evaluate_levels, summarise

    data = contiguous_phantom
    (study_id,) = study_ids(data)
    truth = json.loads((data / "truth" / f"{study_id}.json").read_text())
    series = load_axial_series(data / "dicom" / study_id, study_id=study_id)
    work = write_work_image(series, tmp_path / "images", tmp_path / "geometry", signature="")
    labels = read_label_nifti(data / "truth" / f"{study_id}_labels.nii.gz")[0]
    small = labels.copy()
    for k in range(labels.shape[2]):
        sac = labels[:, :, k] == 1
        small[:, :, k][sac & ~binary_erosion(sac)] = 0
    out = Stage1Runner().run(work.image_path, label=small)
    records = evaluate_levels(out.document, truth, out.series.geometries, out.rule_landmarks)
    signed = [r["measurement_signed_pct"]["dural_sac_area_mm2"] for r in records]
    assert len(signed) == 5 and all(s < -3.0 for s in signed), signed
    assert [r["measurement_abs_pct"]["dural_sac_area_mm2"] for r in records] == [-s for s in signed]
    study = StudyEvaluation(study_id, {})
    study.levels = records
    summary = summarise([study])
    assert summary["measurement_median_signed_pct"]["dural_sac_area_mm2"] == pytest.approx(float(np.median(signed)))
