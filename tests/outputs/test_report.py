"""The HTML report exists, shows every graded level with its image and rule, and lists missing levels."""
import html
import re

import numpy as np

from lib.grading.grade import grade_study
from lib.outputs.report import write_report
from tests.grading.synthetic import make_series, stage1_result, tiny_models


def test_report_has_a_png_per_level_with_grades_rule_and_missing_levels(tmp_path):
    series = make_series(spacing=1.0)
    grades = grade_study(series, stage1_result(series, missing={"L1-L2": "disc not found"}), tiny_models())
    labels = np.zeros((series.slices[0].pixels.shape[1], series.slices[0].pixels.shape[0], len(series.slices)), np.uint8)
    labels[55:65, 70:80, :] = 1
    path = write_report(tmp_path, grades, series, labels)
    page = path.read_text()
    images = re.findall(r'<img src="([^"]+)"', page)
    assert sorted(images) == sorted(f"{lv}.png" for lv in grades["levels"])
    for name in images:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for entry in grades["levels"].values():
        assert html.escape(entry["central_canal"]["tree_rule"]) in page
    assert "L1-L2: disc not found" in page


def test_a_stage_1_result_without_grades_gets_a_report_that_says_so(tmp_path):
    series = make_series(spacing=1.0)
    result = stage1_result(series, missing={"L1-L2": "disc not found"})  # no stage 2 models where it ran
    path = write_report(tmp_path, result, series)
    page = path.read_text()
    assert sorted(re.findall(r'<img src="([^"]+)"', page)) == sorted(f"{lv}.png" for lv in result["levels"])
    assert page.count("not graded (stage 2 models not trained)") == len(result["levels"])
    assert "L1-L2: disc not found" in page
