"""Where grades reach people: grades.json (grades_json), a DICOM Comprehensive SR (sr), an HTML report (report)."""
