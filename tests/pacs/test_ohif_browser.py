"""OHIF v3 in a real browser (headless Debian chromium + playwright-core) on the app serving a real Orthanc.

Runs tests/browser/ohif_segmentation.mjs: the MONAI Label mode opens an angled phantom study through the app's
``/proxy/dicom`` (each block a series of its own), loads one block, runs the segmentation model from the MONAI Label
panel and checks that an overlay appears. Screenshots: ``$OHIF_SCREENSHOTS`` (default ``work/screenshots/ohif``).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.pacs.conftest import REPO

pytestmark = pytest.mark.timeout(420)

BROWSER_DIR = REPO / "tests" / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("OHIF_SCREENSHOTS", REPO / "work" / "screenshots" / "ohif"))


def require_browser() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed ({CHROMIUM}; apt-get install -y chromium)")
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed (node runs the Playwright script)")
    if not (BROWSER_DIR / "node_modules" / "playwright-core").is_dir():
        pytest.skip("playwright-core is not installed (cd tests/browser && npm ci)")


def test_ohif_runs_the_segmentation_on_a_block_of_an_angled_series(app_server, truth):
    require_browser()
    t = next(t for t in truth.values() if t["acquisition"] == "angled")
    index = json.loads(next(app_server.cache_dir.glob("*/index.json")).read_text())
    study = next(s for s in index["studies"] if s["study_uid"] == t["study_uid"])
    block = study["items"][len(study["items"]) // 2]
    label = block["description"][block["description"].rindex("[block"):]
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    env = {**os.environ, "APP_URL": app_server.url, "STUDY_UID": t["study_uid"], "SERIES_LABEL": label,
           "EXPECT_IMAGE": block["image_id"], "OUT_DIR": str(SCREENSHOTS), "CHROMIUM": CHROMIUM,
           "STEP_TIMEOUT_MS": "90000"}
    run = subprocess.run(["node", str(BROWSER_DIR / "ohif_segmentation.mjs")], cwd=BROWSER_DIR, env=env,
                         capture_output=True, text=True, timeout=400)
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    summary = json.loads(lines[-1]) if lines else {}
    assert run.returncode == 0 and summary.get("ok"), \
        f"browser test failed: {summary.get('failure')}\nsteps: {summary.get('steps')}\n" \
        f"stderr: {run.stderr[-2000:]}\nscreenshots: {SCREENSHOTS}\napp log:\n{app_server.log_tail()}"
    assert summary["infer"] == {"status": 200, "image": block["image_id"], "output": "image"}
    assert summary["overlay"]["after"] > summary["overlay"]["before"]
    assert not [r for r in summary["requests"] if r["status"] >= 400], summary["requests"]
    assert (SCREENSHOTS / "03_segmentation_overlay.png").stat().st_size > 10_000
