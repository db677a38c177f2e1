"""The app's DICOMweb proxy (``/proxy/dicom/{qido,wado,stow}/...``, used by the bundled OHIF) with per-block series.

OHIF's MONAI Label mode only opens a series that is one reconstructable volume, and sends the displayed series'
SeriesInstanceUID as the image id. An angled axial series is not one volume; each of its blocks is. So the proxy
shows each block of a block-served series (``lib.pacs.work_items``) as its own *virtual* series whose
SeriesInstanceUID is the block's image id ``<series>_block<k>``, and hides the original series there:

* ``studies/{S}/series`` (QIDO) and ``studies/{S}/metadata`` / ``studies/{S}/series/{X}/metadata`` (WADO-RS):
  the instances of block k carry SeriesInstanceUID ``<series>_block<k>`` and a SeriesDescription naming the block;
* any other request under ``studies/{S}/series/<series>_block<k>/...`` (frames, rendered, thumbnails, instances)
  is forwarded for the original series; everything else is forwarded unchanged.

Nothing is written to the PACS: the virtual series exist only in these answers. Requests to the PACS are bounded
(``PacsSettings`` timeouts); a PACS that is down gives a 503/504 with the reason, not a hung viewer. The routes run in
a worker thread (MONAI Label's own proxy blocks the event loop), and replace MONAI Label's proxy routes: they are
inserted first in the app's router when the PACS datastore is created (``install_proxy``), idempotently.
"""
from __future__ import annotations

import json
import logging
import re
import time
from typing import Any, Callable

import requests
from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from lib.pacs.client import is_timeout
from lib.pacs.work_items import StudyItems, WorkItem, parse_block_id

logger = logging.getLogger(__name__)

ROUTE_NAME = "spine_pacs_dicomweb_proxy"
SERIES_UID, SERIES_DESCRIPTION, SOP_UID, STUDY_UID = "0020000E", "0008103E", "00080018", "0020000D"
N_INSTANCES = "00201209"
DICOM_JSON = "application/dicom+json"
_STUDY_SERIES = re.compile(r"^studies/(?P<study>[^/]+)/series/?$")
_STUDY_METADATA = re.compile(r"^studies/(?P<study>[^/]+)/metadata/?$")
_SERIES_PATH = re.compile(r"^studies/(?P<study>[^/]+)/series/(?P<series>[^/]+)(?P<rest>/.*)?$")


def _text(entry: dict, tag: str) -> str:
    values = entry.get(tag, {}).get("Value") or [""]
    return str(values[0])


def _set(entry: dict, tag: str, vr: str, value: Any) -> None:
    entry[tag] = {"vr": vr, "Value": [value]}


class BlockSeriesView:
    """Rewrites DICOM JSON answers so that each block of a block-served series is a series of its own."""

    def __init__(self, study: StudyItems):
        self.blocks = [i for i in study.items if i.block is not None]
        self.series = {i.series_uid for i in self.blocks}
        self.block_of_sop = {sop: item for item in self.blocks for sop in item.sop_uids}

    def series_list(self, entries: list[dict]) -> list[dict]:
        """A QIDO series answer with each block-served series replaced by one entry per block."""
        out = []
        for entry in entries:
            if _text(entry, SERIES_UID) not in self.series:
                out.append(entry)
                continue
            for item in (b for b in self.blocks if b.series_uid == _text(entry, SERIES_UID)):
                block_entry = json.loads(json.dumps(entry))
                self._mark(block_entry, item)
                _set(block_entry, N_INSTANCES, "IS", len(item.sop_uids))
                out.append(block_entry)
        return out

    def instances(self, instances: list[dict], only: str | None = None) -> list[dict]:
        """Metadata (or QIDO instances) with block instances relabelled; with ``only`` (a block image id), only the
        instances of that block."""
        out = []
        for instance in instances:
            item = self.block_of_sop.get(_text(instance, SOP_UID)) \
                if _text(instance, SERIES_UID) in self.series else None
            if only is not None and (item is None or item.image_id != only):
                continue
            if item is not None:
                self._mark(instance, item)
            out.append(instance)
        return out

    @staticmethod
    def _mark(entry: dict, item: WorkItem) -> None:
        _set(entry, SERIES_UID, "UI", item.image_id)
        _set(entry, SERIES_DESCRIPTION, "LO", item.description)


