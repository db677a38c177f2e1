"""The annotator loop driven through the real app (REST, TestClient) on small phantoms, for tests/activelearning and
tests/retraining: phantom studies cached per test session, an app whose background tasks (training and scoring
subprocesses) can start, labels saved the way OHIF and Slicer save them, and waiting for background tasks."""
from __future__ import annotations

import json
import os
import shutil
import socket
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from filelock import FileLock

from tests.app.conftest import REPO, TINY_CONF, make_client

#: Tiny models and quick scoring; retraining on its own only where a test asks (retrain_labels).
LOOP_CONF = {
    **TINY_CONF,
    "models": "segmentation",
    "activelearning_epistemic_samples": "2",
    "activelearning_epistemic_max_slices": "2",
    "activelearning_score_every_minutes": "0",
    "retrain_labels": "0",
    "retrain_val_fraction": "0.5",
}


def cached_phantoms(tmp_path_factory, n: int = 4, seed: int = 11) -> Path:
    """``n`` small phantom studies (256 matrix), generated once per test session and shared by the test folders."""
    from lib.phantom import PhantomConfig, generate_dataset

    out = tmp_path_factory.getbasetemp() / f"loop_phantoms_{n}_{seed}"
    with FileLock(str(out) + ".lock"):
        if not (out / "done").exists():
            shutil.rmtree(out, ignore_errors=True)
            generate_dataset(out, n, seed, PhantomConfig(max_matrix=256, workers=2))
            (out / "done").write_text("ok")
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def loop_app(phantoms: Path, work: Path, conf: dict, monkeypatch) -> Iterator[tuple]:
    """(client, studies folder, model dir) of a fresh app over a copy of the phantom studies.

    The environment lets MONAI Label's training and scoring subprocesses find this app and these studies; their
    call-backs to "the server" go to a closed port, never to a server someone else runs on this machine.
    """
    studies, model_dir = work / "studies", work / "model"
    shutil.copytree(phantoms / "dicom", studies)
    app_conf = {**conf, "model_dir": str(model_dir)}
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("MONAI_LABEL_APP_DIR", str(REPO))
    monkeypatch.setenv("MONAI_LABEL_STUDIES", str(studies))
    monkeypatch.setenv("MONAI_LABEL_APP_CONF", json.dumps(app_conf))
    monkeypatch.setenv("MONAI_LABEL_SERVER_PORT", str(free_port()))
    monkeypatch.setenv("MONAI_LABEL_TRACKING_ENABLED", "false")
    forget_finished_background_tasks()
    with make_client(studies, model_dir, conf) as client:
        yield client, studies, model_dir


def forget_finished_background_tasks() -> None:
    """Start an app the way a fresh server process starts: with no background task records.

    MONAI Label keeps its train/scoring task records in module globals (monailabel.utils.async_tasks.utils), so in
    one pytest process an app sees the records of every earlier test's app. ``background_done`` reads all of them,
    and one record left SUBMITTED or RUNNING by an app that is gone made it wait forever in full-suite runs.
    Records are dropped only for methods with no live subprocess.
    """
    from monailabel.utils.async_tasks import utils as async_tasks

    for method, running in list(async_tasks.background_processes.items()):
        for task_id, process in list(running.items()):
            if process.poll() is not None:
                running.pop(task_id, None)
    for method in list(async_tasks.background_tasks):
        if not async_tasks.background_processes.get(method):
            async_tasks.background_tasks[method] = []


def put_label(client, phantoms: Path, study: str, info: dict | None = None) -> dict:
    """Save the phantom truth mask of ``study`` as its final label: ``PUT /datastore/label`` (as OHIF and Slicer)."""
    with open(phantoms / "truth" / f"{study}_labels.nii.gz", "rb") as f:
        r = client.put(f"/datastore/label?image={study}&tag=final",
                       files={"label": (f"{study}.nii.gz", f, "application/octet-stream")},
                       data={"params": json.dumps(info or {"source": "phantom truth"})})
    assert r.status_code == 200, r.text
    return r.json()


def served_ids(client) -> list[str]:
    return sorted(client.get("/datastore/?output=all").json()["objects"])


def wait_for(condition, timeout: float, what: str, every: float = 0.5):
    """Poll ``condition()`` until it returns something truthy; fail naming ``what`` after ``timeout`` seconds."""
    end = time.time() + timeout
    while time.time() < end:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def background_done(client, method: str) -> bool:
    """True when MONAI Label's background ``method`` ("train", "scoring") queue is empty and idle."""
    tasks = client.get(f"/{method}/?all=true")
    return tasks.status_code == 404 or all(t["status"] not in ("SUBMITTED", "RUNNING") for t in tasks.json())
