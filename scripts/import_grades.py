"""Import a radiology team's grade CSV as training labels: ``python scripts/import_grades.py CSV --studies DIR``.

One row per study and level (columns: study_id or study_uid, level, central_canal, foramen_left, foramen_right,
facet_left, facet_right; see lib/grading/grade_csv.py). Every row is validated first; if any row is refused (unknown
study, unknown level, invalid grade, duplicate), each refusal is printed with its row number and nothing is imported
(exit status 1). Grades go into the datastore over DIR (image info ``grade_labels``, read by the ``grading`` and
``canal_tree`` trainers), or into a JSON file with ``--store FILE``.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("MONAI_LABEL_TRACKING_ENABLED", "false")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("csv", type=Path, help="grade CSV, one row per study and level")
    p.add_argument("--studies", type=Path, required=True, help="the DICOM studies folder the app serves")
    p.add_argument("--store", type=Path, help="write to this JSON grade store instead of the datastore")
    p.add_argument("--dry-run", action="store_true", help="validate only")
    return p.parse_args(argv)


def known_studies(datastore) -> dict[str, str]:
    """Study ids and Study Instance UIDs -> study id, from the datastore's image info."""
    known = {}
    for image_id in datastore.list_images():
        known[image_id] = image_id
        uid = (datastore.get_image_info(image_id) or {}).get("study_uid")
        if uid:
            known[str(uid)] = image_id
    return known


def main(argv=None) -> int:
    args = parse_args(argv)
    from lib.datastore.dicom_folder import DicomFolderDatastore
    from lib.grading.grade_csv import import_grade_csv, read_grade_csv
    from lib.grading.labels import DatastoreGradeLabelStore, JsonGradeLabelStore

    if not args.csv.is_file():
        print(f"error: no such file {args.csv}", file=sys.stderr)
        return 2
    datastore = DicomFolderDatastore(str(args.studies))
    known = known_studies(datastore)
    if args.dry_run:
        result = read_grade_csv(args.csv, known)
    else:
        store = JsonGradeLabelStore(args.store) if args.store else DatastoreGradeLabelStore(datastore)
        result = import_grade_csv(args.csv, store, known)
    if result.errors:
        for message in result.errors:
            print(f"refused: {message}", file=sys.stderr)
        print(f"nothing imported: {len(result.errors)} problem(s) in {result.rows} row(s) of {args.csv}",
              file=sys.stderr)
        return 1
    levels = sum(len(v) for v in result.grades.values())
    verb = "would import" if args.dry_run else "imported"
    print(f"{verb} {levels} level(s) of {len(result.grades)} study(ies) from {args.csv}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
