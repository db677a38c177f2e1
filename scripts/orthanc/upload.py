"""Upload every DICOM file under a folder to Orthanc (idempotent: one copy per SOP instance).

    python scripts/orthanc/upload.py --url http://127.0.0.1:8042 datasets/phantoms/dicom
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lib.pacs.orthanc_server import upload_folder  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--url", default="http://127.0.0.1:8042", help="Orthanc's REST root (not /dicom-web)")
    args = parser.parse_args(argv)
    report = upload_folder(args.url, args.folder)
    for path, reason in report.refused.items():
        print(f"refused {path}: {reason}", file=sys.stderr)
    print(f"{report.stored} instance(s) stored in {args.url}, {len(report.refused)} file(s) refused")
    return 0 if report.stored else 1


if __name__ == "__main__":
    sys.exit(main())