class DicomWebProxy:
    """Forwards DICOMweb requests to the PACS, presenting block-served series per block (see module docstring)."""

    def __init__(self, store: Any, timeout: tuple[float, float]):
        self.store = store
        self.timeout = timeout
        self.session = requests.Session()

    def upstream(self, op: str, path: str) -> str:
        from monailabel.config import settings

        prefix = {"wado": settings.MONAI_LABEL_WADO_PREFIX, "qido": settings.MONAI_LABEL_QIDO_PREFIX,
                  "stow": settings.MONAI_LABEL_STOW_PREFIX}.get(op, "")
        if path.rstrip("/").endswith("metadata") and op == "qido":
            prefix = settings.MONAI_LABEL_WADO_PREFIX
        return f"{self.store.url}/{prefix.strip('/') + '/' if prefix else ''}{path}"

    def handle(self, method: str, op: str, path: str, query: str, headers: dict, body: bytes,
               proxy_root: str) -> Response:
        start = time.monotonic()
        try:
            return self._handle(method, op, path, query, headers, body, proxy_root)
        except requests.RequestException as e:
            status = 504 if is_timeout(e) else 503
            message = (f"PACS {self.store.url} {'did not answer in time' if status == 504 else 'could not be reached'}"
                       f" for {path} (after {time.monotonic() - start:.1f} s): {type(e).__name__}")
            logger.error(message)
            return JSONResponse({"detail": message}, status_code=status)
        except Exception as e:  # noqa: BLE001 - PacsUnavailable from the index, or any bug: say so, do not hang
            status = getattr(e, "status_code", 500)
            logger.exception(f"DICOMweb proxy {path}: {e}")
            return JSONResponse({"detail": f"DICOMweb proxy {path}: {getattr(e, 'detail', e)}"}, status_code=status)

    def _handle(self, method, op, path, query, headers, body, proxy_root) -> Response:
        path = path.lstrip("/")
        if ".." in path.split("/"):  # stay inside the DICOMweb root (Orthanc's REST API lies next to it)
            return JSONResponse({"detail": f"invalid DICOMweb path {path!r}"}, status_code=400)
        if method == "GET":
            m = _STUDY_SERIES.match(path)
            if m:
                return self._json(op, path, query, lambda d, v: v.series_list(d), m["study"], proxy_root)
            m = _STUDY_METADATA.match(path)
            if m:
                return self._json(op, path, query, lambda d, v: v.instances(d), m["study"], proxy_root)
            m = _SERIES_PATH.match(path)
            block = parse_block_id(m["series"]) if m else None
            if block:
                return self._block_request(op, m["study"], m["series"], block[0], m["rest"] or "", query, proxy_root)
        return self._forward(method, op, path, query, headers, body)

    def _block_request(self, op, study_uid, block_id, series_uid, rest, query, proxy_root) -> Response:
        original = f"studies/{study_uid}/series/{series_uid}{rest}"
        if rest.rstrip("/") in ("/metadata", "/instances"):
            if self.store.index.item(block_id) is None:
                return JSONResponse({"detail": f"no block series {block_id}"}, status_code=404)
            return self._json(op, original, query, lambda d, v: v.instances(d, only=block_id), study_uid, proxy_root)
        return self._forward("GET", op, original, query, {}, b"")

    def _json(self, op: str, path: str, query: str, rewrite: Callable, study_uid: str, proxy_root: str) -> Response:
        r = self.session.get(self.upstream(op, path) + (f"?{query}" if query else ""), timeout=self.timeout,
                             headers={"Accept": DICOM_JSON if "metadata" in path else "application/dicom+json, "
                                                                                       "application/json"})
        if r.status_code != 200 or not r.content:
            return Response(r.content, status_code=r.status_code, media_type=r.headers.get("Content-Type"))
        study = self.store.index.study(study_uid)
        data = r.json()
        if study is not None and any(i.block is not None for i in study.items):
            data = rewrite(data, BlockSeriesView(study))
        text = json.dumps(data).replace(f'"{self.store.url}/', f'"{proxy_root}/')
        return Response(text, status_code=200, media_type=DICOM_JSON)

    def _forward(self, method, op, path, query, headers, body) -> Response:
        url = self.upstream(op, path) + (f"?{query}" if query else "")
        keep = {k: v for k, v in headers.items() if k.lower() in ("accept", "content-type")}
        if method == "POST":
            r = self.session.post(url, data=body, headers=keep, timeout=self.timeout)
        else:
            r = self.session.get(url, headers=keep, timeout=self.timeout)
        return Response(r.content, status_code=r.status_code, media_type=r.headers.get("Content-Type"))


def _serves(store: Any) -> bool:
    """True while ``store`` is the datastore of the app MONAI Label serves."""
    from monailabel.interfaces.utils.app import app_instance

    try:
        return app_instance().datastore() is store
    except Exception:  # noqa: BLE001 - no app yet: keep serving this store
        return True


def install_proxy(app: FastAPI, store: Any, timeout: tuple[float, float], api_prefix: str = "") -> None:
    """Put the block-aware proxy routes in front of MONAI Label's (replacing any installed earlier)."""
    proxy = DicomWebProxy(store, timeout)

    async def endpoint(request: Request, op: str, path: str) -> Response:
        if not _serves(store):  # the app was re-created on another datastore (tests): MONAI Label's own proxy
            from monailabel.endpoints.proxy import proxy_dicom

            return await proxy_dicom(request, op, path)
        if op not in ("qido", "wado", "stow"):
            return JSONResponse({"detail": f"unknown DICOMweb service '{op}' (qido, wado, stow)"}, status_code=404)
        body = await request.body() if request.method == "POST" else b""
        proxy_root = f"{str(request.base_url).rstrip('/')}{api_prefix}/proxy/dicom/wado"
        return await run_in_threadpool(proxy.handle, request.method, op, path, request.url.query,
                                       dict(request.headers), body, proxy_root)

    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "name", None) != ROUTE_NAME]
    from monailabel.config import settings
    from monailabel.endpoints.user.auth import RBAC

    route = APIRoute(f"{api_prefix}/proxy/dicom/{{op}}/{{path:path}}", endpoint, methods=["GET", "POST"],
                     name=ROUTE_NAME, include_in_schema=False,
                     dependencies=[Depends(RBAC(settings.MONAI_LABEL_AUTH_ROLE_USER))])
    app.router.routes.insert(0, route)
    logger.info(f"DICOMweb proxy: angled series shown per block at {api_prefix}/proxy/dicom/ -> {store.url}")
