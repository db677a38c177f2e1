"""The PACS's work items: found with a QIDO series search, decided from metadata, kept between runs.

``PacsIndex.refresh`` searches the MR series (``PacsSettings.filters``), groups them by study and (re)classifies
only the studies whose series or instance counts changed since last time (``lib.pacs.work_items``); the result is
saved to ``index.json`` in the cache folder, so a restart does not read every study's metadata again. When the PACS
cannot be reached and an earlier index exists, the earlier one is used and ``last_error`` says why.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from pathlib import Path

from pydicom.dataset import Dataset

from lib.pacs.client import PacsClient, PacsUnavailable
from lib.pacs.work_items import StudyItems, WorkItem, parse_block_id, study_work_items

logger = logging.getLogger(__name__)

STUDY_UID, SERIES_UID, N_INSTANCES = "0020000D", "0020000E", "00201209"


def _value(entry: dict, tag: str) -> str:
    values = entry.get(tag, {}).get("Value") or [""]
    return str(values[0])


def study_key(series_entries: list[dict]) -> str:
    """What a study's classification depends on: its MR series and their instance counts."""
    parts = sorted(f"{_value(e, SERIES_UID)}:{_value(e, N_INSTANCES)}" for e in series_entries)
    return hashlib.sha1("|".join(parts).encode()).hexdigest()


class PacsIndex:
    """Work items by image id, refreshed from the PACS at most every ``ttl_s`` seconds (thread-safe)."""

    def __init__(self, client: PacsClient, path: Path, filters: dict, ttl_s: float):
        self.client = client
        self.path = Path(path)
        self.filters = filters
        self.ttl_s = ttl_s
        self.last_error: str | None = None
        self._last_exception: PacsUnavailable | None = None
        self._lock = threading.RLock()
        self._refreshed_at = float("-inf")
        self._studies: dict[str, StudyItems] = self._load()

    # -- reading -------------------------------------------------------------------------------------------------
    def items(self) -> list[WorkItem]:
        """Every work item, in study order (refreshing first when the TTL has passed).

        Never raises: when the PACS cannot be searched, the last known items (none at first) are returned and
        ``last_error`` says why, so listings (``/info/``, start-up scoring) keep answering; asking for an image
        raises ``PacsUnavailable`` instead.
        """
        try:
            self.refresh()
        except PacsUnavailable:
            pass  # logged, and kept in last_error
        with self._lock:
            return [item for s in self._studies.values() for item in s.items]

    def item(self, image_id: str) -> WorkItem | None:
        """The work item (or whole axial series) with this image id; one forced refresh when it is unknown."""
        found = self._find(image_id)
        if found is None and self._refreshed_at < time.monotonic() - 1.0:
            self.refresh(force=True)
            found = self._find(image_id)
        if found is None and self._last_exception is not None:
            raise self._last_exception  # unknown here, and the PACS cannot be asked: say so, not "not found"
        return found

    def whole(self, item: WorkItem) -> WorkItem:
        """The whole-series item of ``item`` (itself when it is one)."""
        with self._lock:
            study = self._studies.get(item.study_uid)
        return study.whole if study and study.whole else item

    def study(self, study_uid: str) -> StudyItems | None:
        """A study's items, classified now when the index does not know it yet (the viewer may ask first)."""
        with self._lock:
            known = self._studies.get(study_uid)
        if known is not None:
            return known
        entries = self.client.search_series({**self.filters, "StudyInstanceUID": study_uid})
        if not entries:
            return None
        classified = self._classify(study_uid, entries)
        with self._lock:
            self._studies[study_uid] = classified
            self._save()
        return classified

    def not_served(self) -> dict[str, str]:
        """Studies with MR series but no axial T2 work item, and why."""
        with self._lock:
            return {uid: s.not_served for uid, s in self._studies.items() if s.not_served}

    def _find(self, image_id: str) -> WorkItem | None:
        block = parse_block_id(image_id)
        with self._lock:
            for study in self._studies.values():
                if study.whole and study.whole.image_id == image_id:
                    return study.whole
                if block and study.whole and study.whole.series_uid == block[0]:
                    return next((i for i in study.items if i.image_id == image_id), None)
        return None

    # -- refreshing ----------------------------------------------------------------------------------------------
    def refresh(self, force: bool = False) -> None:
        """Search the PACS again when the TTL has passed (or ``force``); on failure keep the earlier index."""
        with self._lock:
            if not force and time.monotonic() - self._refreshed_at < self.ttl_s:
                return
            try:
                self._refresh()
                self.last_error, self._last_exception = None, None
            except PacsUnavailable as e:
                self.last_error, self._last_exception = str(e), e
                if not self._studies:
                    raise
                logger.warning(f"Using the earlier list of {len(self._studies)} studies: {e}")
            finally:
                self._refreshed_at = time.monotonic()

    def _refresh(self) -> None:
        start = time.monotonic()
        by_study: dict[str, list[dict]] = {}
        for entry in self.client.search_series(self.filters):
            by_study.setdefault(_value(entry, STUDY_UID), []).append(entry)
        studies: dict[str, StudyItems] = {}
        for study_uid, entries in sorted(by_study.items()):
            known = self._studies.get(study_uid)
            studies[study_uid] = known if known and known.key == study_key(entries) else \
                self._classify(study_uid, entries)
        self._studies = studies
        self._save()
        n_items = sum(len(s.items) for s in studies.values())
        logger.info(f"PACS index: {len(studies)} MR studies, {n_items} work items ({time.monotonic() - start:.1f} s)")

    def _classify(self, study_uid: str, entries: list[dict]) -> StudyItems:
        metadata: dict[str, list[Dataset]] = {}
        for entry in entries:
            series_uid = _value(entry, SERIES_UID)
            metadata[series_uid] = self.client.series_metadata(study_uid, series_uid)
        items = study_work_items(study_uid, study_key(entries), metadata)
        if items.not_served:
            logger.warning(f"Study {study_uid} not served: {items.not_served}")
        return items

    # -- persistence ---------------------------------------------------------------------------------------------
    def _load(self) -> dict[str, StudyItems]:
        try:
            raw = json.loads(self.path.read_text())
            return {s["study_uid"]: StudyItems.from_json(s) for s in raw["studies"]}
        except FileNotFoundError:
            return {}
        except (ValueError, KeyError, TypeError) as e:
            logger.warning(f"Ignoring unreadable PACS index {self.path}: {e}")
            return {}

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps({"studies": [s.as_json() for s in self._studies.values()]}, indent=1))
        os.replace(tmp, self.path)
