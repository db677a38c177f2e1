"""The trained landmark model at inference: loading ``model/landmarks.pt``, deciding whether to use it, predicting.

Weights file (``torch.save``, loadable with ``weights_only=True``)::

    {"state_dict": {...}, "crop_spec": {CropSpec fields}, "features": [6 ints]}

Whether the model is used is decided from its model card (``model/landmarks.card.json``, lib/model_card.py):
``validation.model_beats_rules`` must be true, i.e. its median landmark error on the fixed validation levels was lower
than the rules' on the same levels. Otherwise (no weights, no card, card says no) the rules are used, and the reason is
reported. ``use_model`` = ``"auto"`` (that decision), ``"always"`` (use any weights) or ``"never"`` (rules only).

At a level the model's points replace the rules' only where all four confidences (share of a map's probability near
its peak) reach ``min_confidence`` and every point lies within ``max_shift_from_rules_mm`` of the rules' point: the
rules are the fallback and the prior.
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from lib.landmarks.heatmaps import MIRROR_ORDER, TARGET_NAMES, decode_lps, mirror
from lib.landmarks.inputs import CropSpec, LevelSlice, make_inputs
from lib.landmarks.network import DEFAULT_FEATURES, landmark_unet
from lib.model_card import card_path, model_version, read_model_card

logger = logging.getLogger(__name__)

USE_MODEL_CHOICES = ("auto", "always", "never")


@dataclass(frozen=True)
class Prediction:
    """The model's points at one level (LPS mm), their confidences (probability mass near the peak), and whether
    they passed the checks."""

    points: dict[str, list[float]]
    confidence: dict[str, float]
    accepted: bool
    reason: str = ""


class LandmarkModel:
    """A landmark network with the crop spec it was trained with.

    Example::

        model = LandmarkModel.load("model/landmarks.pt")
        prediction = model.predict(LevelSlice.from_arrays("L4-L5", k, pixels, labels, geometry))
    """

    def __init__(self, network: torch.nn.Module, spec: CropSpec, version: str = "untrained",
                 min_confidence: float = 0.5, max_shift_from_rules_mm: float = 20.0, tta_mirror: bool = True,
                 features: tuple[int, ...] = DEFAULT_FEATURES):
        self.network = network.eval()
        self.features = tuple(int(f) for f in features)
        self.spec = spec
        self.version = version
        self.min_confidence = float(min_confidence)
        self.max_shift_from_rules_mm = float(max_shift_from_rules_mm)
        self.tta_mirror = bool(tta_mirror)

    @classmethod
    def load(cls, weights_path: str | Path, **kwargs) -> "LandmarkModel":
        """Load weights written by :func:`save_weights`; raises FileNotFoundError or ValueError."""
        payload = torch.load(str(weights_path), map_location="cpu", weights_only=True)
        if not isinstance(payload, dict) or "state_dict" not in payload or "crop_spec" not in payload:
            raise ValueError(f"{weights_path} is not a landmark weights file (no state_dict / crop_spec)")
        spec = CropSpec(**payload["crop_spec"])
        features = tuple(payload.get("features", DEFAULT_FEATURES))
        network = landmark_unet(spec.in_channels, features)
        network.load_state_dict(payload["state_dict"])
        return cls(network, spec, version=model_version(weights_path), features=features, **kwargs)

    @torch.no_grad()
    def heatmaps(self, inputs: np.ndarray) -> np.ndarray:
        """(B, K, S, S) probability maps (spatial softmax of the logits) of (B, C, S, S) inputs; with ``tta_mirror``
        averaged with the pass on the mirrored inputs, mirrored back."""
        out = self._probabilities(inputs)
        if self.tta_mirror:
            flipped = np.stack([mirror(x, self.spec.input_mirror_order) for x in inputs])
            back = np.stack([mirror(h, MIRROR_ORDER) for h in self._probabilities(flipped)])
            out = 0.5 * (out + back)
        return out

    def _probabilities(self, inputs: np.ndarray) -> np.ndarray:
        logits = self.network(torch.from_numpy(np.ascontiguousarray(inputs, np.float32)))
        b, k, h, w = logits.shape
        return torch.softmax(logits.reshape(b, k, -1), dim=-1).reshape(b, k, h, w).numpy()

    def predict_many(self, levels: list[LevelSlice]) -> list[Prediction]:
        """Predictions for several levels in one batch."""
        if not levels:
            return []
        grids = [self.spec.grid(level) for level in levels]
        inputs = np.stack([make_inputs(level, grid, self.spec) for level, grid in zip(levels, grids)])
        maps = self.heatmaps(inputs)
        return [self._checked(level, *decode_lps(h, grid, self.spec.sigma_mm))
                for level, grid, h in zip(levels, grids, maps)]

    def predict(self, level: LevelSlice) -> Prediction:
        return self.predict_many([level])[0]

    def _checked(self, level: LevelSlice, points: dict, confidence: dict) -> Prediction:
        weak = [n for n in TARGET_NAMES if confidence[n] < self.min_confidence]
        if weak:
            return Prediction(points, confidence, False, f"low confidence for {weak} (< {self.min_confidence})")
        far = [n for n in TARGET_NAMES
               if np.linalg.norm(np.subtract(points[n], level.rule_points[n])) > self.max_shift_from_rules_mm]
        if far:
            return Prediction(points, confidence, False,
                              f"{far} more than {self.max_shift_from_rules_mm:.0f} mm from the rules' points")
        return Prediction(points, confidence, True)


def save_weights(path: str | Path, network: torch.nn.Module, spec: CropSpec, features=DEFAULT_FEATURES) -> Path:
    """Write the weights file (atomically): state dict, crop spec and network widths."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save({"state_dict": {k: v.detach().cpu() for k, v in network.state_dict().items()},
                "crop_spec": asdict(spec), "features": [int(f) for f in features]}, str(tmp))
    os.replace(tmp, path)
    return path


