"""What the landmark model reads for one level: the mid-disc slice, its masks and the rules' points, on a crop.

:class:`LevelSlice` holds one level's mid-disc slice (``pixels[row, col]`` float32, ``labels[row, col]`` 0/1/2, its
:class:`SliceGeometry`), the anatomical frame of the two masks (it places the crop) and the rules' landmarks
(LPS mm). :func:`make_inputs` turns it into the network's input channels on a :class:`CropGrid`:

====  ==========================================================================================
 0    image, normalised per crop: (x - p1) / (p99 - p1) over the crop, clipped to [-0.5, 2]
 1    dural sac mask (label 1), bilinear-resampled (soft edges)
 2    disc mask (label 2)
 3-6  (``use_rule_prior``) Gaussian heatmaps (``prior_sigma_mm``) at the rules' facet_left, facet_right,
      foramen_left, foramen_right: the rules are the model's prior
====  ==========================================================================================
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from lib.landmarks.crop import CropGrid
from lib.landmarks.heatmaps import MIRROR_ORDER, TARGET_NAMES, encode_lps
from lib.spine.geometry import SliceGeometry
from lib.spine.landmark_rules import place_landmarks
from lib.spine.levels import LABEL_DISC, LABEL_DURAL_SAC
from lib.spine.measurements import AnatomicalFrame, measure_level

IMAGE_PERCENTILES = (1.0, 99.0)


@dataclass(frozen=True)
class CropSpec:
    """How crops and heatmaps are made; saved with the weights so inference crops the way training did."""

    spacing_mm: float = 1.0
    size_px: int = 64
    ap_offset_mm: float = 0.0
    sigma_mm: float = 2.0
    use_rule_prior: bool = True
    prior_sigma_mm: float = 4.0

    def __post_init__(self):
        if self.size_px % 16:
            raise ValueError(f"size_px must be divisible by 16 (BasicUNet), got {self.size_px}")
        for name in ("spacing_mm", "sigma_mm", "prior_sigma_mm"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")

    @property
    def in_channels(self) -> int:
        return 3 + (len(TARGET_NAMES) if self.use_rule_prior else 0)

    @property
    def input_mirror_order(self) -> tuple[int, ...]:
        """Channel order of the inputs after a left/right mirror (the prior channels swap sides)."""
        return (0, 1, 2, *(3 + i for i in MIRROR_ORDER)) if self.use_rule_prior else (0, 1, 2)

    def grid(self, level: "LevelSlice") -> CropGrid:
        return CropGrid.from_frame(level.frame, self.spacing_mm, self.size_px, self.ap_offset_mm)


@dataclass(frozen=True)
class LevelSlice:
    """One level's mid-disc slice with its masks, anatomical frame (origin at the dural sac centroid, AP from the disc
    centroid to the sac's) and rule landmarks (LPS mm)."""

    level: str
    slice_index: int
    pixels: np.ndarray
    labels: np.ndarray
    geometry: SliceGeometry
    frame: AnatomicalFrame
    rule_points: Mapping[str, list[float]]

    @classmethod
    def from_arrays(cls, level: str, slice_index: int, pixels, labels, geometry: SliceGeometry) -> "LevelSlice":
        """Measure the masks and place the rules; raises MeasurementError when the masks cannot be measured."""
        labels = np.asarray(labels)
        measurements = measure_level(labels, geometry)
        rules = place_landmarks(measurements).as_dict()
        return cls(str(level), int(slice_index), np.asarray(pixels, np.float32), labels, geometry,
                   measurements.frame, rules)

    @classmethod
    def from_stage1(cls, level: str, entry: Mapping, pixels, labels, geometry: SliceGeometry) -> "LevelSlice":
        """From a level of a stage 1 document, without measuring again: the frame is rebuilt from its two centroids
        exactly as lib.spine.measurements.measure_level builds it, and its landmarks are the rules' points."""
        points = entry["landmarks_lps_mm"]
        sac, disc = np.asarray(points["dural_sac_centroid"]), np.asarray(points["disc_centroid"])
        frame = AnatomicalFrame.from_ap(sac, sac - disc, geometry)
        return cls(str(level), int(entry["slice_index"]), np.asarray(pixels, np.float32), np.asarray(labels),
                   geometry, frame, dict(points))


def normalise_crop(image: np.ndarray) -> np.ndarray:
    """Robust per-crop intensity normalisation (vendors scale T2 differently)."""
    lo, hi = np.percentile(image, IMAGE_PERCENTILES)
    scale = hi - lo if hi - lo > 1e-6 else 1.0
    return np.clip((image - lo) / scale, -0.5, 2.0).astype(np.float32)


def make_inputs(level: LevelSlice, grid: CropGrid, spec: CropSpec) -> np.ndarray:
    """(C, S, S) float32 network input of ``level`` on ``grid`` (channels in the module docstring)."""
    channels = [
        normalise_crop(grid.sample(level.pixels, level.geometry)),
        grid.sample((level.labels == LABEL_DURAL_SAC).astype(np.float32), level.geometry),
        grid.sample((level.labels == LABEL_DISC).astype(np.float32), level.geometry),
    ]
    stack = np.stack(channels)
    if spec.use_rule_prior:
        prior, _ = encode_lps(level.rule_points, grid, spec.prior_sigma_mm)
        stack = np.concatenate([stack, prior])
    return stack.astype(np.float32)


def make_targets(points_lps: Mapping[str, object], grid: CropGrid, spec: CropSpec) -> tuple[np.ndarray, np.ndarray]:
    """(K, S, S) Gaussian target heatmaps and (K,) weights (0 for landmarks not given)."""
    return encode_lps(points_lps, grid, spec.sigma_mm)
