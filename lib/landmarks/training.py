"""Training the landmark network on examples, and measuring it against the rules on the same validation levels.

* Split: by case (study), fixed: a case is in validation when the first 8 hex digits of sha1(case id), as a fraction
  of 16^8, fall below ``val_fraction``. A case never changes side as the datastore grows. With fewer than 2 cases on
  one side, the last case(s) in sorted order are moved so both sides hold at least one.
* Loss: cross-entropy between each output map's spatial softmax and its normalised Gaussian target, per landmark
  weighted by whether it was annotated; AdamW with a one-cycle learning rate; augmentation of lib/landmarks/dataset.py.
* Validation metric: in-plane landmark error (mm) of every annotated facet/foramen point on the validation levels,
  for the model (its raw decoded points) and for the rules (from the same final masks); medians overall and per
  landmark. The model "beats the rules" when its overall median is lower.
"""
from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch

from lib.landmarks.dataset import Jitter, LandmarkExample, example_arrays, in_plane_error_mm
from lib.landmarks.heatmaps import TARGET_NAMES
from lib.landmarks.inputs import CropSpec
from lib.landmarks.model import LandmarkModel
from lib.landmarks.network import landmark_unet

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoopSettings:
    """The optimisation loop (the trainer fills it from LandmarksSettings)."""

    max_epochs: int = 60
    batch_size: int = 16
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    seed: int = 0
    features: tuple[int, ...] = (16, 16, 32, 64, 128, 16)


@dataclass
class TrainResult:
    network: torch.nn.Module
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0


def split_cases(case_ids: Sequence[str], val_fraction: float) -> tuple[list[str], list[str]]:
    """(train, validation) case ids, fixed per id (module docstring)."""
    ids = sorted(set(case_ids))
    val = [c for c in ids if int(hashlib.sha1(c.encode()).hexdigest()[:8], 16) / 16**8 < val_fraction]
    train = [c for c in ids if c not in val]
    if len(ids) >= 2 and val_fraction > 0:
        if not val:
            val, train = [train[-1]], train[:-1]
        elif not train:
            train, val = [val[-1]], val[:-1]
    return train, val


def batches(examples: Sequence[LandmarkExample], spec: CropSpec, batch_size: int, rng: np.random.Generator,
            augment: bool = True):
    """Shuffled batches of (inputs, targets, weights) tensors."""
    order = rng.permutation(len(examples)) if augment else np.arange(len(examples))
    for start in range(0, len(order), batch_size):
        items = [example_arrays(examples[i], spec, Jitter.draw(rng) if augment else Jitter(), rng)
                 for i in order[start:start + batch_size]]
        yield tuple(torch.from_numpy(np.stack(a)) for a in zip(*items))


def heatmap_loss(logits: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Cross-entropy between each map's spatial softmax and its Gaussian target normalised to sum 1, weighted by
    whether the landmark was annotated. Unlike a pixel-wise MSE on sparse targets it never rewards an all-zero map,
    so it converges in few epochs on a CPU."""
    b, k = logits.shape[:2]
    log_p = torch.log_softmax(logits.reshape(b, k, -1), dim=-1)
    t = target.reshape(b, k, -1)
    t = t / t.sum(dim=-1, keepdim=True).clamp(min=1e-8)
    per_map = -(t * log_p).sum(dim=-1)
    return (per_map * weights).sum() / weights.sum().clamp(min=1.0)


def train_network(train: Sequence[LandmarkExample], spec: CropSpec, loop: LoopSettings,
                  init_state: dict | None = None,
                  on_epoch: Callable[[dict], None] | None = None) -> TrainResult:
    """Train a fresh (or ``init_state``-initialised) landmark network on ``train``; returns it in eval mode."""
    if not train:
        raise ValueError("no training examples: no final label carries landmarks in its info")
    torch.manual_seed(loop.seed)
    rng = np.random.default_rng(loop.seed)
    network = landmark_unet(spec.in_channels, loop.features)
    if init_state is not None:
        network.load_state_dict(init_state)
    optimizer = torch.optim.AdamW(network.parameters(), lr=loop.learning_rate, weight_decay=loop.weight_decay)
    steps = loop.max_epochs * math.ceil(len(train) / loop.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=loop.learning_rate, total_steps=max(1, steps),
                                                    pct_start=0.1)
    result, start = TrainResult(network), time.perf_counter()
    for epoch in range(loop.max_epochs):
        network.train()
        losses = []
        for inputs, targets, weights in batches(train, spec, loop.batch_size, rng):
            loss = heatmap_loss(network(inputs), targets, weights)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
        record = {"epoch": epoch + 1, "loss": float(np.mean(losses)), "seconds": time.perf_counter() - start}
        result.history.append(record)
        if on_epoch:
            on_epoch(record)
    result.network = network.eval()
    result.seconds = time.perf_counter() - start
    return result


def landmark_errors(model: LandmarkModel | None, examples: Sequence[LandmarkExample]) -> dict[str, dict[str, list]]:
    """{"model"/"rules": {landmark: [in-plane errors mm]}} over the annotated points of ``examples``."""
    out = {"rules": {n: [] for n in TARGET_NAMES}, "model": {n: [] for n in TARGET_NAMES}}
    predictions = model.predict_many([e.level_slice for e in examples]) if model is not None and examples else []
    for i, example in enumerate(examples):
        for name, truth in example.truth.items():
            if name not in TARGET_NAMES:
                continue
            level = example.level_slice
            out["rules"][name].append(in_plane_error_mm(level, level.rule_points[name], truth))
            if predictions:
                out["model"][name].append(in_plane_error_mm(level, predictions[i].points[name], truth))
    return out


def compare_with_rules(model: LandmarkModel, examples: Sequence[LandmarkExample]) -> dict:
    """The validation figures of the model card: medians (mm) for model and rules, overall and per landmark."""
    errors = landmark_errors(model, examples)
    summary: dict = {"n_levels": len(examples), "n_points": sum(len(v) for v in errors["rules"].values())}
    for source in ("model", "rules"):
        everything = [e for v in errors[source].values() for e in v]
        summary[f"{source}_median_error_mm"] = float(np.median(everything)) if everything else None
        summary[f"{source}_median_error_mm_by_landmark"] = {
            n: (float(np.median(v)) if v else None) for n, v in errors[source].items()}
    m, r = summary["model_median_error_mm"], summary["rules_median_error_mm"]
    summary["model_beats_rules"] = bool(m is not None and r is not None and m < r)
    return summary
