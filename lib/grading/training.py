"""Training one grading classifier on crops (plain torch loop, CPU-friendly).

Balanced sampling (each class drawn equally often), light augmentation (intensity scale and offset, Gaussian noise,
small rotations and shifts; never left-right flips, which would swap medial and lateral), AdamW with a cosine
schedule, and the epoch with the best validation metric kept (linearly weighted kappa for the canal, AUROC for the
binary structures). Random parts only draw parameters (``draw_augmentation``); ``apply_augmentation`` is deterministic.
"""
from __future__ import annotations

import copy
import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from lib.grading.bit import create_classifier, predict_proba
from lib.grading.dataset import CropExample
from lib.grading.evaluation import binary_agreement, canal_agreement
from lib.grading.labels import CANAL_VALUES
from lib.grading.structures import Structure

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainSettings:
    arch: str = "resnetv2_50x1_bit"
    pretrained: str = ""
    epochs: int = 10
    batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 1e-4
    seed: int = 0
    threads: int = 2
    max_minutes: float = 0.0  # stop after the epoch that passes this budget (0: no budget)
    augment: bool = True
    rotation_deg: float = 8.0
    shift_px: float = 3.0
    intensity_scale: float = 0.15
    noise_std: float = 0.05

    def __post_init__(self):
        for name in ("epochs", "batch_size", "threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"TrainSettings.{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ValueError(f"TrainSettings.lr must be > 0, got {self.lr}")


@dataclass
class Augmentation:
    """Per-sample parameters: rotation (rad), shift (px, rows and cols), intensity scale and offset, noise seed."""

    angle: np.ndarray
    shift: np.ndarray
    scale: np.ndarray
    offset: np.ndarray
    noise_std: float
    noise_seed: int


def draw_augmentation(n: int, rng: np.random.Generator, s: TrainSettings) -> Augmentation:
    return Augmentation(
        angle=np.deg2rad(rng.uniform(-s.rotation_deg, s.rotation_deg, n)),
        shift=rng.uniform(-s.shift_px, s.shift_px, (n, 2)),
        scale=1.0 + rng.uniform(-s.intensity_scale, s.intensity_scale, n),
        offset=rng.uniform(-s.intensity_scale, s.intensity_scale, n),
        noise_std=s.noise_std,
        noise_seed=int(rng.integers(2**31)),
    )


def apply_augmentation(x: torch.Tensor, aug: Augmentation) -> torch.Tensor:
    """Rotate and shift each crop about its centre (border padding), then scale, offset and add noise."""
    n, _, h, w = x.shape
    cos, sin = torch.tensor(np.cos(aug.angle)), torch.tensor(np.sin(aug.angle))
    theta = torch.zeros(n, 2, 3, dtype=x.dtype)
    theta[:, 0, 0], theta[:, 0, 1], theta[:, 1, 0], theta[:, 1, 1] = cos, -sin, sin, cos
    theta[:, 0, 2] = torch.tensor(aug.shift[:, 1] * 2.0 / w)
    theta[:, 1, 2] = torch.tensor(aug.shift[:, 0] * 2.0 / h)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    x = x * torch.tensor(aug.scale, dtype=x.dtype)[:, None, None, None]
    x = x + torch.tensor(aug.offset, dtype=x.dtype)[:, None, None, None]
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(aug.noise_seed), dtype=x.dtype)
    return x + aug.noise_std * noise


def validation_metrics(structure: Structure, labels: np.ndarray, proba: np.ndarray) -> dict[str, Any]:
    """Kappa/accuracy (canal) or AUROC/accuracy (binary) of probabilities against labels; ``score`` is the one kept."""
    if structure is Structure.CANAL:
        r = canal_agreement([CANAL_VALUES[i] for i in labels], [CANAL_VALUES[i] for i in proba.argmax(1)])
        return {"kappa_linear": r["kappa_linear"], "accuracy": r["accuracy"], "confusion": r["confusion"],
                "n": r["n"], "score": r["kappa_linear"] if r["kappa_linear"] is not None else r["accuracy"]}
    r = binary_agreement(labels.astype(bool).tolist(), proba[:, 1].tolist())
    return {"auroc": r["auroc"], "accuracy": r["accuracy"], "confusion": r["confusion"], "n": r["n"],
            "score": r["auroc"] if r["auroc"] is not None else r["accuracy"]}


@dataclass
class TrainedClassifier:
    model: torch.nn.Module
    validation: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)


