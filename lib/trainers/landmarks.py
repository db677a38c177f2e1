"""Train task of the learned landmark model, from the landmarks stored in the ``final`` labels' info.

What it learns from: every image with a final label whose info holds ``landmarks_lps_mm`` =
``{level: {landmark: [x, y, z]}}`` (LPS mm; any subset of facet_left, facet_right, foramen_left, foramen_right) or a
3D Slicer markups document under ``slicer_markups`` (control points labelled ``"L4-L5 facet_left"``). That is what
an annotator's correction saved with ``PUT /datastore/label?image=ID&tag=final`` and ``params={"landmarks_lps_mm":
{...}}`` (or ``PUT /datastore/updatelabelinfo``) stores, and how lib/training/phantom_datastore.py stores phantom
truth. The final mask of the same label gives the masks the model reads and the rules it is compared with.

Why a plain torch loop and not BasicTrainTask: the samples are per level, not per image (one image gives up to 5
crops whose grid depends on the masks), the targets come from the label's info rather than a label file, and the
validation metric is a comparison of median landmark error in mm with the rules on the same levels, which ignite's
per-batch metrics do not express; the loop is ~60 lines (lib/landmarks/training.py).

Output: ``model/landmarks.pt`` (lib/landmarks/model.py) and its model card with both medians and
``model_beats_rules``; inference uses the model only when that is true. When published weights exist and beat the
new ones on the same validation levels (``landmarks_keep_better_previous``), they are kept.
Request keys (``POST /train/landmarks``): ``max_epochs``, ``learning_rate``, ``batch_size``, ``restart`` (do not
start from the published weights).
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from monailabel.interfaces.tasks.train import TrainTask

from lib.dicom import read_label_nifti
from lib.landmarks.dataset import LandmarkExample, examples_from_volumes
from lib.landmarks.exports import landmarks_from_markups
from lib.landmarks.model import LandmarkModel, save_weights
from lib.landmarks.settings import LandmarksSettings
from lib.landmarks.training import compare_with_rules, split_cases, train_network
from lib.model_card import read_model_card, write_model_card
from lib.pipeline.run_stage1 import Stage1Error, Stage1Runner

logger = logging.getLogger(__name__)

FINAL = "final"


def label_landmarks(info: dict) -> dict:
    """The landmarks of a final label's info: ``landmarks_lps_mm``, else a ``slicer_markups`` document, else {}."""
    if info.get("landmarks_lps_mm"):
        return dict(info["landmarks_lps_mm"])
    if info.get("slicer_markups"):
        return landmarks_from_markups(info["slicer_markups"])
    return {}


def datastore_examples(datastore: Any) -> tuple[list[LandmarkExample], dict[str, str]]:
    """Examples of every final label with landmarks; {image id (or id/level): why skipped} for the others."""
    examples, skipped = [], {}
    for image_id in sorted(datastore.get_labeled_images()):
        label_id = datastore.get_label_by_image_id(image_id, FINAL)
        truth = label_landmarks(datastore.get_label_info(label_id, FINAL) or {}) if label_id else {}
        if not truth:
            skipped[image_id] = "no landmarks_lps_mm or slicer_markups in the final label's info"
            continue
        try:
            image, _, series = Stage1Runner.load(datastore.get_image_uri(image_id))
            labels = read_label_nifti(datastore.get_label_uri(label_id, FINAL))[0]
            if labels.shape != image.shape:
                raise Stage1Error(f"final label shape {labels.shape} != image shape {image.shape}")
        except (Stage1Error, OSError, ValueError) as e:
            skipped[image_id] = str(e)
            continue
        found, why = examples_from_volumes(image_id, image, labels, series, truth)
        examples.extend(found)
        skipped.update({f"{image_id}/{level}": reason for level, reason in why.items()})
    return examples, skipped