def model_decision(weights_path: str | Path, use_model: str = "auto") -> tuple[bool, str]:
    """(use it?, why) for the weights at ``weights_path`` under ``use_model`` (see module docstring)."""
    if use_model not in USE_MODEL_CHOICES:
        raise ValueError(f"use_model must be one of {USE_MODEL_CHOICES}, got {use_model!r}")
    path = Path(weights_path)
    if use_model == "never":
        return False, "rules: the learned model is switched off (landmarks_use_model never)"
    if not path.exists():
        return False, f"rules: no trained landmark model at {path}"
    if use_model == "always":
        return True, "model: landmarks_use_model always"
    validation = read_model_card(path).get("validation") or {}
    model_mm, rules_mm = validation.get("model_median_error_mm"), validation.get("rules_median_error_mm")
    if validation.get("model_beats_rules"):
        return True, f"model: validation median error {model_mm:.2f} mm < rules {rules_mm:.2f} mm"
    if model_mm is None or rules_mm is None:
        return False, "rules: the landmark model card has no validation comparison with the rules"
    return False, (f"rules: the model's validation median error {model_mm:.2f} mm did not beat the rules' "
                   f"{rules_mm:.2f} mm")


class LandmarkModelFile:
    """The landmark model behind a weights path, reloaded when the weights or card change (after a training).

    ``get()`` returns ``(LandmarkModel or None, reason)``; None means "use the rules", and the reason says why.
    """

    def __init__(self, weights_path: str | Path, use_model: str = "auto", **model_kwargs):
        self.weights_path = Path(weights_path)
        self.use_model = use_model
        self.model_kwargs = model_kwargs
        self._stamp: tuple | None = None
        self._cached: tuple[LandmarkModel | None, str] = (None, "")
        self._lock = threading.Lock()
        model_decision(self.weights_path, use_model)  # validates use_model now, not at the first request

    def _current_stamp(self) -> tuple:
        files = (self.weights_path, card_path(self.weights_path))
        return tuple(p.stat().st_mtime_ns if p.exists() else None for p in files)

    def get(self) -> tuple[LandmarkModel | None, str]:
        with self._lock:  # infer requests may run in a thread pool
            stamp = self._current_stamp()
            if stamp != self._stamp:
                self._stamp, self._cached = stamp, self._load()
            return self._cached

    def _load(self) -> tuple[LandmarkModel | None, str]:
        use, reason = model_decision(self.weights_path, self.use_model)
        if not use:
            logger.info(f"Landmarks: {reason}")
            return None, reason
        try:
            return LandmarkModel.load(self.weights_path, **self.model_kwargs), reason
        except (OSError, ValueError, RuntimeError, KeyError, TypeError) as e:
            logger.error(f"Landmarks: cannot load {self.weights_path} ({e}); using the rules")
            return None, f"rules: the landmark weights could not be loaded ({e})"

    @property
    def version(self) -> str:
        return model_version(self.weights_path)

