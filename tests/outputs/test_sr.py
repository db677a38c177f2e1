"""The DICOM SR is valid, references the series' images and reads back with the grades that were written."""
import pydicom
import pytest

from lib.grading.grade import grade_study
from lib.outputs.sr import read_grades_sr, write_grades_sr
from tests.grading.synthetic import make_series, stage1_result, tiny_models, write_dicom


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sr")
    series = write_dicom(make_series(spacing=1.0), folder / "dicom")
    grades = grade_study(series, stage1_result(series, levels=("L3-L4", "L4-L5")), tiny_models())
    return series, grades, write_grades_sr(folder, grades, series)


def test_sr_is_a_comprehensive_sr_in_the_imaged_study(written):
    series, _, path = written
    ds = pydicom.dcmread(path)
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.33"  # Comprehensive SR
    assert ds.Modality == "SR" and ds.StudyInstanceUID == series.study_uid
    assert ds.SeriesInstanceUID != series.series_uid and ds.PatientID == "SYN001"
    assert ds.ContentTemplateSequence[0].TemplateIdentifier == "1500"


def test_sr_reads_back_with_the_grades_and_references(written):
    series, grades, path = written
    back = read_grades_sr(path)
    assert back["referenced_series_uids"] == [series.series_uid]
    assert back["referenced_sop_uids"] == sorted({e["slice_sop_uid"] for e in grades["levels"].values()})
    assert set(back["levels"]) == set(grades["levels"])
    for level, entry in grades["levels"].items():
        got = back["levels"][level]
        assert got["central_canal"] == entry["central_canal"]["grade"]
        assert got["central_canal_tree"] == entry["central_canal"]["tree_grade"]
        assert got["tree_rule"] == entry["central_canal"]["tree_rule"]
        assert got["source_sop_uids"] == [entry["slice_sop_uid"]]
        for region, finding in (("foramen_left", "stenosis"), ("foramen_right", "stenosis"),
                                ("facet_left", "arthropathy"), ("facet_right", "arthropathy")):
            assert got[region] is entry[region][finding]
            assert got["measurements"][f"p_{region}"] == pytest.approx(entry[region]["probability"])
        assert got["measurements"]["dural_sac_area_mm2"] == pytest.approx(entry["measurements"]["dural_sac_area_mm2"])
        assert set(got["landmarks_scoord"]) == set(entry["landmarks_lps_mm"])


def test_landmark_points_land_on_the_right_pixel(written):
    series, grades, path = written
    back = read_grades_sr(path)
    entry = grades["levels"]["L4-L5"]
    geometry = next(s.geometry for s in series.slices if s.sop_instance_uid == entry["slice_sop_uid"])
    for name, point in entry["landmarks_lps_mm"].items():
        row, col, _ = geometry.lps_to_pixel(point)
        got = back["levels"]["L4-L5"]["landmarks_scoord"][name]
        assert got["sop_uid"] == entry["slice_sop_uid"]
        assert got["point"] == pytest.approx([col + 0.5, row + 0.5], abs=1e-3)
