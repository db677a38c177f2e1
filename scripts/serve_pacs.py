"""Serve the app on a local Orthanc: start Orthanc, upload the phantom studies, run MONAI Label on its DICOMweb root.

    python scripts/serve_pacs.py --studies datasets/phantoms/dicom            # what `make serve-pacs` runs

Orthanc listens on --orthanc-port (refusing other hosts) with its storage in --work/orthanc, kept between runs;
uploading again is harmless (one copy per SOP instance). MONAI Label then starts on --host:--port with
``--studies http://127.0.0.1:<orthanc-port>/dicom-web``; extra arguments after ``--`` go to ``monailabel
start_server`` (e.g. ``-- --conf models segmentation``). Ctrl-C stops both.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lib.pacs.orthanc_server import start_orthanc, upload_folder  # noqa: E402


def monailabel_command(dicomweb_url: str, host: str, port: int, cache_dir: Path, extra: list[str]) -> list[str]:
    """The ``monailabel start_server`` command line for the app on the PACS."""
    return [sys.executable, "-m", "monailabel.main", "start_server", "--app", str(REPO), "--studies", dicomweb_url,
            "--host", host, "--port", str(port), "--conf", "models", "all", "--conf", "pacs_cache_dir", str(cache_dir),
            *extra]


def stop(app: subprocess.Popen) -> int:
    """Stop the app: SIGINT (uvicorn's clean shutdown), then SIGTERM, then SIGKILL."""
    for sig, wait_s in ((signal.SIGINT, 20), (signal.SIGTERM, 10)):
        app.send_signal(sig)
        try:
            return app.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            continue
    app.kill()
    return app.wait()


def _terminate(signum, frame):
    raise KeyboardInterrupt  # SIGTERM: stop the app and Orthanc like Ctrl-C does


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=Path, default=REPO / "datasets" / "phantoms" / "dicom")
    parser.add_argument("--work", type=Path, default=REPO / "work" / "pacs", help="Orthanc storage and app cache")
    parser.add_argument("--orthanc-port", type=int, default=8042)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("extra", nargs="*", help="after --: more monailabel start_server arguments")
    args = parser.parse_args(argv)

    signal.signal(signal.SIGTERM, _terminate)
    orthanc = start_orthanc(args.work / "orthanc", args.orthanc_port)
    print(f"Orthanc: {orthanc.url} (DICOMweb {orthanc.dicomweb_url}), storage {args.work / 'orthanc'}", flush=True)
    try:
        if args.studies.is_dir():
            report = upload_folder(orthanc.url, args.studies)
            print(f"Uploaded {report.stored} instance(s) from {args.studies} ({len(report.refused)} refused)",
                  flush=True)
        # what the `monailabel` launcher does, without its unquoted "$*" and its `python` from PATH
        env = {**os.environ, "MONAI_LABEL_TRACKING_ENABLED": "false",
               "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)}
        command = monailabel_command(orthanc.dicomweb_url, args.host, args.port, args.work / "cache", args.extra)
        print("Starting:", " ".join(command), flush=True)
        app = subprocess.Popen(command, env=env, cwd=REPO)
        try:
            return app.wait()
        except KeyboardInterrupt:
            return stop(app)
    finally:
        orthanc.stop()


if __name__ == "__main__":
    sys.exit(main())
