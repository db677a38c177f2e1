"""Epistemic uncertainty of the segmentation V-Net by Monte Carlo dropout, as a MONAI Label scoring method.

For a study: its work image pre-processed as for inference (lib/transforms/slices.py), up to ``max_slices`` slices
evenly spaced through the series, ``samples`` forward passes with dropout active (everything else in eval mode) on
the crop that the coarse pass of inference (lib/transforms/coarse_to_fine.py, run with dropout off) finds, then the
mutual information between the prediction and the weights (BALD: entropy of the mean softmax minus the mean
entropy), averaged over the pixels any pass labels as dural sac or disc (the whole slices when none does; outside the
crop every pass says background with certainty). High values: the model's answer there depends on which weights
dropout keeps, so a label of that study teaches it most.

MONAI's VNet builds its dropout layers as ``Dropout3d`` whatever ``dropout_dim`` says; on 2D batches ``[N, C, H, W]``
that would drop whole slices, so they are replaced by ``Dropout2d`` (whole feature maps) here. Scores carry the
model's version (its card date, lib/model_card.py) and go stale when the served weights change.
"""
from __future__ import annotations

import hashlib
import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch

from lib.activelearning.scoring import BatchedScoring
from lib.model_card import model_version
from lib.transforms.coarse_to_fine import CoarseToFineInferer, CoarseToFineSettings

logger = logging.getLogger(__name__)

METHOD = "epistemic"
SLICES_PER_PASS = 4  # slices per forward pass (bounds memory at full slice size)


def mutual_information(probs: np.ndarray, eps: float = 1e-8) -> tuple[np.ndarray, np.ndarray]:
    """``probs[T, N, C, H, W]`` (softmax of T passes) -> (mutual information, predictive entropy), each [N, H, W]."""
    mean = probs.mean(axis=0)
    predictive = -(mean * np.log(mean + eps)).sum(axis=1)
    expected = -(probs * np.log(probs + eps)).sum(axis=2).mean(axis=0)
    return np.clip(predictive - expected, 0.0, None), predictive


def epistemic_summary(probs: np.ndarray) -> tuple[float, dict]:
    """The study's score (mean mutual information over the foreground any pass predicts) and its details."""
    mi, predictive = mutual_information(probs)
    roi = (probs.argmax(axis=2) > 0).any(axis=0)
    region = roi if roi.any() else np.ones_like(roi)
    return float(mi[region].mean()), {
        "mean_predictive_entropy": float(predictive[region].mean()),
        "roi_fraction": float(roi.mean()),
        "slices": int(probs.shape[1]),
        "samples": int(probs.shape[0]),
    }


def mc_dropout_network(network_factory, weights_path: str | Path, dropout: float) -> torch.nn.Module:
    """The network with the served weights, in eval mode except its dropout layers (as ``Dropout2d(dropout)``)."""
    network = network_factory(dropout=dropout)
    state = torch.load(weights_path, map_location="cpu")
    network.load_state_dict(state.get("model", state) if isinstance(state, dict) else state)
    for module in list(network.modules()):
        for name, child in module.named_children():
            if isinstance(child, (torch.nn.Dropout, torch.nn.Dropout2d, torch.nn.Dropout3d)):
                setattr(module, name, torch.nn.Dropout2d(dropout))
    network.eval()
    for module in network.modules():
        if isinstance(module, torch.nn.Dropout2d):
            module.train()
    return network


def study_volume(image_uri: str, spacing_mm: float) -> torch.Tensor:
    """A work image pre-processed as for inference, as a batch of one: ``[1, 1, H, W, D]``."""
    from monai.transforms import Compose

    from lib.transforms.slices import load_and_resample, pad_to_stride

    image = Compose([*load_and_resample(("image",), spacing_mm), *pad_to_stride(("image",))])({"image": image_uri})
    return torch.as_tensor(image["image"]).float()[None]


def evenly_spaced(depth: int, max_slices: int) -> torch.Tensor:
    """Up to ``max_slices`` slice indices evenly spaced over ``depth`` slices, first and last included."""
    return torch.as_tensor(np.unique(np.linspace(0, depth - 1, min(depth, max_slices)).round().astype(int)))


@contextmanager
def dropout_off(network: torch.nn.Module):
    """The network without Monte Carlo dropout inside the block (the served, deterministic network)."""
    active = [m for m in network.modules() if isinstance(m, torch.nn.Dropout2d) and m.training]
    for m in active:
        m.eval()
    try:
        yield network
    finally:
        for m in active:
            m.train()


class EpistemicScoring(BatchedScoring):
    """``POST /scoring/epistemic``: Monte Carlo dropout scores of the served segmentation model (see module doc)."""

    def __init__(self, weights_path: str | Path, network_factory, spacing_mm: float, *, samples: int,
                 dropout: float, max_slices: int, batch: int, coarse_to_fine: CoarseToFineSettings | None = None):
        super().__init__(METHOD, "Epistemic uncertainty (Monte Carlo dropout) of the segmentation V-Net", batch)
        self.weights_path = Path(weights_path)
        self.network_factory = network_factory
        self.spacing_mm = spacing_mm
        self.samples = samples
        self.dropout = dropout
        self.max_slices = max_slices
        self.coarse_to_fine = coarse_to_fine or CoarseToFineSettings()
        self._cached: tuple[str, torch.nn.Module] | None = None

    def current_version(self) -> str | None:
        return model_version(self.weights_path) if self.weights_path.exists() else None

    def _network(self, version: str) -> torch.nn.Module:
        if self._cached is None or self._cached[0] != version:
            self._cached = (version, mc_dropout_network(self.network_factory, self.weights_path, self.dropout))
        return self._cached[1]

    def score(self, image_id: str, info: Mapping[str, Any], datastore) -> tuple[float, dict] | None:
        version = self.current_version()
        if version is None:
            return None
        network = self._network(version)
        volume = study_volume(datastore.get_image_uri(image_id), self.spacing_mm)
        x = volume[..., evenly_spaced(volume.shape[-1], self.max_slices)]
        inferer = CoarseToFineInferer(self.spacing_mm, self.coarse_to_fine, sw_batch_size=SLICES_PER_PASS)
        seed = int(hashlib.sha1(image_id.encode()).hexdigest()[:8], 16)
        with torch.no_grad(), torch.random.fork_rng():
            torch.manual_seed(seed)
            with dropout_off(network):
                box = inferer.find_box(volume, network) if self.coarse_to_fine.enabled else None

            def softmax(t: torch.Tensor) -> torch.Tensor:
                return torch.softmax(network(t), dim=1)

            # [T, C, H, W, n] -> [T, n, C, H, W]; outside the box every pass says background with probability 1
            probs = torch.stack([inferer.run(x, softmax, box, background_value=1.0)[0] for _ in range(self.samples)])
            probs = probs.permute(0, 4, 1, 2, 3).numpy()
        value, details = epistemic_summary(probs)
        return value, {"method": "mc_dropout", "dropout": self.dropout, "crop_fraction": box.fraction if box else 1.0,
                       **details}
