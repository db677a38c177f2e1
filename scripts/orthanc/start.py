"""Start Orthanc with the repository's configuration on a loopback port and keep it in the foreground.

    python scripts/orthanc/start.py --port 8042 --dir work/orthanc

Storage lives under ``--dir`` (kept between runs). Ctrl-C stops it. Installs nothing: scripts/orthanc/install.sh does.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lib.pacs.orthanc_server import start_orthanc  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8042)
    parser.add_argument("--dir", type=Path, default=Path("work/orthanc"), help="storage and log folder")
    args = parser.parse_args(argv)
    server = start_orthanc(args.dir, args.port)
    print(f"Orthanc up: {server.url} (DICOMweb {server.dicomweb_url}); log {server.log_path}", flush=True)
    try:
        return server.process.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
