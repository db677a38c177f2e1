"""MONAI Label datastore over a DICOMweb PACS (Orthanc) for lumbar axial T2 MR: ``PacsDatastore``.

What it serves (``lib.pacs.work_items``): per study, the axial T2 series chosen by the same rules as a DICOM folder
(localizers and non-axial series never), as one image per contiguous series (image id = SeriesInstanceUID) or one
image per block of an angled series (image id ``<SeriesInstanceUID>_block<k>``). Nothing is downloaded at start-up:
a series is fetched the first time one of its images is asked for.

Cache folder (``lib.pacs.settings.default_cache_dir``), owned by the app; the PACS only ever receives DICOM SEG
(final labels) and SR (grades)::

    index.json                   the work items (lib.pacs.index)
    dicom/<study_uid>/<series_uid>/<sop_uid>.dcm   downloaded series (the axial T2 and the best sagittal)
    images/<image_id>.nii.gz     work images: float32 [col, row, k], RAS affine (docs/CONTRACTS.md); a whole
                                 series in canonical order, a block in viewer order with its exact affine
    geometry/<image_id>.json     sidecars: each slice's own geometry, SOP UID and cached file, in k order
    labels/{final,original}/     labels (MONAI Label's layout); datastore_v2.json MONAI Label's index

Final labels: a whole (single-block) series' final label is also written to the PACS as DICOM SEG (highdicom);
block labels stay in the cache (derived per-block images never go to the PACS), and when every block of a series
has a final label, one SEG covering the whole series is written. SEGs already in the PACS on a served series
(saved by another viewer, or before the cache was emptied) become final labels here when training asks for its
data (``datalist``). Grades: when the grading stage stores its outputs in image info (``grading_outputs``), its
DICOM SR is also stored in the PACS; the grades stay readable through ``GET /datastore/image/info``. PACS failures
raise ``PacsUnavailable`` (HTTP 502/503/504 with the reason) after bounded retries (``PacsSettings``).
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from pathlib import Path
from typing import Any, Dict, List, Optional

import nibabel as nib
import numpy as np
import pydicom
from filelock import FileLock
from monailabel.datastore.local import LocalDatastore
from monailabel.interfaces.datastore import DefaultLabelTag

from lib.datastore.work_images import ingest_study, read_sidecar
from lib.dicom import geometries_from_json, read_image_nifti, read_label_nifti, write_nifti
from lib.pacs.client import PacsClient, PacsUnavailable
from lib.pacs.index import PacsIndex
from lib.pacs.seg import masks_to_seg, seg_to_masks
from lib.pacs.settings import PacsSettings
from lib.pacs.work_items import WorkItem
from lib.spine.geometry import SliceGeometry, stacked_affine_ras
from lib.spine.levels import LABEL_NAMES
from lib.retraining.labels import carry_over_label_info

logger = logging.getLogger(__name__)

IMAGE_EXT = ".nii.gz"
#: Image info key under which lib.infers.grading.GradingStage puts its output paths (grades.json, SR, report).
GRADING_OUTPUTS_KEY = "grading_outputs"
#: Longest wait for another thread or process building the same image (a download of a large series).
LOCK_TIMEOUT_S = 600


class PacsDatastore(LocalDatastore):
    """Work images of a DICOMweb PACS's lumbar axial T2 series, materialised on first use in a local cache."""

    def __init__(self, url: str, client: PacsClient, settings: PacsSettings, cache_dir: Path):
        self.url = url.rstrip("/")
        self.client = client
        self.settings = settings
        self.work_dir = Path(cache_dir)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.index = PacsIndex(client, self.work_dir / "index.json", settings.filters(), settings.list_ttl_s)
        super().__init__(str(self.work_dir), images_dir="images", labels_dir="labels",
                         datastore_config="datastore_v2.json", extensions=(f"*{IMAGE_EXT}",), auto_reload=False)
        logger.info(f"PACS datastore {self.url}; cache {self.work_dir}; search {settings.filters()}; nothing "
                    f"fetched until an image is asked for")

    def name(self) -> str:
        return f"PACS {self.url}"

    def description(self) -> str:
        return "Lumbar axial T2 series of a DICOMweb PACS (angled series served per block)"

    # -- listing -------------------------------------------------------------------------------------------------
    def list_images(self) -> List[str]:
        """The served image ids; the last known ones while the PACS cannot be reached (see ``status()``)."""
        return [item.image_id for item in self.index.items()]

    def get_labeled_images(self, label_tag: Optional[str] = None, labels: Optional[List[str]] = None) -> List[str]:
        self._init_from_datastore_file()  # reloads only when another process changed it
        local = set(super().get_labeled_images())
        return [i for i in self.list_images() if i in local]

    def get_unlabeled_images(self, label_tag: Optional[str] = None, labels: Optional[List[str]] = None) -> List[str]:
        self._init_from_datastore_file()
        local = set(super().get_labeled_images())
        return [i for i in self.list_images() if i not in local]

    def status(self) -> Dict[str, Any]:
        self._init_from_datastore_file()
        items, error = self.list_images(), self.index.last_error
        local = set(super().get_labeled_images())
        tags: dict[str, int] = {}
        for obj in self._datastore.objects.values():
            for tag in obj.labels:
                tags[tag] = tags.get(tag, 0) + 1
        return {"total": len(items), "completed": len([i for i in items if i in local]), "label_tags": tags,
                "pacs": self.url, "pacs_error": error, "pacs_not_served": self.index.not_served()}

    # -- images --------------------------------------------------------------------------------------------------
    def get_image_uri(self, image_id: str) -> str:
        """Path of the work image (downloaded and built on first use); '' for an id the PACS does not serve."""
        item = self.index.item(image_id)
        if item is None:
            return super().get_image_uri(image_id) if image_id in self._datastore.objects else ""
        return self._materialise(item)

    def get_image_info(self, image_id: str) -> Dict[str, Any]:
        self._init_from_datastore_file()
        item = self.index.item(image_id) if image_id not in self._datastore.objects else None
        info = item.info() if item else {}
        info.update(super().get_image_info(image_id))
        return info

    def update_image_info(self, image_id: str, info: Dict[str, Any]) -> None:
        """Image info as MONAI Label keeps it; a grading DICOM SR among the outputs is also stored in the PACS."""
        if image_id not in self._datastore.objects:
            self.get_image_uri(image_id)
        super().update_image_info(image_id, info)
        sr_path = (info.get(GRADING_OUTPUTS_KEY) or {}).get("sr")
        if sr_path and self.settings.upload_sr:
            super().update_image_info(image_id, {"grading_sr_series_uid": self._upload_sr(image_id, sr_path)})

    def _upload_sr(self, image_id: str, sr_path: str) -> str | None:
        """STOW the grading SR (written by lib.outputs.sr); failures are logged, the grades stay in image info."""
        try:
            sr = pydicom.dcmread(sr_path)
            self.client.store([sr])
        except Exception as e:  # noqa: BLE001 - the PACS being down must not lose the grades kept in the app
            logger.error(f"{image_id}: grading SR {sr_path} not stored in {self.url}: {e}")
            return None
        logger.info(f"{image_id}: grading SR stored in {self.url} (series {sr.SeriesInstanceUID})")
        return str(sr.SeriesInstanceUID)

    def sidecar(self, image_id: str) -> dict:
        """Geometry sidecar of a served image: UIDs, blocks, each slice's geometry and SOP UID in k order."""
        if not self.geometry_path(image_id).exists():
            self.get_image_uri(image_id)
        return read_sidecar(self.geometry_path(image_id))

    def geometry_path(self, image_id: str) -> Path:
        return self.work_dir / "geometry" / f"{image_id}.json"

    def slice_geometries(self, image_id: str) -> list[SliceGeometry]:
        return geometries_from_json(self.sidecar(image_id)["slices"])

    def _lock(self, key: str) -> FileLock:
        """A lock per image shared by threads and processes (training and scoring run in subprocesses)."""
        path = self.work_dir / "locks" / f"{key}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        return FileLock(str(path), timeout=LOCK_TIMEOUT_S)

    def _materialise(self, item: WorkItem) -> str:
        """Download the series and build the whole-series work image, then the block image if ``item`` is one."""
        whole = self.index.whole(item)
        with self._lock(whole.image_id):
            self._init_from_datastore_file()  # another process (training, scoring) may have built it
            whole_path = self._build_whole(whole)
        if item.block is None:
            return whole_path
        with self._lock(item.image_id):
            self._init_from_datastore_file()
            path = super().get_image_uri(item.image_id)
            if path and os.path.exists(path) and self.geometry_path(item.image_id).exists():
                return path
            return self._build_block(item, whole)

    def study_dir(self, item: WorkItem) -> Path:
        return self.work_dir / "dicom" / item.study_uid

    def _download(self, study_uid: str, series_uid: str, expected: int) -> Path:
        folder = self.work_dir / "dicom" / study_uid / series_uid
        if folder.is_dir() and len(list(folder.glob("*.dcm"))) >= expected:
            return folder
        tmp = folder.with_name(f".{series_uid}.partial")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for ds in self.client.retrieve_series(study_uid, series_uid):
            ds.save_as(tmp / f"{ds.SOPInstanceUID}.dcm", write_like_original=False)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
        return folder

    def _build_whole(self, whole: WorkItem) -> str:
        path = super().get_image_uri(whole.image_id)
        if path and os.path.exists(path) and self.geometry_path(whole.image_id).exists():
            return path
        self._download(whole.study_uid, whole.series_uid, len(set(whole.sop_uids)))
        if whole.sagittal_uid:
            try:
                self._download(whole.study_uid, whole.sagittal_uid, 1)
            except Exception as e:  # noqa: BLE001 - the sagittal only confirms the level count
                logger.warning(f"Sagittal series {whole.sagittal_uid} not downloaded: {e}")
        staging = self.work_dir / "staging"
        work = ingest_study(self.study_dir(whole), whole.image_id, staging, self.work_dir / "geometry")
        if work.summary["series_uid"] != whole.series_uid:
            raise ValueError(f"study {whole.study_uid}: the downloaded files give axial series "
                             f"{work.summary['series_uid']}, the PACS metadata {whole.series_uid}")
        _absolute_files(self.geometry_path(whole.image_id), self.study_dir(whole))
        info = {**whole.info(), **work.summary}
        super().add_image(whole.image_id, str(work.image_path), info)
        work.image_path.unlink(missing_ok=True)
        return super().get_image_uri(whole.image_id)

    def _build_block(self, item: WorkItem, whole: WorkItem) -> str:
        """Block k's slices (in the item's viewer order) cut from the whole-series work image, exact affine."""
        side = read_sidecar(self.geometry_path(whole.image_id))
        by_sop = {r["sop_uid"]: r for r in side["slices"]}
        missing = [s for s in item.sop_uids if s not in by_sop]
        if missing:
            raise ValueError(f"{item.image_id}: {len(missing)} slice(s) of the block could not be read from the PACS "
                             f"(e.g. SOP {missing[0]})")
        records = [by_sop[s] for s in item.sop_uids]
        volume, _ = read_image_nifti(super().get_image_uri(whole.image_id))
        block_volume = volume[:, :, [r["index"] for r in records]]
        affine = stacked_affine_ras(geometries_from_json(records))
        staged = write_nifti(block_volume, affine, self.work_dir / "staging" / f"{item.image_id}{IMAGE_EXT}")
        block_side = {k: v for k, v in side.items() if k not in ("slices", "blocks")}
        block_side.update({"image_id": item.image_id, "block": item.block, "n_blocks": item.n_blocks,
                           "blocks": [list(range(len(records)))], "whole_series_image_id": whole.image_id,
                           "n_slices": len(records),
                           "slices": [{**r, "index": k, "source_index": r["index"]} for k, r in enumerate(records)]})
        _atomic_json(self.geometry_path(item.image_id), block_side)
        info = {**{k: v for k, v in side.items() if k not in ("slices", "blocks", "warnings")}, **item.info(),
                "study_id": item.image_id, "n_slices": len(records)}
        super().add_image(item.image_id, str(staged), info)
        staged.unlink(missing_ok=True)
        return super().get_image_uri(item.image_id)

    # -- labels --------------------------------------------------------------------------------------------------
    def save_label(self, image_id: str, label_filename: str, label_tag: str, label_info: Dict[str, Any],
                   label_id: str = "") -> str:
        """Save locally; a final label of a whole series (or the last block of one) also goes to the PACS as SEG."""
        image_path = self.get_image_uri(image_id)
        if not image_path:
            raise ValueError(f"image '{image_id}' is not served by {self.name()}")
        converted = None
        if "".join(Path(label_filename).suffixes) == ".bin":  # OHIF sends the raw label array
            from monailabel.datastore.utils.convert import binary_to_image

            converted = label_filename = binary_to_image(image_path, label_filename)
        if label_tag == DefaultLabelTag.FINAL:
            label_info = carry_over_label_info(self.get_label_info(image_id, label_tag) or None, label_info)
        try:
            label_id = super().save_label(image_id, label_filename, label_tag, label_info)
        finally:
            if converted:
                os.unlink(converted)
        if label_tag == DefaultLabelTag.FINAL and self.settings.upload_seg:
            seg_uid, note = self._upload_final_seg(image_id)
            super().update_label_info(label_id, label_tag, {"seg_series_uid": seg_uid, "seg_note": note})
        return label_id

    def _upload_final_seg(self, image_id: str) -> tuple[str | None, str]:
        """Write the series' final label(s) to the PACS as one DICOM SEG; (SEG series UID or None, what happened)."""
        item = self.index.item(image_id)
        if item is None:
            return None, "not a PACS image"
        whole = self.index.whole(item)
        parts = [item] if item.block is None else [i for i in self._blocks_of(whole)]
        sops: list[str] = []
        masks: list[np.ndarray] = []
        for part in parts:
            label_path = self.get_label_uri(part.image_id, DefaultLabelTag.FINAL)
            if not label_path:
                done = sum(1 for p in parts if self.get_label_uri(p.image_id, DefaultLabelTag.FINAL))
                return None, f"{done}/{len(parts)} blocks have a final label; the SEG is written when all have one"
            label, _ = read_label_nifti(label_path)
            sop_order = [r["sop_uid"] for r in self.sidecar(part.image_id)["slices"]]
            sops += sop_order
            masks += [label[:, :, k].T for k in range(label.shape[2])]
        folder = self.work_dir / "dicom" / whole.study_uid / whole.series_uid
        sources = [pydicom.dcmread(folder / f"{sop}.dcm", stop_before_pixels=True) for sop in sops]
        try:
            seg = masks_to_seg(sources, np.stack(masks), LABEL_NAMES)
        except ValueError as e:
            logger.warning(f"{image_id}: no DICOM SEG written: {e}")
            return None, f"no SEG: {e}"
        self.client.store([seg])
        self._mark_seen([str(seg.SeriesInstanceUID)])  # our own SEG: nothing to import back
        logger.info(f"{image_id}: final label stored in {self.url} as DICOM SEG series {seg.SeriesInstanceUID}")
        return str(seg.SeriesInstanceUID), "stored in the PACS"

    # -- labels made elsewhere --------------------------------------------------------------------------------------
    def datalist(self, full_path=True) -> List[Dict[str, Any]]:
        """Training pairs of the final labels here, after importing SEGs in the PACS that the cache lacks."""
        self._import_pacs_segs()
        return super().datalist(full_path)

    def _import_pacs_segs(self) -> None:
        """Final labels stored in the PACS as SEG on a served axial series (by another viewer, or before the cache
        was emptied) become final labels here, per served image that has none; segments matched by label name."""
        try:
            entries = self.client.search_series({"Modality": "SEG"})
        except PacsUnavailable as e:
            logger.warning(f"PACS SEGs not imported: {e}")
            return
        seen = self._seen_segs()
        for entry in entries:
            study_uid, seg_uid = (str(entry[t]["Value"][0]) for t in ("0020000D", "0020000E"))
            if seg_uid in seen:
                continue
            try:
                self._import_seg(study_uid, seg_uid)
            except PacsUnavailable as e:
                logger.warning(f"SEG {seg_uid} not imported now: {e}")
                continue
            except Exception as e:  # noqa: BLE001 - one odd SEG must not stop a training
                logger.warning(f"SEG {seg_uid} not imported: {e!r}")
            seen.add(seg_uid)
        self._mark_seen(seen)

    def _seen_segs(self) -> set[str]:
        """SEG series already imported, or written by this app (``imported_segs.json``)."""
        path = self.work_dir / "imported_segs.json"
        return set(json.loads(path.read_text())) if path.exists() else set()

    def _mark_seen(self, seg_uids) -> None:
        _atomic_json(self.work_dir / "imported_segs.json", sorted(self._seen_segs() | set(seg_uids)))

    def _import_seg(self, study_uid: str, seg_uid: str) -> None:
        seg = self.client.retrieve_series(study_uid, seg_uid)[0]
        referenced = str(seg.ReferencedSeriesSequence[0].SeriesInstanceUID)
        study = self.index.study(study_uid)
        parts = [i for i in (study.items if study else ()) if i.series_uid == referenced]
        for part in parts:
            if self.get_label_uri(part.image_id, DefaultLabelTag.FINAL):
                continue  # a final label made here wins
            image = nib.load(self.get_image_uri(part.image_id))
            sops = [r["sop_uid"] for r in self.sidecar(part.image_id)["slices"]]
            masks = seg_to_masks(seg, sops, LABEL_NAMES)
            if not masks.any():
                continue
            path = write_nifti(np.transpose(masks, (2, 1, 0)), image.affine,
                               self.work_dir / "staging" / f"{part.image_id}_seg{IMAGE_EXT}")
            LocalDatastore.save_label(self, part.image_id, str(path), DefaultLabelTag.FINAL,
                                      {"source": "PACS DICOM SEG", "seg_series_uid": seg_uid})
            path.unlink(missing_ok=True)
            logger.info(f"{part.image_id}: final label imported from SEG {seg_uid} in {self.url}")

    def _blocks_of(self, whole: WorkItem) -> list[WorkItem]:
        study = self.index.study(whole.study_uid)
        return [i for i in study.items if i.series_uid == whole.series_uid] if study else []


def _absolute_files(sidecar_path: Path, study_dir: Path) -> None:
    """Make each slice's ``file`` absolute (the cached DICOM file), as readers of sidecars resolve relative ones
    against a studies folder this datastore does not have (SR and report writers read the source files)."""
    side = read_sidecar(sidecar_path)
    for record in side["slices"]:
        if record.get("file") and not Path(record["file"]).is_absolute():
            record["file"] = str(study_dir / record["file"])
    _atomic_json(sidecar_path, side)


def _atomic_json(path: Path, payload: dict | list) -> None:
    """Write JSON to a temporary name (unique per process and thread), then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(payload, indent=1))
    os.replace(tmp, path)
