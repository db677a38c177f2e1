"""How the gate measures a model: each evaluator returns ``{metric: value}`` (higher is better) for a weights folder.

- ``SegmentationDice`` runs a segmentation network on the fixed validation studies (their ``final`` masks as truth)
  at the model's working spacing, coarse to fine as it is served (lib/transforms/coarse_to_fine.py), and returns mean
  Dice over the labels and per label. The served and the candidate model are both measured now, on the same
  studies, so the comparison is fair however the split has grown.
- ``CardMetric`` reads the validation metric the trainer wrote in each model card (``lib/model_card.py``): for any
  trainer that writes weights and a card (the grading classifiers, the canal tree). Those trainers keep their own
  validation split (a stable hash of the study id), so they need no studies held out by the gate.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Callable, Mapping, Protocol, Sequence

import numpy as np
import torch

from lib.model_card import read_model_card
from lib.transforms.coarse_to_fine import CoarseToFineInferer, CoarseToFineSettings

logger = logging.getLogger(__name__)


class Evaluator(Protocol):
    #: True when the gate must hold the fixed validation studies out of training for this evaluator.
    uses_fixed_split: bool
    description: str
    #: Metric names (or the part after the last ".") where lower is better; all others are higher-is-better.
    lower_is_better: frozenset[str]

    def evaluate(self, weights_dir: Path, names: Sequence[str], val_ids: Sequence[str], datastore) -> dict | None:
        """Metrics of the model whose files ``names`` lie in ``weights_dir``; None when it cannot be measured."""


class CardMetric:
    """Per card, the first of ``keys`` found as a number in its ``validation`` section, named ``<card>.<key>``."""

    uses_fixed_split = False
    description = "validation metric written by the trainer in the model card (its own validation split)"

    def __init__(self, keys: Sequence[str] = ("score", "kappa_linear", "best_metric", "model_median_error_mm"),
                 lower: Sequence[str] = ("model_median_error_mm",)):
        self.keys = tuple(keys)
        self.lower_is_better = frozenset(lower)

    def evaluate(self, weights_dir: Path, names: Sequence[str], val_ids: Sequence[str], datastore) -> dict | None:
        metrics = {}
        for name in names:
            if not name.endswith(".card.json"):
                continue
            stem = name[: -len(".card.json")]
            validation = read_model_card(Path(weights_dir) / f"{stem}.pt").get("validation") or {}
            key = next((k for k in self.keys if _number(validation.get(k))), None)
            if key:
                metrics[f"{stem}.{key}"] = float(validation[key])
        return metrics or None


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class SegmentationDice:
    """Mean Dice of a 2D segmentation network over the validation studies' final masks."""

    uses_fixed_split = True
    lower_is_better: frozenset[str] = frozenset()
    description = "Dice on the fixed validation split (final masks), served and candidate measured alike"

    def __init__(self, network_factory: Callable[[], torch.nn.Module], weights_name: str,
                 labels: Mapping[str, int], spacing_mm: float, sw_batch_size: int = 8,
                 coarse_to_fine: CoarseToFineSettings | None = None):
        self.network_factory = network_factory
        self.weights_name = weights_name
        self.labels = dict(labels)
        self.spacing_mm = spacing_mm
        self.sw_batch_size = sw_batch_size
        self.coarse_to_fine = coarse_to_fine  # None: the defaults (inference runs coarse to fine, so is measured so)

    def _network(self, path: Path) -> torch.nn.Module:
        network = self.network_factory()
        state = torch.load(path, map_location="cpu")
        network.load_state_dict(state.get("model", state) if isinstance(state, dict) else state)
        return network.eval()

    def _pairs(self, val_ids: Sequence[str], datastore) -> list[dict]:
        pairs = []
        for image_id in val_ids:
            label = datastore.get_label_uri(image_id, "final")
            if label and Path(label).exists():
                pairs.append({"image": datastore.get_image_uri(image_id), "label": label})
        return pairs

    def evaluate(self, weights_dir: Path, names: Sequence[str], val_ids: Sequence[str], datastore) -> dict | None:
        path = Path(weights_dir) / self.weights_name
        pairs = self._pairs(val_ids, datastore)
        if not path.exists() or not pairs:
            return None
        network = self._network(path)
        per_study = [self._dice(network, pair) for pair in pairs]
        per_label = {name: float(np.nanmean([d[name] for d in per_study])) for name in self.labels}
        return {"dice": float(np.nanmean(list(per_label.values()))), **{f"dice_{k}": v for k, v in per_label.items()}}

    def _dice(self, network: torch.nn.Module, pair: dict) -> dict[str, float]:
        from monai.transforms import Compose, SelectItemsd

        from lib.transforms.slices import load_and_resample, pad_to_stride

        keys = ("image", "label")
        data = Compose([*load_and_resample(keys, self.spacing_mm, label_keys=("label",)), *pad_to_stride(keys),
                        SelectItemsd(keys=keys)])(pair)
        inferer = CoarseToFineInferer(self.spacing_mm, self.coarse_to_fine, self.sw_batch_size)
        with torch.no_grad():
            pred = inferer(torch.as_tensor(data["image"])[None].float(), network).argmax(1)[0].numpy()
        truth = np.asarray(data["label"])[0]
        return {name: dice(pred == value, truth == value) for name, value in self.labels.items()}


def dice(pred: np.ndarray, truth: np.ndarray) -> float:
    """Dice of two boolean masks; NaN when both are empty (the label is absent from the study)."""
    total = int(pred.sum()) + int(truth.sum())
    return float("nan") if total == 0 else 2.0 * float(np.logical_and(pred, truth).sum()) / total
