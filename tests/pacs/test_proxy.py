"""The app's DICOMweb proxy on a real Orthanc: angled series shown per block (virtual series), nothing else changed."""
from __future__ import annotations

import json

import pytest
import requests

pytestmark = pytest.mark.timeout(120)


def qido(app_server, path: str) -> list[dict]:
    r = requests.get(f"{app_server.url}/proxy/dicom/qido/{path}", timeout=60)
    assert r.status_code == 200, r.text[:300]
    return r.json()


def uid(entry: dict, tag: str = "0020000E") -> str:
    return entry[tag]["Value"][0]


def blocks_of(app_server, study_uid: str) -> list[dict]:
    index = json.loads(next(app_server.cache_dir.glob("*/index.json")).read_text())
    return next(s for s in index["studies"] if s["study_uid"] == study_uid)["items"]


def test_series_list_shows_each_block_and_hides_the_angled_series(app_server, truth):
    angled = next(t for t in truth.values() if t["acquisition"] == "angled")
    contiguous = next(t for t in truth.values() if t["acquisition"] == "contiguous")
    series = qido(app_server, f"studies/{angled['study_uid']}/series")
    blocks = blocks_of(app_server, angled["study_uid"])
    shown = {uid(e): e for e in series}
    assert angled["series_uid"] not in shown
    for block in blocks:
        entry = shown[block["image_id"]]
        assert entry["0008103E"]["Value"][0].endswith(f"[block {block['block'] + 1}/{len(blocks)}]")
        assert entry["00201209"]["Value"][0] == len(block["sop_uids"])
    assert contiguous["series_uid"] in {uid(e) for e in qido(app_server, f"studies/{contiguous['study_uid']}/series")}


def test_block_metadata_and_frames_come_from_the_original_series(app_server, truth):
    angled = next(t for t in truth.values() if t["acquisition"] == "angled")
    block = blocks_of(app_server, angled["study_uid"])[0]
    base = f"{app_server.url}/proxy/dicom/wado/studies/{angled['study_uid']}/series/{block['image_id']}"
    metadata = requests.get(f"{base}/metadata", timeout=60).json()
    assert sorted(uid(m, "00080018") for m in metadata) == sorted(block["sop_uids"])
    assert {uid(m) for m in metadata} == {block["image_id"]}
    study = requests.get(f"{app_server.url}/proxy/dicom/wado/studies/{angled['study_uid']}/metadata", timeout=60).json()
    assert {uid(m) for m in study if uid(m, "00080018") in block["sop_uids"]} == {block["image_id"]}
    assert angled["series_uid"] not in {uid(m) for m in study}
    frame = requests.get(f"{base}/instances/{block['sop_uids'][0]}/frames/1", timeout=60,
                         headers={"Accept": "multipart/related; type=application/octet-stream"})
    assert frame.status_code == 200 and frame.headers["Content-Type"].startswith("multipart/related")
    assert len(frame.content) > 1000


def test_proxy_refuses_paths_outside_dicomweb(app_server):
    r = requests.get(f"{app_server.url}/proxy/dicom/wado/studies/../../system", timeout=30)
    assert r.status_code in (400, 404)
