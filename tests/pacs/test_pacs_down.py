"""A PACS that is down or hangs: clear 503/504 errors within a bounded time, and the app keeps answering."""
from __future__ import annotations

import socket
import threading
import time

import pytest

from lib.pacs import PacsUnavailable, pacs_datastore
from lib.pacs.orthanc_server import free_port
from lib.pacs.settings import PacsSettings
from tests.app.conftest import make_client

pytestmark = pytest.mark.timeout(180)

FAST = {"pacs_connect_timeout_s": "1", "pacs_query_timeout_s": "1", "pacs_read_timeout_s": "1",
        "pacs_retries": "1", "pacs_backoff_s": "0.1"}


class SilentServer:
    """Accepts TCP connections on a loopback port and never answers: a PACS that hangs."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
                self.accepted.append(conn)
            except OSError:
                continue

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)
        for conn in self.accepted:
            conn.close()
        self.sock.close()


@pytest.fixture
def silent_pacs():
    server = SilentServer()
    yield f"http://127.0.0.1:{server.port}/dicom-web"
    server.close()


def dead_pacs() -> str:
    return f"http://127.0.0.1:{free_port()}/dicom-web"


def test_refused_connection_is_a_503_naming_the_pacs(tmp_path):
    url = dead_pacs()
    store = pacs_datastore(url, {**FAST, "pacs_cache_dir": str(tmp_path)})  # touches nothing at construction
    start = time.monotonic()
    assert store.list_images() == []
    status = store.status()
    assert status["total"] == 0 and url in status["pacs_error"] and "could not be reached" in status["pacs_error"]
    with pytest.raises(PacsUnavailable) as err:
        store.get_image_uri("1.2.3")
    assert err.value.status_code == 503 and url in err.value.detail
    assert time.monotonic() - start < 10


def test_hanging_pacs_times_out_within_the_configured_bound(silent_pacs, tmp_path):
    settings = PacsSettings.from_conf(FAST)
    store = pacs_datastore(silent_pacs, {**FAST, "pacs_cache_dir": str(tmp_path)})
    start = time.monotonic()
    with pytest.raises(PacsUnavailable) as err:
        store.get_image_uri("1.2.3")
    elapsed = time.monotonic() - start
    assert err.value.status_code == 504 and "did not answer in time" in err.value.detail
    assert 1.0 <= elapsed <= settings.worst_case_s(query=True) + 2.0, elapsed


def test_app_starts_and_answers_with_the_pacs_down(tmp_path):
    url = dead_pacs()
    conf = {**FAST, "models": "segmentation", "pacs_cache_dir": str(tmp_path / "cache")}
    start = time.monotonic()
    with make_client(url, tmp_path / "model", conf) as client:
        assert client.get("/info/").status_code == 200
        stats = client.get("/datastore/?output=stats").json()
        assert stats["total"] == 0 and url in stats["pacs_error"]
        r = client.post("/infer/segmentation?image=1.2.3&output=json")
        assert r.status_code == 503 and url in r.json()["detail"]
        r = client.get("/proxy/dicom/qido/studies")
        assert r.status_code == 503 and url in r.json()["detail"]
    assert time.monotonic() - start < 60


def test_proxy_gives_up_on_a_hanging_pacs(silent_pacs, tmp_path):
    conf = {**FAST, "models": "segmentation", "pacs_cache_dir": str(tmp_path / "cache")}
    with make_client(silent_pacs, tmp_path / "model", conf) as client:
        start = time.monotonic()
        r = client.get("/proxy/dicom/qido/studies")
        assert r.status_code == 504 and "did not answer in time" in r.json()["detail"]
        assert time.monotonic() - start < 10
