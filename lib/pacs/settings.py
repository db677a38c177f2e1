"""Settings of the DICOMweb (PACS) datastore, parsed once from ``--conf pacs_<field> VALUE``.

Example::

    monailabel start_server --app . --studies http://127.0.0.1:8042/dicom-web \\
        --conf pacs_read_timeout_s 60 --conf pacs_retries 2
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from lib.conf import from_conf

CONF_PREFIX = "pacs_"


@dataclass(frozen=True)
class PacsSettings:
    """How the app talks to the PACS, and where it keeps what it derived from it.

    Every request to the PACS takes at most ``connect_timeout_s`` plus ``query_timeout_s`` (searches, metadata) or
    ``read_timeout_s`` (series downloads, SEG upload) per attempt, and is tried ``1 + retries`` times (connection
    errors and HTTP 502/503/504), waiting ``backoff_s * 2**n`` in between (``worst_case_s``).
    """

    #: extra QIDO filters for the series search (JSON object); Modality is always MR. Plain values only: Orthanc's
    #: DICOMweb plugin 1.7 does not decode percent-encoded values, so wildcards and spaces match nothing there.
    search_filter: str = "{}"
    connect_timeout_s: float = 3.0
    query_timeout_s: float = 15.0
    read_timeout_s: float = 60.0
    retries: int = 1
    backoff_s: float = 0.5
    #: how long the list of work items is reused before the PACS is searched again (seconds)
    list_ttl_s: float = 60.0
    #: the app's cache of downloaded series, work images, per-block images and labels ("" = default below)
    cache_dir: str = ""
    #: write final labels of whole (contiguous) series back to the PACS as DICOM SEG
    upload_seg: bool = True
    #: store the grading DICOM SR (lib.outputs.sr) in the PACS whenever a study is graded
    upload_sr: bool = True

    def __post_init__(self) -> None:
        for name in ("connect_timeout_s", "query_timeout_s", "read_timeout_s", "list_ttl_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"--conf {CONF_PREFIX}{name} must be > 0, got {getattr(self, name)}")
        if self.retries < 0 or self.backoff_s < 0:
            raise ValueError(f"--conf {CONF_PREFIX}retries/backoff_s must be >= 0, got {self.retries}/"
                             f"{self.backoff_s}")
        filters = self.filters()
        if not isinstance(filters, dict):
            raise ValueError(f"--conf {CONF_PREFIX}search_filter must be a JSON object, got {self.search_filter!r}")

    def filters(self) -> dict:
        """The QIDO series filters: the configured ones with Modality MR."""
        try:
            parsed = json.loads(self.search_filter or "{}")
        except json.JSONDecodeError as e:
            raise ValueError(f"--conf {CONF_PREFIX}search_filter {self.search_filter!r}: {e}") from None
        return {**parsed, "Modality": "MR"} if isinstance(parsed, dict) else parsed

    @property
    def timeout(self) -> tuple[float, float]:
        """(connect, read) timeout of downloads and uploads."""
        return self.connect_timeout_s, self.read_timeout_s

    @property
    def query_timeout(self) -> tuple[float, float]:
        """(connect, read) timeout of searches and metadata requests."""
        return self.connect_timeout_s, self.query_timeout_s

    def worst_case_s(self, query: bool = False) -> float:
        """Longest a single PACS call (a query, or a download) can take before it gives up."""
        waits = sum(self.backoff_s * 2 ** n for n in range(self.retries))
        read = self.query_timeout_s if query else self.read_timeout_s
        return (1 + self.retries) * (self.connect_timeout_s + read) + waits

    @classmethod
    def from_conf(cls, conf: Mapping[str, str] | None) -> "PacsSettings":
        return from_conf(cls, conf, prefix=CONF_PREFIX)


def default_cache_dir(studies_url: str, settings: PacsSettings) -> Path:
    """``pacs_cache_dir``, else MONAI Label's MONAI_LABEL_DICOMWEB_CACHE_PATH, else ~/.cache/monailabel/spine-pacs;
    one sub-folder per PACS URL."""
    import hashlib

    from monailabel.config import settings as ml_settings

    root = settings.cache_dir or (ml_settings.MONAI_LABEL_DICOMWEB_CACHE_PATH or "").strip()
    base = Path(root) if root else Path(os.path.expanduser("~")) / ".cache" / "monailabel" / "spine-pacs"
    return base / hashlib.md5(studies_url.rstrip("/").encode()).hexdigest()[:16]
