"""A local Orthanc (Debian packages ``orthanc`` + ``orthanc-dicomweb``) for ``make serve-pacs`` and the tests.

Configuration: ``scripts/orthanc/orthanc.json`` (kept in the repository: remote access refused, DICOM port off,
DICOMweb at ``/dicom-web/``) plus a ``runtime.json`` written here with the HTTP port and the storage folder. Orthanc
reads both from one configuration folder. Orthanc has no bind-address option: it listens on every interface and
``RemoteAccessAllowed: false`` makes it refuse every host but this one.

Nothing here runs at import. ``start_orthanc`` returns once ``/system`` answers (or raises with the log's tail);
``OrthancServer.stop`` ends the process it started, and only that one.
"""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
#: The configuration kept in the repository (static part).
BASE_CONFIG = REPO / "scripts" / "orthanc" / "orthanc.json"
#: Where Debian's orthanc-dicomweb puts the plugin (named in BASE_CONFIG).
DICOMWEB_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")


class OrthancError(RuntimeError):
    """Orthanc is missing, did not start in time, or refused an upload."""


def orthanc_binary() -> str | None:
    """Path of the Orthanc executable (``/usr/sbin/Orthanc`` on Debian), or None when not installed."""
    return shutil.which("Orthanc") or next((p for p in ("/usr/sbin/Orthanc",) if Path(p).exists()), None)


def missing_orthanc() -> str | None:
    """Why Orthanc cannot be started here (binary or DICOMweb plugin absent), or None when it can."""
    if orthanc_binary() is None:
        return "Orthanc is not installed (apt-get install -y orthanc orthanc-dicomweb; scripts/orthanc/install.sh)"
    if not DICOMWEB_PLUGIN.exists():
        return f"the Orthanc DICOMweb plugin is missing ({DICOMWEB_PLUGIN}; apt-get install -y orthanc-dicomweb)"
    return None


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(work_dir: Path, port: int) -> Path:
    """A configuration folder: the repository's orthanc.json plus runtime.json (port, storage). Returns the folder."""
    conf_dir = work_dir / "config"
    conf_dir.mkdir(parents=True, exist_ok=True)
    storage = work_dir / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(BASE_CONFIG, conf_dir / "orthanc.json")
    runtime = {"HttpPort": int(port), "StorageDirectory": str(storage), "IndexDirectory": str(storage)}
    (conf_dir / "runtime.json").write_text(json.dumps(runtime, indent=1))
    return conf_dir


@dataclass
class OrthancServer:
    """A running Orthanc started by ``start_orthanc``."""

    port: int
    work_dir: Path
    process: subprocess.Popen
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def dicomweb_url(self) -> str:
        """The DICOMweb root to give MONAI Label as ``--studies``."""
        return f"{self.url}/dicom-web"

    def log_tail(self, n_chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n_chars:]
        except OSError:
            return ""

    def stop(self, timeout_s: float = 10.0) -> None:
        """Terminate the process (SIGTERM, then SIGKILL after ``timeout_s``) and wait for it."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=timeout_s)


def start_orthanc(work_dir: Path, port: int | None = None, timeout_s: float = 30.0) -> OrthancServer:
    """Start Orthanc with its storage under ``work_dir`` on ``port`` (a free one if None); wait until it answers."""
    reason = missing_orthanc()
    if reason:
        raise OrthancError(reason)
    work_dir = Path(work_dir).resolve()
    port = port or free_port()
    conf_dir = write_config(work_dir, port)
    log_path = work_dir / "orthanc.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen([orthanc_binary(), str(conf_dir)], stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    server = OrthancServer(port, work_dir, process, log_path)
    try:
        wait_until_up(server, timeout_s)
    except OrthancError:
        server.stop()
        raise
    return server


def wait_until_up(server: OrthancServer, timeout_s: float) -> None:
    """Poll ``/system`` until Orthanc answers 200 (at most ``timeout_s``); OrthancError with the log otherwise."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise OrthancError(f"Orthanc exited with code {server.process.returncode}:\n{server.log_tail()}")
        try:
            if requests.get(f"{server.url}/system", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise OrthancError(f"Orthanc did not answer on port {server.port} within {timeout_s:g} s:\n{server.log_tail()}")


@dataclass(frozen=True)
class UploadReport:
    """What ``upload_folder`` sent: files stored, files Orthanc refused (path: reason)."""

    stored: int
    refused: dict[str, str]


def upload_folder(orthanc_url: str, folder: Path, timeout_s: float = 30.0) -> UploadReport:
    """POST every file under ``folder`` (any depth) to Orthanc's ``/instances``; non-DICOM files are refused.

    Idempotent: Orthanc keeps one copy per SOP instance UID (``OverwriteInstances``).
    """
    stored, refused = 0, {}
    with requests.Session() as session:
        for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
            try:
                r = session.post(f"{orthanc_url}/instances", data=path.read_bytes(), timeout=timeout_s,
                                 headers={"Content-Type": "application/dicom"})
            except requests.RequestException as e:
                raise OrthancError(f"upload of {path} to {orthanc_url} failed: {e}") from e
            if r.status_code == 200:
                stored += 1
            else:
                refused[str(path)] = f"HTTP {r.status_code}: {r.text[:200]}"
    return UploadReport(stored, refused)
