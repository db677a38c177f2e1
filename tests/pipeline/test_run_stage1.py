"""Stage1Runner and the landmarks infer task on synthetic series: geometry sources, bad inputs, empty series."""
import json

import numpy as np
import pytest

from lib.dicom import write_nifti
from lib.pipeline.run_stage1 import Stage1Error, Stage1Runner, geometries_from_affine, sidecar_path
from lib.spine.geometry import stacked_affine_ras
from lib.spine.levels import LEVELS
from tests.landmarks.synthetic import axial_geometries, synthetic_volumes, write_work_image


class FakeSegmentation:
    """Stands in for the segmentation infer task: answers ``pred`` like BasicInferTask with skip_writer."""

    def __init__(self, labels):
        self.labels = labels
        self.requests = []

    def __call__(self, request):
        self.requests.append(request)
        return None, {"pred": self.labels, "image_path": request["image"]}


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    geometries = axial_geometries(flip_rows=True)
    image, labels = synthetic_volumes(geometries)
    work = tmp_path_factory.mktemp("work")
    return geometries, image, labels, write_work_image(work, "s1", geometries, image)


def test_runs_the_segmentation_task_and_names_five_levels(series):
    geometries, _, labels, path = series
    seg = FakeSegmentation(labels)
    out = Stage1Runner(segmentation=seg).run(path)
    assert seg.requests == [{"image": str(path), "skip_writer": True, "device": "cpu"}]
    doc = out.document
    assert list(doc["levels"]) == [str(lv) for lv in LEVELS] and doc["missing_levels"] == {}
    assert doc["study_uid"] == "1.2.826.0.9" and doc["series_uid"] == "1.2.826.0.9.1"
    assert doc["models"] == {"segmentation": "unknown", "landmarks": "rules"}
    assert doc["landmark_source"] == "rules" and "no landmark model" in doc["landmark_model"]
    entry = doc["levels"]["L4-L5"]
    assert entry["slice_sop_uid"] == f"1.2.826.0.1.{entry['slice_index'] + 1}"
    assert set(out.timings) == {"segmentation", "naming_measurements", "landmarks"}
    assert out.rule_landmarks["L4-L5"] == entry["landmarks_lps_mm"]


def test_plain_nifti_without_sidecar_gets_geometry_from_its_affine(series, tmp_path):
    geometries, image, labels, path = series
    plain = write_nifti(image, stacked_affine_ras(geometries), tmp_path / "plain.nii.gz")
    assert not sidecar_path(plain).exists()
    a = Stage1Runner().run(path, label=labels).document
    b = Stage1Runner().run(plain, label=labels).document
    assert b["study_uid"] is None and b["levels"]["L1-L2"]["slice_sop_uid"].startswith("plain#")
    for level in a["levels"]:
        for name, p in a["levels"][level]["landmarks_lps_mm"].items():
            assert np.allclose(p, b["levels"][level]["landmarks_lps_mm"][name], atol=1e-3)


def test_geometries_from_affine_match_the_true_planes(series):
    geometries, image, _, _ = series
    derived = geometries_from_affine(stacked_affine_ras(geometries), image.shape)
    for g, d in zip(geometries, derived):
        assert np.allclose(g.origin, d.origin) and np.allclose(g.row_direction, d.row_direction)
        assert np.allclose(g.pixel_spacing_mm, d.pixel_spacing_mm) and (g.rows, g.columns) == (d.rows, d.columns)


def test_series_without_spine_lists_every_level_missing_with_a_reason(series):
    _, _, labels, path = series
    out = Stage1Runner(segmentation=FakeSegmentation(np.zeros_like(labels))).run(path)
    assert out.document["levels"] == {}
    assert set(out.document["missing_levels"]) == {str(lv) for lv in LEVELS}
    assert all("no disc" in reason for reason in out.document["missing_levels"].values())


@pytest.mark.parametrize("case", ["missing", "empty id", "one slice", "sagittal", "wrong label", "not nifti"])
def test_bad_input_raises_stage1_error_saying_why(case, series, tmp_path):
    geometries, image, labels, path = series
    label = labels
    if case == "missing":
        path, expect = tmp_path / "nope.nii.gz", "does not exist"
    elif case == "empty id":
        path, expect = "", "does not exist"
    elif case == "one slice":
        path = write_work_image(tmp_path, "one", geometries[:1], image[:, :, :1])
        label, expect = labels[:, :, :1], r"has 1 slice\(s\)"
    elif case == "sagittal":
        sag = np.eye(4)[[2, 1, 0, 3]]  # i -> z, k -> x: planes facing the patient's side
        path = write_nifti(image[:, :, :5], sag, tmp_path / "sag.nii.gz")
        label, expect = labels[:, :, :5], "not axial"
    elif case == "wrong label":
        label, expect = labels[:, :, :-1], "label has shape"
    else:
        path = tmp_path / "x.nrrd"
        path.write_text("no")
        expect = "NIfTI"
    with pytest.raises(Stage1Error, match=expect):
        Stage1Runner().run(path, label=label)


def test_infer_task_answers_bad_input_with_an_error_result_not_an_exception(series, tmp_path):
    from lib.infers.landmarks import Landmarks
    from lib.landmarks.model import LandmarkModelFile
    from lib.landmarks.settings import LandmarksSettings

    _, _, labels, path = series
    task = Landmarks(FakeSegmentation(labels), LandmarkModelFile(tmp_path / "landmarks.pt"), LandmarksSettings())
    file, result = task({"image": str(tmp_path / "unknown.nii.gz")})
    assert file is None and "does not exist" in result["error"]
    assert result["levels"] == {} and set(result["missing_levels"]) == {str(lv) for lv in LEVELS}
    json.dumps(result)

    file, result = task({"image": str(path), "device": "cpu"})
    assert file.endswith(".nii.gz") and "error" not in result
    assert result["label_names"] == {"facet_left": 1, "facet_right": 2, "foramen_left": 3, "foramen_right": 4}
    assert len(result["slicer_markups"]["markups"][0]["controlPoints"]) == 20
    assert result["landmark_source"] == "rules" and set(result["latencies"]) >= {"segmentation", "total"}
    json.dumps(result)

    file, _ = task({"image": str(path), "result_file": "markups"})
    assert file.endswith(".mrk.json") and json.loads(open(file).read())["markups"][0]["type"] == "Fiducial"

    _, data = task({"image": str(path), "pipeline_mode": True})
    assert data["stage1"].labels.shape == labels.shape and data["landmark_map"].max() == 4


def test_infer_task_answers_a_readable_image_it_cannot_use_with_an_empty_aligned_label(series, tmp_path):
    import nibabel as nib

    from lib.infers.landmarks import Landmarks
    from lib.landmarks.model import LandmarkModelFile
    from lib.landmarks.settings import LandmarksSettings

    geometries, image, labels, _ = series
    one = write_work_image(tmp_path, "one", geometries[:1], image[:, :, :1])
    task = Landmarks(FakeSegmentation(labels[:, :, :1]), LandmarkModelFile(tmp_path / "landmarks.pt"),
                     LandmarksSettings())
    file, result = task({"image": str(one), "device": "cpu"})
    assert "slice" in result["error"] and result["levels"] == {}
    written, source = nib.load(file), nib.load(str(one))
    assert written.shape[:3] == source.shape[:3] and np.allclose(written.affine, source.affine)
    assert not np.asarray(written.dataobj).any()  # nothing found, and output=image still gets a file
