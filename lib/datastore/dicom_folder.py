"""MONAI Label datastore over a folder of DICOM studies (MONAI Label 0.8.5's LocalDatastore reads image files only).

Layout of ``--studies ROOT``::

    ROOT/<study_id>/**            the studies, any nesting and file names; never written to
    ROOT/.spine/images/           one work image per study (lib.datastore.work_images), MONAI Label's image dir
    ROOT/.spine/geometry/         per-study geometry sidecars (each slice's true plane and SOP UID)
    ROOT/.spine/labels/{final,original}/   labels saved by annotators and models (MONAI Label's label dirs)
    ROOT/.spine/datastore_v2.json MONAI Label's index; ROOT/.spine/ingest_report.json what could not be served

A study that cannot be read is reported (study, file, reason) in the ingest report and the log and left out; the
others are served. Nothing under ``ROOT/<study_id>`` is changed, and labels of a study are never deleted.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from monailabel.datastore.local import LocalDatastore

from lib.datastore.work_images import IMAGE_SUFFIX, WorkImage, ingest_study, read_sidecar
from lib.dicom import StudyError, geometries_from_json, scan_study_folders
from lib.retraining.labels import FINAL, carry_over_label_info
from lib.spine.geometry import SliceGeometry

logger = logging.getLogger(__name__)

WORK_DIR_NAME = ".spine"


@dataclass(frozen=True)
class IngestReport:
    """Which studies became work images and which could not, with the reason."""

    served: tuple[str, ...]
    failed: dict[str, str]

    def as_dict(self) -> dict:
        return {"served": list(self.served), "failed": dict(self.failed)}


def holds_dicom_studies(root: Path) -> bool:
    """True when ``root`` holds DICOM study folders rather than plain image files (NIfTI)."""
    try:
        return bool(scan_study_folders(root))
    except NotADirectoryError:
        return False


def ingest_folder(root: Path, work_dir: Path) -> tuple[IngestReport, list[WorkImage]]:
    """Bring every study folder under ``root`` to an up-to-date work image; report the ones that fail."""
    images_dir, geometry_dir = work_dir / "images", work_dir / "geometry"
    studies = scan_study_folders(root)
    failed: dict[str, str] = {}
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if sub.name not in studies and root.name not in studies:
            failed[sub.name] = str(StudyError(sub.name, None, "no DICOM files in this folder"))
    work: list[WorkImage] = []
    for study_id, folder in studies.items():
        try:
            work.append(ingest_study(folder, study_id, images_dir, geometry_dir))
        except StudyError as e:
            failed[study_id] = str(e)
        except Exception as e:  # noqa: BLE001 - one bad study must never stop the others from being served
            failed[study_id] = str(StudyError(study_id, None, f"unexpected error while reading: {e!r}"))
    for study_id, reason in failed.items():
        logger.error(f"Study not served: {reason}")
    return IngestReport(tuple(w.study_id for w in work), failed), work


class DicomFolderDatastore(LocalDatastore):
    """LocalDatastore whose images are the work images of the DICOM studies under ``studies``."""

    def __init__(self, studies: str, read_only: bool = False):
        self.studies_root = Path(studies).resolve()
        self.work_dir = self.studies_root / WORK_DIR_NAME
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.ingest_report, work = ingest_folder(self.studies_root, self.work_dir)
        self._write_report()
        super().__init__(
            str(self.studies_root),
            images_dir=f"{WORK_DIR_NAME}/images",
            labels_dir=f"{WORK_DIR_NAME}/labels",
            datastore_config=f"{WORK_DIR_NAME}/datastore_v2.json",
            extensions=(f"*{IMAGE_SUFFIX}",),
            auto_reload=False,
            read_only=read_only,
        )
        self._store_summaries(work)

    def _write_report(self) -> None:
        path = self.work_dir / "ingest_report.json"
        tmp = path.with_name(".ingest_report.json.tmp")
        tmp.write_text(json.dumps(self.ingest_report.as_dict(), indent=1))
        os.replace(tmp, path)

    def _store_summaries(self, work: list[WorkImage]) -> None:
        """Put each study's summary in its image info, only where it changed (the index is one JSON file)."""
        for w in work:
            info = self.get_image_info(w.study_id)
            if info and any(info.get(k) != v for k, v in w.summary.items()):
                self.update_image_info(w.study_id, w.summary)

    def refresh(self) -> None:
        """Pick up studies added, changed or removed since start-up, then reconcile MONAI Label's index."""
        self.ingest_report, work = ingest_folder(self.studies_root, self.work_dir)
        self._write_report()
        served = set(self.ingest_report.served)
        for image in (self.work_dir / "images").glob(f"*{IMAGE_SUFFIX}"):
            study_id = image.name[: -len(IMAGE_SUFFIX)]
            if study_id not in served and not (self.studies_root / study_id).exists():
                image.unlink()  # its study folder is gone; its labels stay
        super().refresh()
        self._store_summaries(work)

    def save_label(self, image_id: str, label_filename: str, label_tag: str, label_info: dict) -> str:
        """As LocalDatastore, but a final mask saved again keeps the landmarks and grades it was saved with."""
        if label_tag == FINAL:
            previous = self.get_label_info(image_id, label_tag)
            label_info = carry_over_label_info(previous, label_info)
        return super().save_label(image_id, label_filename, label_tag, label_info)

    def geometry_path(self, image_id: str) -> Path:
        return self.work_dir / "geometry" / f"{image_id}.json"

    def sidecar(self, image_id: str) -> dict:
        """The geometry sidecar of a study: UIDs, blocks, each slice's true geometry and SOP UID."""
        return read_sidecar(self.geometry_path(image_id))

    def slice_geometries(self, image_id: str) -> list[SliceGeometry]:
        """Each slice's true geometry, in the order of the work image's k axis."""
        return geometries_from_json(self.sidecar(image_id)["slices"])

    def status(self):
        status = super().status()
        status["ingest_failed"] = dict(self.ingest_report.failed)
        return status
