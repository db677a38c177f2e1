"""scripts/grade.py as a user runs it (a subprocess): the documented result form and label files."""
import json
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np

from lib.dicom import load_axial_series
from lib.spine.levels import LEVELS
from tests.landmarks.phantoms import study_ids

ROOT = Path(__file__).resolve().parents[2]
LEVEL_KEYS = {"measurements", "landmarks_lps_mm", "slice_sop_uid"}
MEASUREMENTS = {"dural_sac_area_mm2", "disc_area_mm2", "dural_sac_ap_mm", "disc_ap_mm", "area_ratio", "ap_ratio"}
LANDMARKS = {"facet_left", "facet_right", "foramen_left", "foramen_right", "dural_sac_centroid", "disc_centroid"}


#: The V-Net is untrained here (the form is under test, not the masks): run it on 3 mm pixels, one thread, to keep
#: CI fast on shared cores.
FAST = ("--threads", "1", "--conf", "segmentation_spacing_mm", "3.0")


def grade(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "grade.py"), *args, *FAST], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)


def test_grade_writes_the_documented_form_and_one_label_file_per_block(angled_phantom, tmp_path):
    (study_id,) = study_ids(angled_phantom)
    study = angled_phantom / "dicom" / study_id
    out, labels_out = tmp_path / "result.json", tmp_path / "L.nii.gz"
    run = grade("--study", str(study), "--out", str(out), "--labels-out", str(labels_out),
                "--model-dir", str(tmp_path / "no_models"))
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(out.read_text())
    truth = json.loads((angled_phantom / "truth" / f"{study_id}.json").read_text())
    assert result["study_uid"] == truth["study_uid"] and result["series_uid"] == truth["series_uid"]
    assert set(result["models"]) >= {"segmentation", "landmarks"} and result["models"]["landmarks"] == "rules"
    assert set(result["levels"]) | set(result["missing_levels"]) == {str(lv) for lv in LEVELS}
    assert not set(result["levels"]) & set(result["missing_levels"])
    for entry in result["levels"].values():
        assert LEVEL_KEYS <= set(entry) and set(entry["measurements"]) == MEASUREMENTS
        assert set(entry["landmarks_lps_mm"]) == LANDMARKS and entry["slice_sop_uid"] in truth["slice_sop_uids"]
    assert all(isinstance(reason, str) and reason for reason in result["missing_levels"].values())
    assert result["grading"].startswith(("added", "not added"))

    series = load_axial_series(study)
    files = sorted(tmp_path.glob("L_block*.nii.gz"))
    assert len(files) == len(series.blocks) > 1 and not labels_out.exists()
    for b, (_, affine, block) in enumerate(series.block_volumes()):
        img = nib.load(str(tmp_path / f"L_block{b}.nii.gz"))
        assert img.shape == (series.slices[0].geometry.columns, series.slices[0].geometry.rows, len(block))
        assert np.allclose(img.affine, affine, atol=1e-3)
        assert img.get_data_dtype() == np.uint8


def test_grade_contiguous_writes_one_label_file_with_the_true_affine(contiguous_phantom, tmp_path):
    (study_id,) = study_ids(contiguous_phantom)
    study = contiguous_phantom / "dicom" / study_id
    run = grade("--study", str(study), "--out", str(tmp_path / "r.json"), "--labels-out", str(tmp_path / "L.nii.gz"),
                "--model-dir", str(tmp_path / "no_models"), "--report", str(tmp_path / "report"))
    assert run.returncode == 0, run.stderr[-3000:]
    html = (tmp_path / "report" / "report.html").read_text()
    result = json.loads((tmp_path / "r.json").read_text())
    assert all(level in html for level in [*result["levels"], *result["missing_levels"]])
    assert all((tmp_path / "report" / f"{level}.png").exists() for level in result["levels"])
    series = load_axial_series(study)
    img = nib.load(str(tmp_path / "L.nii.gz"))
    assert img.shape[2] == len(series.slices) and np.allclose(img.affine, series.stacked_volume()[1], atol=1e-3)


def test_grade_of_a_folder_without_dicom_exits_2_with_the_reason(tmp_path):
    (tmp_path / "empty").mkdir()
    out = tmp_path / "r.json"
    run = grade("--study", str(tmp_path / "empty"), "--out", str(out))
    assert run.returncode == 2
    result = json.loads(out.read_text())
    assert result["error"] and result["levels"] == {} and len(result["missing_levels"]) == 5
