"""The few DICOMweb calls the app makes to the PACS, each bounded in time and failing with a clear message.

``PacsClient`` wraps MONAI Label's ``DICOMwebClientX`` (dicomweb-client 0.59) with a requests session that sets a
(connect, read) timeout on every request and retries connection errors and HTTP 502/503/504 a few times with
exponential back-off (``PacsSettings``); dicomweb-client's own retry loop (5 tries, waits up to 16 s) is turned off.
Searches and metadata use the shorter ``query_timeout_s``. Any failure becomes ``PacsUnavailable``, an HTTP
503/504/502 that MONAI Label's endpoints pass to the caller with the PACS URL, the operation and the cause.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, TypeVar

import requests
import urllib3
from fastapi import HTTPException
from pydicom.dataset import Dataset
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from lib.pacs.settings import PacsSettings

logger = logging.getLogger(__name__)

T = TypeVar("T")


class PacsUnavailable(HTTPException):
    """The PACS did not answer in time, refused the connection, or answered with an error.

    ``status_code`` is 504 for a timeout, 503 for a refused or broken connection, 502 for an error answer.
    """

    def __init__(self, url: str, operation: str, cause: BaseException, elapsed_s: float):
        if is_timeout(cause):
            status, what = 504, "did not answer in time"
        elif isinstance(cause, requests.HTTPError) and cause.response is not None:
            status, what = 502, f"answered HTTP {cause.response.status_code}"
        else:
            status, what = 503, "could not be reached"
        self.operation = operation
        message = f"PACS {url} {what} while {operation} (gave up after {elapsed_s:.1f} s): {_short(cause)}"
        super().__init__(status_code=status, detail=message)

    def __str__(self) -> str:
        return str(self.detail)


def is_timeout(error: BaseException) -> bool:
    """True for a connect or read timeout, also when urllib3's retries wrapped it in a ConnectionError."""
    if isinstance(error, requests.Timeout):
        return True
    reason = getattr(error.args[0], "reason", None) if error.args else None
    # urllib3's NewConnectionError (refused, unreachable) subclasses its ConnectTimeoutError: not a timeout here
    return isinstance(reason, urllib3.exceptions.TimeoutError) and \
        not isinstance(reason, urllib3.exceptions.NewConnectionError)


def _short(cause: BaseException) -> str:
    text = str(cause)
    if "Max retries exceeded" in text and "Caused by" in text:  # urllib3's long message: keep the cause
        text = text[text.index("Caused by"):]
    return f"{type(cause).__name__}: {text[:300]}"


class TimeoutSession(requests.Session):
    """A session that gives every request a default (connect, read) timeout."""

    def __init__(self, timeout: tuple[float, float]):
        super().__init__()
        self.default_timeout = timeout

    def request(self, *args, **kwargs):  # noqa: D102 - requests.Session API
        kwargs.setdefault("timeout", self.default_timeout)
        return super().request(*args, **kwargs)


def make_session(settings: PacsSettings, timeout: tuple[float, float]) -> TimeoutSession:
    """Session with ``timeout``, and retries of connection errors and 502/503/504 for every method."""
    session = TimeoutSession(timeout)
    retry = Retry(total=settings.retries, connect=settings.retries, read=settings.retries,
                  status=settings.retries, backoff_factor=settings.backoff_s, status_forcelist=(502, 503, 504),
                  allowed_methods=None, raise_on_status=False, respect_retry_after_header=False)
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _bulk_data_placeholder(_uri: str) -> bytes:
    """Bulk data (pixels) is never fetched when reading metadata."""
    return b""


class PacsClient:
    """QIDO, WADO-RS metadata and series retrieval, STOW: bounded, with ``PacsUnavailable`` on failure."""

    def __init__(self, url: str, settings: PacsSettings):
        self.url = url.rstrip("/")
        self.settings = settings
        self.query = self._web(settings.query_timeout)  # QIDO and metadata: short read timeout
        self.web = self._web(settings.timeout)  # series retrieval and STOW: longer read timeout

    def _web(self, timeout: tuple[float, float]):
        from monailabel.config import settings as ml_settings
        from monailabel.datastore.dicom import DICOMwebClientX

        session = make_session(self.settings, timeout)
        if ml_settings.MONAI_LABEL_DICOMWEB_USERNAME and ml_settings.MONAI_LABEL_DICOMWEB_PASSWORD:
            session.auth = (ml_settings.MONAI_LABEL_DICOMWEB_USERNAME, ml_settings.MONAI_LABEL_DICOMWEB_PASSWORD)
        web = DICOMwebClientX(url=self.url, session=session, qido_url_prefix=ml_settings.MONAI_LABEL_QIDO_PREFIX,
                              wado_url_prefix=ml_settings.MONAI_LABEL_WADO_PREFIX,
                              stow_url_prefix=ml_settings.MONAI_LABEL_STOW_PREFIX)
        web.set_http_retry_params(retry=False)
        return web

    def call(self, operation: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one dicomweb-client call; any network or HTTP failure becomes ``PacsUnavailable``."""
        start = time.monotonic()
        try:
            return fn(*args, **kwargs)
        except (requests.RequestException, OSError) as e:
            error = PacsUnavailable(self.url, operation, e, time.monotonic() - start)
            logger.error(str(error))
            raise error from e

    def search_series(self, filters: dict[str, Any]) -> list[dict]:
        """QIDO-RS series search (DICOM JSON, one dict per series)."""
        fields = ["SeriesDescription", "SeriesNumber", "NumberOfSeriesRelatedInstances", "StudyDescription"]
        return self.call(f"searching series {filters}", self.query.search_for_series,
                         search_filters=filters, fields=fields)

    def series_metadata(self, study_uid: str, series_uid: str) -> list[Dataset]:
        """WADO-RS metadata of every instance of a series, as pydicom Datasets without pixel data."""
        metadata = self.call(f"reading metadata of series {series_uid}", self.query.retrieve_series_metadata,
                             study_uid, series_uid)
        return [Dataset.from_json(m, bulk_data_uri_handler=_bulk_data_placeholder) for m in metadata]

    def retrieve_series(self, study_uid: str, series_uid: str) -> list[Dataset]:
        """WADO-RS retrieval of every instance of a series (Part 10 datasets with pixels)."""
        return self.call(f"retrieving series {series_uid}", self.web.retrieve_series, study_uid, series_uid)

    def store(self, datasets: list[Dataset]) -> Dataset:
        """STOW-RS; returns the store response."""
        return self.call("storing instances", self.web.store_instances, datasets)
