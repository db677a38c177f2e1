"""Real servers for the PACS tests: Orthanc (Debian packages) with phantom studies, and the app on its DICOMweb root.

Everything binds 127.0.0.1 on free ports, every wait is bounded, and every process started here is stopped (its own
process group) and its folders removed at the end. A test that needs Orthanc, Chromium or Node is skipped, with the
reason, only when the program itself is missing; .ci/run installs them.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from lib.pacs.orthanc_server import OrthancServer, free_port, missing_orthanc, start_orthanc, upload_folder

REPO = Path(__file__).resolve().parents[2]
os.environ.setdefault("MONAI_LABEL_TRACKING_ENABLED", "false")

#: Phantom studies of seed 7: phantom_0000 contiguous (+ 3-plane localizer), phantom_0001 angled (5 blocks of 3),
#: phantom_0002 angled (5 blocks of 5, + localizer).
PHANTOM_N, PHANTOM_SEED = 3, 7
#: Train settings small enough for seconds on 2 CPU cores.
TINY_TRAIN_CONF = {
    "segmentation_max_epochs": "1",
    "segmentation_crop_px": "64",
    "segmentation_crops_per_image": "2",
    "segmentation_val_split": "0.0",
}
APP_START_TIMEOUT_S = 240


def require_orthanc() -> None:
    reason = missing_orthanc()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def pacs_phantoms(tmp_path_factory) -> Path:
    """Phantom studies with truth (see PHANTOM_N / PHANTOM_SEED)."""
    from lib.phantom import generate_dataset

    out = tmp_path_factory.mktemp("pacs_phantoms")
    generate_dataset(out, PHANTOM_N, PHANTOM_SEED)
    return out


@pytest.fixture(scope="session")
def truth(pacs_phantoms) -> dict[str, dict]:
    """Truth JSON of each phantom study, by study_id."""
    return {p.stem: json.loads(p.read_text()) for p in sorted((pacs_phantoms / "truth").glob("phantom_*.json"))}


@pytest.fixture(scope="session")
def orthanc(pacs_phantoms, tmp_path_factory) -> OrthancServer:
    """A real Orthanc on a free loopback port holding the phantom studies."""
    require_orthanc()
    work = tmp_path_factory.mktemp("orthanc")
    server = start_orthanc(work, timeout_s=30)
    try:
        report = upload_folder(server.url, pacs_phantoms / "dicom")
        assert report.stored > 0 and not report.refused, report
        yield server
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def orthanc_series(orthanc: OrthancServer, **filters) -> list[dict]:
    """QIDO series search straight on Orthanc (DICOM JSON)."""
    r = requests.get(f"{orthanc.dicomweb_url}/series", params=filters, timeout=10)
    r.raise_for_status()
    return r.json() if r.content else []


def orthanc_instance_count(orthanc: OrthancServer) -> int:
    return int(requests.get(f"{orthanc.url}/statistics", timeout=10).json()["CountInstances"])


@dataclass
class AppServer:
    url: str
    process: subprocess.Popen
    log_path: Path
    model_dir: Path
    cache_dir: Path

    def log_tail(self, n: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-n:] if self.log_path.exists() else ""


def _stop_group(process: subprocess.Popen, timeout_s: float = 20.0) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout_s)


def write_fixture_weights(path: Path) -> Path:
    """Deterministic untrained V-Net weights (seed 0) whose output is never empty.

    The browser test checks the flow and that an overlay appears, not accuracy; a randomly initialised network can
    answer all background. Seed 0 with a small bias towards label 1 labels about half of a phantom block.
    """
    import torch

    from lib.networks import segmentation_vnet

    torch.manual_seed(0)
    state = segmentation_vnet().state_dict()
    state["out_tr.conv2.bias"] = torch.tensor([0.0, 0.1, 0.0])
    torch.save(state, path)
    return path


def start_app_server(studies: str, work: Path, conf: dict[str, str]) -> AppServer:
    """``monailabel start_server`` (as its launcher runs it) on a free loopback port; waits for /info/."""
    port = free_port()
    model_dir, cache_dir = work / "model", work / "cache"
    model_dir.mkdir(parents=True, exist_ok=True)
    chosen = os.environ.get("PACS_TEST_SEGMENTATION_WEIGHTS")  # e.g. model/segmentation.pt for README screenshots
    if chosen:
        shutil.copy(chosen, model_dir / "segmentation.pt")
    else:
        write_fixture_weights(model_dir / "segmentation.pt")
    conf = {"models": "all", "model_dir": str(model_dir), "pacs_cache_dir": str(cache_dir),
            "pacs_connect_timeout_s": "2", "pacs_read_timeout_s": "30", **TINY_TRAIN_CONF, **conf}
    command = [sys.executable, "-m", "monailabel.main", "start_server", "--app", str(REPO), "--studies", studies,
               "--host", "127.0.0.1", "--port", str(port)]
    for key, value in conf.items():
        command += ["--conf", key, value]
    env = {**os.environ, "PYTHONPATH": str(REPO), "MONAI_LABEL_TRACKING_ENABLED": "false",
           "MONAI_LABEL_SESSION_PATH": str(work / "sessions")}
    log_path = work / "app.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    server = AppServer(f"http://127.0.0.1:{port}", process, log_path, model_dir, cache_dir)
    deadline = time.monotonic() + APP_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited with code {process.returncode}:\n{server.log_tail()}")
        try:
            if requests.get(f"{server.url}/info/", timeout=5).status_code == 200:
                return server
        except requests.RequestException:
            pass
        time.sleep(1.0)
    _stop_group(process)
    raise RuntimeError(f"the app did not answer /info/ within {APP_START_TIMEOUT_S} s:\n{server.log_tail()}")


@pytest.fixture(scope="session")
def app_server(orthanc, tmp_path_factory) -> AppServer:
    """The app (``monailabel start_server``) on Orthanc's DICOMweb root, all models, untrained weights."""
    work = tmp_path_factory.mktemp("app_server")
    started = time.monotonic()
    server = start_app_server(orthanc.dicomweb_url, work, {})
    server.start_s = time.monotonic() - started
    try:
        yield server
    finally:
        _stop_group(server.process)
        shutil.rmtree(work, ignore_errors=True)
