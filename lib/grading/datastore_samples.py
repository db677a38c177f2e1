"""Study samples for stage 2 training, read from the app's DICOM-folder datastore (``lib.datastore.dicom_folder``).

For each study with grade labels (``DatastoreGradeLabelStore``):
- series: the work image (``volume[col, row, k]``, canonical order) and its geometry sidecar (each slice's own plane,
  SOP UID and file), as slices with ``pixels[row, col]``, ``geometry``, ``sop_instance_uid`` and ``file_path``;
- stage 1: with a ``ServedStage1`` source (what the canal tree uses by default, ``grading_tree_measurements served``),
  stage 1 as the server computes it from the image, so the tree learns thresholds on the measurements it will grade
  (the segmentation model's small boundary bias included); otherwise, or when that fails, computed from the study's
  ``final`` label mask with the stage 1 rules (``lib.pipeline.stage1``) when there is one, so grades learn from
  corrected masks; otherwise the last stage 1 result kept in image info under ``grading`` (written by
  ``GradingStage``) or ``stage1``. A study with none of these is skipped with the reason logged.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from lib.grading.dataset import StudySample
from lib.grading.labels import DatastoreGradeLabelStore
from lib.spine.geometry import SliceGeometry

logger = logging.getLogger(__name__)

#: Image info keys: the last grades document written by GradingStage, and a plain stage 1 result if one is kept.
PREDICTED_INFO_KEY = "grading"
STAGE1_INFO_KEY = "stage1"


@dataclass(frozen=True)
class WorkSlice:
    sop_instance_uid: str
    geometry: SliceGeometry
    pixels: np.ndarray
    file_path: Path | None = None
    frame_number: int | None = None


@dataclass
class WorkSeries:
    """An axial series rebuilt from a work image and its sidecar (duck-types ``lib.dicom.AxialSeries``)."""

    slices: list[WorkSlice]
    study_uid: str
    series_uid: str
    blocks: list[list[int]] = field(default_factory=list)


def _sidecar(datastore: Any, image_id: str) -> dict:
    if not hasattr(datastore, "sidecar"):
        raise TypeError(f"{type(datastore).__name__} keeps no slice geometry; stage 2 needs the DICOM-folder datastore")
    return datastore.sidecar(image_id)


def work_series(datastore: Any, image_id: str, with_pixels: bool = True) -> WorkSeries:
    """The study's axial series from its work image and sidecar (pixels zero-sized when ``with_pixels`` is False)."""
    from lib.dicom import geometries_from_json, read_image_nifti

    side = _sidecar(datastore, image_id)
    geometries = geometries_from_json(side["slices"])
    volume = read_image_nifti(datastore.get_image_uri(image_id))[0] if with_pixels else None
    study_dir = Path(getattr(datastore, "studies_root", ".")) / image_id
    slices = []
    for k, (rec, g) in enumerate(zip(side["slices"], geometries)):
        pixels = np.ascontiguousarray(volume[:, :, k].T) if volume is not None else np.zeros((0, 0), np.float32)
        file = Path(rec["file"]) if rec.get("file") else None
        file = file if file is None or file.is_absolute() else study_dir / file
        slices.append(WorkSlice(str(rec["sop_uid"]), g, pixels, file, rec.get("frame")))
    return WorkSeries(slices, side.get("study_uid"), side.get("series_uid"), [list(b) for b in side.get("blocks", [])])


def stage1_from_final_label(datastore: Any, image_id: str, series: WorkSeries) -> dict | None:
    """Stage 1 (levels, measurements, landmarks) from the study's final label mask, None when it has none."""
    from lib.dicom import read_label_nifti
    from lib.pipeline.stage1 import stage1_result

    label_id = datastore.get_label_by_image_id(image_id, "final")
    uri = datastore.get_label_uri(label_id, "final") if label_id else ""
    if not uri or not Path(uri).exists():
        return None
    labels = read_label_nifti(uri)[0]
    return stage1_result(labels, [s.geometry for s in series.slices], [s.sop_instance_uid for s in series.slices],
                         series.blocks or None, series.study_uid, series.series_uid, {"stage1": "final label"})


#: Segmentation versions that say nothing about which weights made a result (``lib.model_card.model_version``).
UNVERSIONED = (None, "unknown", "untrained")


class ServedStage1:
    """Stage 1 of a datastore study as the server serves it: the segmentation model's masks, then the stage 1 rules.

    ``run_stage1(image_path) -> stage 1 document`` runs it on the study's work image; ``segmentation_version`` is the
    version of the weights it runs with. The result the post-infer hook stored in image info (``grading``) is reused
    when those same weights made it, so a tree refit over a large archive only runs the studies inferred before the
    last segmentation training. ``counts`` says how many were reused, run and failed.
    """

    def __init__(self, run_stage1: Callable[[str], dict], segmentation_version: str):
        self.run_stage1 = run_stage1
        self.segmentation_version = segmentation_version
        self.counts = {"reused": 0, "run": 0, "failed": 0, "no_levels": 0}

    def __call__(self, datastore: Any, image_id: str) -> dict | None:
        stored = (datastore.get_image_info(image_id) or {}).get(PREDICTED_INFO_KEY) or {}
        made_by = (stored.get("models") or {}).get("segmentation")
        if stored.get("levels") and made_by == self.segmentation_version and made_by not in UNVERSIONED:
            self.counts["reused"] += 1
            return stored
        try:
            document = self.run_stage1(datastore.get_image_uri(image_id))
        except Exception as err:  # noqa: BLE001 - one study that stage 1 cannot read must not stop a training
            logger.warning("grading: study %s: served stage 1 failed (%s); using its final mask instead", image_id, err)
            self.counts["failed"] += 1
            return None
        self.counts["run"] += 1
        if not document.get("levels"):
            # the segmentation model sees no disc here: learn this study's grades from its final mask instead
            self.counts["no_levels"] += 1
            return None
        return document

    def describe(self) -> str:
        c = self.counts
        return (f"served: stage 1 with segmentation {self.segmentation_version} "
                f"({c['run']} studies run, {c['reused']} reused from image info, {c['failed']} failed, "
                f"{c['no_levels']} with no level found: final masks used for those)")


def datastore_samples(datastore: Any, with_pixels: bool = True, image_ids=None,
                      served: ServedStage1 | None = None) -> Iterator[StudySample]:
    """Samples of every study that has grade labels (or of ``image_ids``); studies without stage 1 are skipped.

    ``served``: take stage 1 as served (see ``ServedStage1``) before the final mask.
    """
    store = DatastoreGradeLabelStore(datastore)
    for image_id in image_ids if image_ids is not None else store.studies():
        grades = store.get(image_id)
        if not grades:
            continue
        try:
            series = work_series(datastore, image_id, with_pixels)
            stage1 = served(datastore, image_id) if served is not None else None
            if stage1 is None:
                stage1 = stage1_from_final_label(datastore, image_id, series)
        except Exception as err:  # noqa: BLE001 - one unreadable study must not stop a training
            logger.warning("grading: study %s skipped: %s", image_id, err)
            continue
        if stage1 is None:
            info = datastore.get_image_info(image_id) or {}
            stage1 = info.get(PREDICTED_INFO_KEY) or info.get(STAGE1_INFO_KEY)
        if not stage1 or not stage1.get("levels"):
            logger.warning("grading: study %s skipped: no final label and no stored stage 1 result", image_id)
            continue
        yield StudySample(image_id, series, stage1, grades)
