"""Stage 1 of one work image, the way every caller runs it: the infer tasks, scripts/grade.py, evaluate, benchmark.

Inputs
    * ``image_path``: a stacked work image (NIfTI, ``volume[col, row, k]``, canonical slice order; CONTRACTS.md).
      Its geometry comes from the sidecar ``<work>/geometry/<id>.json`` beside ``<work>/images/<id>.nii.gz``
      (lib/datastore/work_images.py): each slice's true plane and SOP UID, the blocks, the study/series UIDs.
      A plain NIfTI without sidecar gets parallel slices from its affine (RAS -> LPS; slice k's plane passes through
      affine @ (0, 0, k), row direction = column 0 of the LPS affine, column direction = column 1, spacings their
      norms); its SOP UIDs are then ``"<image id>#<k>"`` and its study/series UIDs None.
    * the label, either from the ``segmentation`` infer task (a MONAI Label BasicInferTask, called with
      ``{"image": path, "skip_writer": True, "device": ...}``; its ``pred`` is the label ``[col, row, k]``) or
      given (a NIfTI path or an array, e.g. the study's final label): then segmentation is not run.
    * optionally the learned landmark model (lib.landmarks.model): where it is usable it replaces the rules' facet
      and foramen points level by level; the rules stay the fallback and are kept in ``Stage1Output.rule_landmarks``.

Output: :class:`Stage1Output` with the label volume (uint8 ``[col, row, k]``) and the stage 1 document of
lib/pipeline/stage1.py, plus ``landmark_source`` ("model", "rules" or "model+rules": which placed the points of the
levels found) and ``landmark_model`` (why the model was or was not used).

Bad input raises :class:`Stage1Error` whose message says what is wrong (missing file, not a 3D image, fewer than
``MIN_AXIAL_SLICES`` slices, planes not axial, a label of the wrong shape). A series without a spine is not an
error: its document has no levels and lists every level in ``missing_levels`` with the reason.

Example::

    runner = Stage1Runner(segmentation=seg_task, landmarks=LandmarkModelFile("model/landmarks.pt"))
    out = runner.run("work/images/study1.nii.gz")
    out.document["levels"]["L4-L5"]["landmarks_lps_mm"]["facet_left"]   # [x, y, z] LPS mm
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from lib.dicom import AXIAL_MAX_TILT_DEG, MIN_AXIAL_SLICES, geometries_from_json, read_image_nifti, read_label_nifti
from lib.landmarks.inputs import LevelSlice
from lib.landmarks.model import LandmarkModel, LandmarkModelFile
from lib.model_card import model_version
from lib.pipeline.stage1 import stage1_result
from lib.spine.geometry import SliceGeometry, group_into_blocks
from lib.spine.measurements import MeasurementError

NIFTI_SUFFIXES = (".nii.gz", ".nii")


class Stage1Error(ValueError):
    """The input cannot go through stage 1; the message says why (shown to the user as is)."""


@dataclass(frozen=True)
class SeriesGeometry:
    """Where each slice of a work image lies (canonical order) and which DICOM objects they are."""

    study_uid: str | None
    series_uid: str | None
    geometries: tuple[SliceGeometry, ...]
    sop_uids: tuple[str, ...]
    blocks: tuple[tuple[int, ...], ...]
    source: str  # "sidecar" or "affine"


@dataclass
class Stage1Output:
    """What stage 1 made of one work image (arrays ``[col, row, k]``; affine = the work image's RAS affine)."""

    image: np.ndarray
    labels: np.ndarray
    affine: np.ndarray
    series: SeriesGeometry
    document: dict
    rule_landmarks: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def image_id_of(path: str | Path) -> str:
    """``.../images/study1.nii.gz`` -> ``study1``."""
    name = Path(path).name
    for suffix in NIFTI_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return Path(name).stem


def sidecar_path(image_path: str | Path) -> Path:
    """``<work>/images/<id>.nii.gz`` -> ``<work>/geometry/<id>.json`` (lib/datastore/work_images.py)."""
    p = Path(image_path)
    return p.parent.parent / "geometry" / f"{image_id_of(p)}.json"


def geometries_from_affine(affine_ras: np.ndarray, shape: tuple[int, ...]) -> list[SliceGeometry]:
    """Parallel slice geometries of a ``[col, row, k]`` volume from its RAS affine (see module docstring)."""
    lps = np.diag([-1.0, -1.0, 1.0, 1.0]) @ np.asarray(affine_ras, float)
    col_step, row_step = lps[:3, 0], lps[:3, 1]
    dc, dr = float(np.linalg.norm(col_step)), float(np.linalg.norm(row_step))
    thickness = float(np.linalg.norm(lps[:3, 2]))
    return [
        SliceGeometry(tuple(float(v) for v in (lps @ [0.0, 0.0, k, 1.0])[:3]), tuple(col_step / dc),
                      tuple(row_step / dr), (dr, dc), int(shape[1]), int(shape[0]), thickness)
        for k in range(int(shape[2]))
    ]


def read_series_geometry(image_path: str | Path, shape: tuple[int, ...], affine: np.ndarray) -> SeriesGeometry:
    """The work image's geometry from its sidecar, or derived from the affine when it has none."""
    side = sidecar_path(image_path)
    if side.exists():
        record = json.loads(side.read_text())
        geometries = geometries_from_json(record["slices"])
        blocks = tuple(tuple(int(i) for i in b) for b in record.get("blocks") or [range(len(geometries))])
        return SeriesGeometry(record.get("study_uid"), record.get("series_uid"), tuple(geometries),
                              tuple(str(r["sop_uid"]) for r in record["slices"]), blocks, "sidecar")
    geometries = geometries_from_affine(affine, shape)
    image_id = image_id_of(image_path)
    return SeriesGeometry(None, None, tuple(geometries), tuple(f"{image_id}#{k}" for k in range(len(geometries))),
                          tuple(tuple(b) for b in group_into_blocks(geometries)), "affine")


def check_series(shape: tuple[int, ...], series: SeriesGeometry) -> None:
    """Raise Stage1Error unless the image is a 3D stack of enough axial slices matching its geometry."""
    if len(shape) != 3:
        raise Stage1Error(f"the image is not a 3D stack of slices (shape {tuple(shape)})")
    if shape[2] < MIN_AXIAL_SLICES:
        raise Stage1Error(f"the series has {shape[2]} slice(s); stage 1 needs an axial stack of at least "
                          f"{MIN_AXIAL_SLICES} slices to find and name the discs")
    if len(series.geometries) != shape[2]:
        raise Stage1Error(f"the image has {shape[2]} slices but its geometry sidecar {len(series.geometries)}")
    g0 = series.geometries[0]
    if (g0.columns, g0.rows) != tuple(shape[:2]):
        raise Stage1Error(f"the image's slices are {shape[0]}x{shape[1]} (cols x rows) but its geometry says "
                          f"{g0.columns}x{g0.rows}")
    tilts = [float(np.degrees(np.arccos(min(1.0, abs(float(g.normal[2])))))) for g in series.geometries]
    if float(np.median(tilts)) > AXIAL_MAX_TILT_DEG:
        raise Stage1Error(f"the series is not axial: its planes are tilted {np.median(tilts):.0f} deg from axial "
                          f"(at most {AXIAL_MAX_TILT_DEG:g}); sagittal and coronal series cannot be graded")


class Stage1Runner:
    """Runs stage 1 on work images (see module docstring).

    ``segmentation``: the segmentation infer task (needed unless every call passes a label);
    ``landmarks``: a LandmarkModelFile (reloads after training), a LandmarkModel, or None (rules only);
    ``device``: passed to the segmentation task.
    """

    def __init__(self, segmentation: Any = None, landmarks: LandmarkModelFile | LandmarkModel | None = None,
                 device: str = "cpu"):
        self.segmentation = segmentation
        self.landmarks = landmarks
        self.device = device

    def run(self, image_path: str | Path, label: str | Path | np.ndarray | None = None) -> Stage1Output:
        timings: dict[str, float] = {}
        image, affine, series = self.load(image_path)
        start = time.perf_counter()
        labels, seg_version = self._labels(image_path, image.shape, label)
        timings["segmentation"] = time.perf_counter() - start
        model, reason = self.landmark_model()
        models = {"segmentation": seg_version,
                  "landmarks": model.version if model is not None else "rules"}
        start = time.perf_counter()
        document = stage1_result(labels, series.geometries, series.sop_uids, series.blocks, series.study_uid,
                                 series.series_uid, models)
        timings["naming_measurements"] = time.perf_counter() - start
        start = time.perf_counter()
        rules = {lv: dict(entry["landmarks_lps_mm"]) for lv, entry in document["levels"].items()}
        if model is not None:
            apply_landmark_model(document, model, image, labels, series)
        document["landmark_source"] = landmark_source(document)
        document["landmark_model"] = reason
        timings["landmarks"] = time.perf_counter() - start
        return Stage1Output(image, labels, affine, series, document, rules, timings)

    @staticmethod
    def load(image_path: str | Path) -> tuple[np.ndarray, np.ndarray, SeriesGeometry]:
        """(volume [col, row, k] float32, RAS affine, geometry) of a work image; Stage1Error if unusable."""
        path = Path(str(image_path)) if image_path else None
        if path is None or not path.is_file():
            raise Stage1Error(f"image {str(image_path)!r} does not exist (unknown image id or a missing file)")
        if not path.name.endswith(NIFTI_SUFFIXES):
            raise Stage1Error(f"image {path.name}: stage 1 reads NIfTI work images (.nii.gz, .nii)")
        try:
            volume, affine = read_image_nifti(path)
        except Exception as e:  # noqa: BLE001 - a broken file is bad input, said plainly
            raise Stage1Error(f"image {path.name} cannot be read as NIfTI: {e}") from None
        if volume.ndim == 4 and volume.shape[3] == 1:
            volume = volume[..., 0]
        series = read_series_geometry(path, volume.shape, affine)
        check_series(volume.shape, series)
        return volume, affine, series

    def _labels(self, image_path, shape, label) -> tuple[np.ndarray, str]:
        if label is not None:
            labels = _read_label(label) if isinstance(label, (str, Path)) else np.asarray(label)
            if labels.ndim == 4 and labels.shape[3] == 1:
                labels = labels[..., 0]
            if labels.shape != tuple(shape):
                raise Stage1Error(f"the label has shape {labels.shape} but the image {tuple(shape)}")
            return labels.astype(np.uint8), "given label"
        if self.segmentation is None:
            raise Stage1Error("no segmentation task and no label given: stage 1 has no masks to work from")
        _, data = self.segmentation({"image": str(image_path), "skip_writer": True, "device": self.device})
        pred = np.asarray(data["pred"].cpu() if hasattr(data["pred"], "cpu") else data["pred"])
        if pred.ndim == 4 and pred.shape[0] == 1:
            pred = pred[0]
        if pred.shape != tuple(shape):
            raise RuntimeError(f"segmentation returned shape {pred.shape} for an image of shape {tuple(shape)}")
        return pred.astype(np.uint8), segmentation_version(self.segmentation)

    def landmark_model(self) -> tuple[LandmarkModel | None, str]:
        if self.landmarks is None:
            return None, "rules: no landmark model configured"
        if isinstance(self.landmarks, LandmarkModelFile):
            return self.landmarks.get()
        return self.landmarks, "model: given"


def _read_label(path: str | Path) -> np.ndarray:
    if not Path(path).is_file():
        raise Stage1Error(f"label {str(path)!r} does not exist")
    try:
        return read_label_nifti(path)[0]
    except Exception as e:  # noqa: BLE001 - a broken label file is bad input
        raise Stage1Error(f"label {Path(path).name} cannot be read as a NIfTI label volume: {e}") from None


def segmentation_version(task: Any) -> str:
    """Version of the segmentation task's weights (its model card date), or 'unknown'."""
    path = task.get_path(validate=False) if hasattr(task, "get_path") else None
    return model_version(path) if path else "unknown"


def level_slices(document: Mapping, image: np.ndarray, labels: np.ndarray, series: SeriesGeometry,
                 rule_landmarks: Mapping[str, Mapping] | None = None) -> list[LevelSlice]:
    """The LevelSlice of every level in the document: its mid-disc slice, masks, frame and the rules' points
    (``rule_landmarks[level]`` when given, e.g. Stage1Output.rule_landmarks after the model replaced points; else the
    document's own points, which are the rules' straight out of stage1_result)."""
    out = []
    for level, entry in document["levels"].items():
        k = int(entry["slice_index"])
        if rule_landmarks is not None:
            entry = {**entry, "landmarks_lps_mm": rule_landmarks[level]}
        try:
            out.append(LevelSlice.from_stage1(level, entry, image[:, :, k].T, labels[:, :, k].T, series.geometries[k]))
        except MeasurementError:
            continue  # coincident centroids: cannot happen for a level stage1_result measured; stays on the rules
    return out


def apply_landmark_model(document: dict, model: LandmarkModel, image: np.ndarray, labels: np.ndarray,
                         series: SeriesGeometry) -> None:
    """Replace the rules' facet and foramen points by the model's where its prediction passes its checks."""
    slices = level_slices(document, image, labels, series)
    for level_slice, prediction in zip(slices, model.predict_many(slices)):
        entry = document["levels"][level_slice.level]
        if prediction.accepted:
            entry["landmarks_lps_mm"] = {**entry["landmarks_lps_mm"], **prediction.points}
            entry["landmark_source"] = "model"
        else:
            entry["landmark_source"] = "rules"
            entry["landmark_fallback"] = prediction.reason


def landmark_source(document: Mapping) -> str:
    """'model', 'rules' or 'model+rules' over the levels found ('rules' when none)."""
    sources = {entry.get("landmark_source", "rules") for entry in document["levels"].values()}
    return "model+rules" if len(sources) > 1 else (sources.pop() if sources else "rules")
