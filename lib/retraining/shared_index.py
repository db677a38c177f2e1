"""One datastore index shared safely by the server and its training and scoring processes.

MONAI Label 0.8.5's ``LocalDatastore`` keeps its index (``datastore_v2.json``) in memory and writes the whole of it
back on every change, without first reading what other processes wrote. Training and scoring run in subprocesses
(``python -m monailabel.interfaces.utils.app``) that hold their own copy, so without care a scoring process that
writes a study's score can erase a label the server saved a second earlier, and the server can erase the scores.

``SharedIndexMixin`` (put it before ``LocalDatastore`` in the bases) makes every change a transaction under the
index's file lock: re-read the file, apply the one change, write the file atomically (temporary file + rename).
Reads re-load the index when the file changed (size or modification time). ``modify_image_info`` is the
read-modify-write the scoring methods use for nested keys (``info["scores"][method]``).
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from filelock import FileLock
from monailabel.datastore.local import DataModel, LocalDatastoreModel
from monailabel.interfaces.exception import ImageNotFoundException, LabelNotFoundException

from lib.datastore.dicom_folder import DicomFolderDatastore
from lib.retraining.labels import FINAL, carry_over_label_info

logger = logging.getLogger(__name__)


class SharedIndexMixin:
    """Process-safe changes and fresh reads for a ``LocalDatastore`` subclass (see module docstring)."""

    _index_stamp: tuple[int, int] | None = None

    # -- the index file -------------------------------------------------------------------------------------------
    def _stamp(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self._datastore_config_path)
        except FileNotFoundError:
            return None
        return st.st_mtime_ns, st.st_size

    def _load_index_locked(self) -> None:
        """Re-read the index from disk; the caller holds the lock."""
        stamp = self._stamp()
        if stamp is None:
            return
        with open(self._datastore_config_path) as fp:
            model = LocalDatastoreModel.model_validate_json(fp.read())
        model.base_path = self._datastore_path
        self._datastore = model
        self._config_ts = os.stat(self._datastore_config_path).st_mtime
        self._index_stamp = stamp

    def _sync_index(self) -> None:
        """Re-load the index if another process changed it since this one last read or wrote it."""
        if self._stamp() != self._index_stamp:
            with FileLock(self._lock_file):
                self._load_index_locked()

    def _update_datastore_file(self, lock: bool = True) -> None:
        def write() -> None:
            tmp = f"{self._datastore_config_path}.{os.getpid()}.tmp"
            with open(tmp, "w") as f:
                f.write(json.dumps(self._datastore.model_dump(exclude={"base_path"}), indent=2, default=str))
            self._ignore_event_config = True
            os.replace(tmp, self._datastore_config_path)
            self._config_ts = os.stat(self._datastore_config_path).st_mtime
            self._index_stamp = self._stamp()

        if lock:
            with FileLock(self._lock_file):
                write()
        else:
            write()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """Lock, re-read, let the caller change ``self._datastore``, write; nothing is written if it raises."""
        with FileLock(self._lock_file):
            self._load_index_locked()
            yield
            self._update_datastore_file(lock=False)

    # -- changes --------------------------------------------------------------------------------------------------
    def _object(self, image_id: str):
        obj = self._datastore.objects.get(image_id)
        if not obj:
            raise ImageNotFoundException(f"Image {image_id} not found")
        return obj

    def update_image_info(self, image_id: str, info: dict[str, Any]) -> None:
        with self._transaction():
            self._object(image_id).image.info.update(info)

    def modify_image_info(self, image_id: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
        """``change(current info)`` returns the keys to update; runs with the index locked. Returns the new info."""
        with self._transaction():
            info = self._object(image_id).image.info
            info.update(change(dict(info)))
            return dict(info)

    def update_label_info(self, label_id: str, label_tag: str, info: dict[str, Any]) -> None:
        with self._transaction():
            label = self._datastore.label(label_id, label_tag)
            if not label:
                raise LabelNotFoundException(f"Label: {label_id} Tag: {label_tag} not found")
            label.info.update(info)

    def save_label(self, image_id: str, label_filename: str, label_tag: str, label_info: dict[str, Any]) -> str:
        """As ``LocalDatastore.save_label`` (same files, same info), as one transaction."""
        _, label_ext = self._to_id(os.path.basename(label_filename))
        name = self._filename(image_id, label_ext)
        with self._transaction():
            obj = self._object(image_id)
            label_path = self._datastore.label_path(label_tag)
            os.makedirs(label_path, exist_ok=True)
            shutil.copy(label_filename, os.path.join(label_path, name))
            previous = obj.labels[label_tag].info if label_tag == FINAL and label_tag in obj.labels else None
            info = dict(carry_over_label_info(previous, label_info), ts=int(time.time()), name=name)
            obj.labels[label_tag] = DataModel(info=info, ext=label_ext)
        logger.info(f"Saved {label_tag} label of {image_id}: {info}")
        return image_id

    # -- reads: fresh from disk when another process wrote ---------------------------------------------------------
    def get_image_info(self, image_id: str) -> dict[str, Any]:
        self._sync_index()
        return super().get_image_info(image_id)

    def get_label_info(self, label_id: str, label_tag: str) -> dict[str, Any]:
        self._sync_index()
        return super().get_label_info(label_id, label_tag)

    def get_labeled_images(self, label_tag=None, labels=None) -> list[str]:
        self._sync_index()
        return super().get_labeled_images(label_tag, labels)

    def get_unlabeled_images(self, label_tag=None, labels=None) -> list[str]:
        self._sync_index()
        return super().get_unlabeled_images(label_tag, labels)

    def list_images(self) -> list[str]:
        self._sync_index()
        return super().list_images()

    def datalist(self, full_path: bool = True) -> list[dict[str, Any]]:
        self._sync_index()
        return super().datalist(full_path)

    def get_image_uri(self, image_id: str) -> str:
        self._sync_index()
        return super().get_image_uri(image_id)

    def get_label_uri(self, label_id: str, label_tag: str) -> str:
        self._sync_index()
        return super().get_label_uri(label_id, label_tag)

    def status(self) -> dict[str, Any]:
        self._sync_index()
        return super().status()

    def json(self):
        self._sync_index()
        return super().json()


class SharedDicomFolderDatastore(SharedIndexMixin, DicomFolderDatastore):
    """The app's DICOM-folder datastore with a process-safe index (what ``main.py`` serves)."""