def _class_counts(labels: np.ndarray, k: int) -> list[int]:
    return np.bincount(labels, minlength=k).tolist()


def _balanced_sampler(labels: np.ndarray, k: int, generator: torch.Generator):
    counts = np.bincount(labels, minlength=k).astype(float)
    weights = 1.0 / counts[labels]
    return torch.utils.data.WeightedRandomSampler(weights, len(labels), replacement=True, generator=generator)


def train_classifier(
    structure: Structure,
    train: Sequence[CropExample],
    val: Sequence[CropExample],
    settings: TrainSettings,
    progress: Callable[[str], None] | None = None,
) -> TrainedClassifier:
    """Train ``settings.arch`` on ``train`` crops of one structure; keep the best epoch on ``val`` (else the last)."""
    if not train:
        raise ValueError(f"no training crops for {structure.value}")
    torch.manual_seed(settings.seed)
    torch.set_num_threads(settings.threads)
    rng = np.random.default_rng(settings.seed)
    k = structure.num_classes
    x_train = torch.from_numpy(np.stack([e.crop for e in train]))
    y_train = np.array([e.label for e in train])
    x_val = np.stack([e.crop for e in val]) if val else None
    y_val = np.array([e.label for e in val])
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")  # a GPU node trains here too
    model = create_classifier(settings.arch, k, settings.pretrained).to(device, memory_format=torch.channels_last)
    steps_per_epoch = max(1, int(np.ceil(len(train) / settings.batch_size)))
    opt = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=settings.lr, total_steps=settings.epochs * steps_per_epoch, pct_start=0.15
    )
    sampler = _balanced_sampler(y_train, k, torch.Generator().manual_seed(settings.seed))
    best, best_state, history, start = None, None, [], time.monotonic()
    for epoch in range(settings.epochs):
        model.train()
        order = np.fromiter(iter(sampler), int)
        losses = []
        for b in range(steps_per_epoch):
            idx = order[b * settings.batch_size : (b + 1) * settings.batch_size]
            if len(idx) < 2:  # a batch of one breaks nothing here, but adds little; skip it
                continue
            x = x_train[idx]
            if settings.augment:
                x = apply_augmentation(x, draw_augmentation(len(idx), rng, settings))
            logits = model(x.to(device).contiguous(memory_format=torch.channels_last))
            loss = F.cross_entropy(logits, torch.from_numpy(y_train[idx]).to(device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
        entry = {"epoch": epoch + 1, "loss": float(np.mean(losses)) if losses else None,
                 "seconds": round(time.monotonic() - start, 1)}
        if x_val is not None:
            metrics = validation_metrics(structure, y_val, predict_proba(model, x_val))
            entry.update({k2: v for k2, v in metrics.items() if k2 != "confusion"})
            if best is None or (metrics["score"] or 0) > (best["score"] or 0):
                best, best_state = metrics | {"epoch": epoch + 1}, copy.deepcopy(model.state_dict())
        history.append(entry)
        if progress:
            progress(f"{structure.value} epoch {epoch + 1}/{settings.epochs}: " + ", ".join(
                f"{k2} {v:.3f}" if isinstance(v, float) else f"{k2} {v}" for k2, v in entry.items() if k2 != "epoch"))
        if settings.max_minutes and time.monotonic() - start > 60 * settings.max_minutes:
            logger.info("%s: time budget of %.1f min reached after epoch %d",
                        structure.value, settings.max_minutes, epoch + 1)
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.cpu().eval()
    data = {"train_crops": len(train), "val_crops": len(val), "train_class_counts": _class_counts(y_train, k),
            "val_class_counts": _class_counts(y_val, k) if len(y_val) else [],
            "train_studies": len({e.study_id for e in train}), "val_studies": len({e.study_id for e in val})}
    return TrainedClassifier(model, best or {}, history, asdict(settings), data)
