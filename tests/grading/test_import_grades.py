"""A grade CSV is validated row by row; one bad row and nothing is imported; a good file is imported whole."""
import importlib.util
from pathlib import Path

from lib.grading.grade_csv import import_grade_csv, read_grade_csv
from lib.grading.labels import JsonGradeLabelStore

ROOT = Path(__file__).resolve().parents[2]
KNOWN = {"s1": "s1", "s2": "s2", "1.2.3.4": "s2"}
HEADER = "study_id,level,central_canal,foramen_left,foramen_right,facet_left,facet_right\n"


def _csv(tmp_path, body, header=HEADER):
    path = tmp_path / "grades.csv"
    path.write_text(header + body)
    return path


def test_bad_rows_are_refused_each_with_its_message_and_nothing_is_stored(tmp_path):
    path = _csv(tmp_path, "s1,L4-L5,mild,yes,no,no,no\n"
                          "s9,L4-L5,mild,yes,no,no,no\n"
                          "s1,L6-L7,mild,yes,no,no,no\n"
                          "s2,L5-S1,terrible,yes,no,no,no\n"
                          "s2,L5-S1,severe,perhaps,no,no,no\n"
                          "s1,L4/L5,normal,no,no,no,no\n")
    store = JsonGradeLabelStore(tmp_path / "store.json")
    result = import_grade_csv(path, store, KNOWN)
    assert result.errors == [
        "row 3: unknown study 's9'",
        "row 4: unknown level 'L6-L7'; expected one of L1-L2, L2-L3, L3-L4, L4-L5, L5-S1",
        "row 5: central_canal 'terrible' is not one of normal, mild, moderate, severe",
        "row 6: foramen_left 'perhaps' is not a yes/no grade (true/false, yes/no, 1/0, normal/stenosis)",
        "row 7: L4-L5 of study 's1' appears twice",
    ]
    assert not (tmp_path / "store.json").exists()


def test_good_file_is_imported_with_uids_level_spellings_and_blank_cells(tmp_path):
    path = _csv(tmp_path, "s1,L4-L5,mild,yes,no,false,true\n"
                          "1.2.3.4,L5/S1,severe,1,0,,\n")
    store = JsonGradeLabelStore(tmp_path / "store.json")
    result = import_grade_csv(path, store, KNOWN)
    assert result.errors == [] and result.rows == 2
    assert store.get("s1") == {"L4-L5": {"central_canal": "mild", "foramen_left": True, "foramen_right": False,
                                         "facet_left": False, "facet_right": True}}
    assert store.get("s2") == {"L5-S1": {"central_canal": "severe", "foramen_left": True, "foramen_right": False}}


def test_unknown_columns_refuse_the_file(tmp_path):
    path = _csv(tmp_path, "s1,L4-L5,mild\n", header="study_id,level,canal\n")
    result = read_grade_csv(path, KNOWN)
    assert len(result.errors) == 1 and "unknown: ['canal']" in result.errors[0]


def import_script():
    """scripts/import_grades.py as a module (run in-process: no second interpreter to start)."""
    spec = importlib.util.spec_from_file_location("import_grades_script", ROOT / "scripts" / "import_grades.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_prints_refusals_and_exits_1(tmp_path, capsys):
    studies = tmp_path / "studies"
    studies.mkdir()
    path = _csv(tmp_path, "s9,L4-L5,mild,yes,no,no,no\n")
    code = import_script().main([str(path), "--studies", str(studies), "--store", str(tmp_path / "s.json")])
    err = capsys.readouterr().err
    assert code == 1
    assert "refused: row 2: unknown study 's9'" in err and "nothing imported" in err
    assert not (tmp_path / "s.json").exists()
