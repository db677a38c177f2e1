"""The real MONAI Label app, driven through its REST API with FastAPI's TestClient, on phantom studies."""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sys
from pathlib import Path

import pytest

os.environ.setdefault("MONAI_LABEL_TRACKING_ENABLED", "false")

REPO = Path(__file__).resolve().parents[2]

#: Tiny training settings so train tests take seconds on 2 CPU cores.
TINY_CONF = {
    "models": "all",
    "segmentation_max_epochs": "1",
    "segmentation_crop_px": "64",
    "segmentation_crops_per_image": "2",
    "segmentation_val_split": "0.0",
}


def tree_digest(root: Path) -> str:
    """Digest of every file's relative name and bytes under root, ignoring the app's own work folder."""
    digest = hashlib.sha1()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and ".spine" not in p.parts and p.name != ".lock"):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="session")
def phantom_data(tmp_path_factory) -> Path:
    """Three phantom studies (contiguous and angled) with truth, plus a folder that holds no DICOM."""
    from lib.phantom import generate_dataset

    out = tmp_path_factory.mktemp("phantoms")
    generate_dataset(out, 3, 7)
    (out / "dicom" / "not_a_study").mkdir()
    (out / "dicom" / "not_a_study" / "notes.txt").write_text("not DICOM")
    return out


@contextlib.contextmanager
def make_client(studies: Path | str, model_dir: Path, conf: dict[str, str]):
    """A TestClient over a freshly initialised app (MONAI Label caches app instances by folder).

    MONAI Label unloads every ``lib.*`` module to load an app's main.py; the tests' own ``lib`` modules are put back
    afterwards so that classes and functions the tests imported stay the ones registered in ``sys.modules`` (process
    pools pickle functions by name, ``pytest.raises`` compares classes).
    """
    from fastapi.testclient import TestClient
    from monailabel.config import settings
    from monailabel.interfaces.utils.app import clear_cache

    clear_cache()
    settings.MONAI_LABEL_APP_DIR = str(REPO)
    settings.MONAI_LABEL_STUDIES = str(studies)
    settings.MONAI_LABEL_APP_CONF = {**conf, "model_dir": str(model_dir)}
    from monailabel.app import app

    ours = _lib_modules()
    with TestClient(app, raise_server_exceptions=False) as client:
        _restore_lib_modules(ours)
        yield client
    _restore_lib_modules(ours)


def _lib_modules() -> dict:
    return {k: m for k, m in sys.modules.items() if k == "lib" or k.startswith("lib.")}


def _restore_lib_modules(ours: dict) -> None:
    """Put the tests' lib modules back and forget the ones only the app loaded (they import the app's copies)."""
    for name in set(_lib_modules()) - set(ours):
        del sys.modules[name]
    sys.modules.update(ours)


@pytest.fixture(scope="module")
def app_env(phantom_data, tmp_path_factory):
    """(client, studies folder, model dir, digest of the studies before the app touched them)."""
    studies = tmp_path_factory.mktemp("studies")
    shutil.copytree(phantom_data / "dicom", studies, dirs_exist_ok=True)
    before = tree_digest(studies)
    model_dir = tmp_path_factory.mktemp("model")
    with make_client(studies, model_dir, TINY_CONF) as client:
        yield client, studies, model_dir, before