class Landmarks(TrainTask):
    """``POST /train/landmarks``: heatmap landmark model vs the rules (see module docstring)."""

    def __init__(self, weights_path: str | Path, settings: LandmarksSettings):
        super().__init__("Train the facet / foramen landmark model from landmarks in the final labels' info")
        self.weights_path = Path(weights_path)
        self.settings = settings
        self._stats: dict = {}

    def config(self):
        s = self.settings
        return {"max_epochs": s.max_epochs, "learning_rate": s.learning_rate, "batch_size": s.batch_size,
                "restart": False}

    def stats(self):
        """The last training's figures: this process's run, else the published model card's (training runs in a
        subprocess of the server, so /info reads them from the card)."""
        if self._stats:
            return dict(self._stats)
        card = read_model_card(self.weights_path)
        return {**card.get("validation", {}), "date": card.get("date")} if card else {}

    def __call__(self, request, datastore):
        start = time.perf_counter()
        s = self.settings
        spec = s.crop_spec()
        loop = s.loop(max_epochs=_opt(request, "max_epochs", int), learning_rate=_opt(request, "learning_rate", float),
                      batch_size=_opt(request, "batch_size", int))
        examples, skipped = datastore_examples(datastore)
        train_ids, val_ids = split_cases([e.case_id for e in examples], s.val_fraction)
        train = [e for e in examples if e.case_id in train_ids]
        val = [e for e in examples if e.case_id in val_ids]
        logger.info(f"Landmarks: {len(train)} training levels ({len(train_ids)} studies), {len(val)} validation "
                    f"levels ({len(val_ids)} studies); {len(skipped)} skipped")
        previous = self._previous(spec, loop.features)
        restart = str(request.get("restart", "false")).lower() in ("1", "true", "yes")
        result = train_network(train, spec, loop, init_state=None if restart or previous is None else
                               previous.network.state_dict(), on_epoch=_log_epoch(loop.max_epochs))
        metrics = compare_with_rules(LandmarkModel(result.network, spec, **s.model_kwargs()), val)
        metrics.update({"epochs": loop.max_epochs, "final_loss": result.history[-1]["loss"],
                        "train_seconds": round(result.seconds, 1)})
        kept = self._keep_previous(previous, val, metrics)
        if not kept:
            save_weights(self.weights_path, result.network, spec, loop.features)
            self._write_card(metrics, {"train_studies": train_ids, "validation_studies": val_ids,
                                       "train_levels": len(train), "validation_levels": len(val), "skipped": skipped})
        self._stats = {**metrics, "published": not kept, "kept_previous": kept,
                       "total_time": f"{time.perf_counter() - start:.1f}s", "weights": str(self.weights_path)}
        logger.info(f"Landmarks: model {metrics['model_median_error_mm']} mm vs rules "
                    f"{metrics['rules_median_error_mm']} mm on validation; published={not kept}")
        return self.stats()

    def _write_card(self, metrics: dict, data: dict) -> None:
        write_model_card(self.weights_path, model="landmarks", settings=self.settings, metrics=metrics, data={
            "source": "final labels' info (landmarks_lps_mm / slicer_markups) and final masks", **data},
            notes="Errors are in-plane distances (mm) to the annotated points on the validation levels; the rules are "
                  "placed from the same final masks. Inference uses the model only when model_beats_rules is true.")

    def _previous(self, spec, features) -> LandmarkModel | None:
        """The published model when it has the same crop spec and widths (so it can be fine-tuned and compared)."""
        if not self.weights_path.exists():
            return None
        try:
            model = LandmarkModel.load(self.weights_path, **self.settings.model_kwargs())
        except (OSError, ValueError, RuntimeError, KeyError, TypeError) as e:
            logger.warning(f"Landmarks: published weights {self.weights_path} unusable ({e}); training from scratch")
            return None
        return model if model.spec == spec and model.features == tuple(features) else None

    def _keep_previous(self, previous: LandmarkModel | None, val, metrics: dict) -> bool:
        if not self.settings.keep_better_previous or previous is None or not val:
            return False
        before = compare_with_rules(previous, val)["model_median_error_mm"]
        metrics["previous_median_error_mm"] = before
        return before is not None and metrics["model_median_error_mm"] is not None \
            and before < metrics["model_median_error_mm"]


def _log_epoch(total: int):
    return lambda r: logger.info(f"Landmarks epoch {r['epoch']}/{total} loss {r['loss']:.4f} ({r['seconds']:.0f} s)")


def _opt(request: dict, key: str, kind: type):
    value = request.get(key)
    return None if value in (None, "") else kind(value)
