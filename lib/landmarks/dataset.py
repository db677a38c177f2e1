"""Training examples for the landmark model: one per annotated level, and their (augmented) arrays.

An example is a level's slice (:class:`LevelSlice`: pixels, final masks, geometry, rule points) with the annotated
points (LPS mm; any subset of the four landmarks, the others weigh 0 in the loss). The slice is the one of that
level's disc slices whose plane lies nearest the annotated points (so a correction made on a neighbouring slice is
learnt where it was made), the mid-disc slice when none is near. Annotated points are projected onto that plane.

Augmentation is geometric on the crop grid (in-plane rotation, shift, scale: :meth:`CropGrid.jittered`, so targets
stay exact), a left/right mirror that swaps the left and right channels (:func:`lib.landmarks.heatmaps.mirror`),
mask edges grown or shrunk by a pixel (masks at inference come from the segmentation, not from an annotator), and
intensity gamma, scale and noise. :class:`Jitter` only draws parameters; :func:`example_arrays` applies them and is
deterministic.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
from scipy import ndimage

from lib.landmarks.heatmaps import MIRROR_ORDER, TARGET_NAMES, mirror
from lib.landmarks.inputs import CropSpec, LevelSlice, make_inputs, make_targets
from lib.spine import Level, MeasurementError, name_levels_in_volume

#: An annotated slice is used when the mean annotated point lies within this distance of its plane (mm).
MAX_PLANE_DISTANCE_MM = 3.0


@dataclass(frozen=True)
class LandmarkExample:
    """One annotated level: the slice the model reads and the annotated points (LPS mm)."""

    case_id: str
    level_slice: LevelSlice
    truth: Mapping[str, list[float]]


@dataclass(frozen=True)
class Jitter:
    """Augmentation parameters of one draw (identity by default)."""

    angle_rad: float = 0.0
    shift_mm: tuple[float, float] = (0.0, 0.0)
    scale: float = 1.0
    mirror: bool = False
    mask_morphology: int = 0  # -1 erode, 0 none, +1 dilate (one crop pixel)
    gamma: float = 1.0
    intensity_scale: float = 1.0
    noise_std: float = 0.0

    @classmethod
    def draw(cls, rng: np.random.Generator) -> "Jitter":
        return cls(
            angle_rad=float(np.deg2rad(rng.uniform(-12, 12))),
            shift_mm=(float(rng.uniform(-3, 3)), float(rng.uniform(-3, 3))),
            scale=float(rng.uniform(0.9, 1.1)),
            mirror=bool(rng.random() < 0.5),
            mask_morphology=int(rng.choice([-1, 0, 0, 1])),
            gamma=float(np.exp(rng.uniform(-0.3, 0.3))),
            intensity_scale=float(rng.uniform(0.85, 1.15)),
            noise_std=float(rng.uniform(0.0, 0.05)),
        )


def example_arrays(example: LandmarkExample, spec: CropSpec, jitter: Jitter = Jitter(),
                   rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(inputs (C, S, S), targets (K, S, S), weights (K,)) of ``example`` under ``jitter``."""
    grid = spec.grid(example.level_slice).jittered(jitter.angle_rad, jitter.shift_mm, jitter.scale)
    inputs = make_inputs(example.level_slice, grid, spec)
    targets, weights = make_targets(example.truth, grid, spec)
    inputs = _jitter_channels(inputs, jitter, rng)
    if jitter.mirror:
        inputs, targets = mirror(inputs, spec.input_mirror_order), mirror(targets, MIRROR_ORDER)
        weights = weights[list(MIRROR_ORDER)]
    return inputs, targets, weights


def _jitter_channels(inputs: np.ndarray, jitter: Jitter, rng: np.random.Generator | None) -> np.ndarray:
    out = inputs.copy()
    if jitter.mask_morphology:
        op = ndimage.grey_dilation if jitter.mask_morphology > 0 else ndimage.grey_erosion
        out[1:3] = np.stack([op(m, size=(3, 3)) for m in out[1:3]])
    if jitter.gamma != 1.0 or jitter.intensity_scale != 1.0:
        out[0] = np.sign(out[0]) * np.abs(out[0]) ** jitter.gamma * jitter.intensity_scale
    if jitter.noise_std > 0 and rng is not None:
        out[0] = out[0] + rng.normal(0.0, jitter.noise_std, out[0].shape).astype(np.float32)
    return out


def examples_from_volumes(
    case_id: str, image: np.ndarray, labels: np.ndarray, series, truth: Mapping[str, Mapping[str, list[float]]]
) -> tuple[list[LandmarkExample], dict[str, str]]:
    """Examples of one study (``[col, row, k]`` arrays, its SeriesGeometry, ``{level: {name: [x,y,z]}}``).

    Returns (examples, {level: why it was skipped}).
    """
    naming = name_levels_in_volume(labels, list(series.geometries), [list(b) for b in series.blocks])
    found = naming.by_level
    examples, skipped = [], {}
    for level_name, points in truth.items():
        points = {n: p for n, p in (points or {}).items() if n in TARGET_NAMES and p is not None}
        try:
            level = Level(level_name)
        except ValueError:
            skipped[level_name] = "not a lumbar level name"
            continue
        if not points:
            skipped[level_name] = "no facet or foramen point annotated"
        elif level not in found:
            skipped[level_name] = f"the final label has no disc for this level ({naming.missing_levels.get(level, '')})"
        else:
            level_slice = _annotated_slice(level_name, found[level], points, image, labels, series.geometries)
            if level_slice is None:
                skipped[level_name] = "the masks on the annotated slice cannot be measured"
            else:
                examples.append(LandmarkExample(case_id, level_slice, points))
    return examples, skipped


def _annotated_slice(level: str, named, points: Mapping, image, labels, geometries) -> LevelSlice | None:
    """The level's slice nearest the annotated points (else its mid-disc slice), measured; None if it cannot be."""
    centre = np.mean([np.asarray(p, float) for p in points.values()], axis=0)
    distances = {k: abs(geometries[k].lps_to_pixel(centre)[2]) for k in named.slice_indices}
    nearest = min(distances, key=distances.get)
    order = [nearest, named.slice_index] if distances[nearest] <= MAX_PLANE_DISTANCE_MM else [named.slice_index]
    for k in order:
        try:
            return LevelSlice.from_arrays(level, k, image[:, :, k].T, labels[:, :, k].T, geometries[k])
        except MeasurementError:
            continue
    return None


def in_plane_error_mm(level_slice: LevelSlice, predicted, truth) -> float:
    """Distance (mm) between two points after projecting both onto the slice's plane."""
    n = level_slice.geometry.normal
    d = np.asarray(predicted, float) - np.asarray(truth, float)
    return float(np.linalg.norm(d - (d @ n) * n))
