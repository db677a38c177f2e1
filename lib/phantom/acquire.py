"""What the scanner does to the ideal signal: coil sensitivity, blur, Rician noise, vendor scaling."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter

from lib.phantom.anatomy import StudyAnatomy
from lib.phantom.grid import coarse_nodes, upsample_bilinear
from lib.phantom.planning import SeriesPlan
from lib.phantom.vendor import ScannerChoice
from lib.spine.geometry import SliceGeometry


@dataclass(frozen=True)
class CoilField:
    """Smooth multiplicative sensitivity of the posterior spine coil (per series)."""

    falloff_mm: float
    lateral_gradient: float  # relative change per 100 mm towards patient left
    superior_gradient: float  # relative change per 100 mm towards the head


@dataclass(frozen=True)
class Scaling:
    """How relative signal becomes stored integers: stored * slope + intercept = written pixel value."""

    signal_scale: float
    slope: float
    intercept: float
    max_stored: int


def draw_coil(rng: np.random.Generator) -> CoilField:
    return CoilField(float(rng.uniform(90, 160)), float(rng.uniform(-0.12, 0.12)), float(rng.uniform(-0.1, 0.1)))


def draw_scaling(rng: np.random.Generator, scanner: ScannerChoice) -> Scaling:
    vendor = scanner.vendor
    scale = float(rng.uniform(*vendor.signal_scale))
    slope = round(float(rng.uniform(*vendor.rescale_slope)), 5) if vendor.rescale_slope else 1.0
    return Scaling(scale, slope, 0.0, 2**vendor.bits_stored - 1)


def coil_sensitivity(geometry: SliceGeometry, anatomy: StudyAnatomy, coil: CoilField) -> np.ndarray:
    """Sensitivity at every pixel, ~1 at the canal, rising towards the back, falling anteriorly."""
    rows, cols = geometry.rows, geometry.columns
    step = 16
    rr, cc = np.meshgrid(coarse_nodes(0, rows, step), coarse_nodes(0, cols, step), indexing="ij")
    body = anatomy.pose.to_body(geometry.pixels_to_lps(rr, cc))
    back = anatomy.body.centre_y_mm + anatomy.body.half_depth_mm
    depth = back - body[..., 1] - 70.0 * anatomy.size_factor
    field = 0.25 + 0.75 * np.exp(-np.clip(depth, -60.0, None) / coil.falloff_mm)
    field *= 1.0 + coil.lateral_gradient * body[..., 0] / 100.0
    field *= 1.0 + coil.superior_gradient * (body[..., 2] - float(np.mean(body[..., 2]))) / 100.0
    full = upsample_bilinear(field[None].astype(np.float32), step, rows, cols)[0]
    return np.clip(full, 0.15, 1.8)


def acquire(signal: np.ndarray, geometry: SliceGeometry, anatomy: StudyAnatomy, plan: SeriesPlan,
            coil: CoilField, scaling: Scaling, rng: np.random.Generator) -> np.ndarray:
    """Stored pixel values (uint16 [row, col]) of one slice."""
    image = gaussian_filter(signal * coil_sensitivity(geometry, anatomy, coil), plan.blur_px)
    sigma = plan.noise_fraction
    real = image + rng.normal(0.0, sigma, image.shape).astype(np.float32)
    imag = rng.normal(0.0, sigma, image.shape).astype(np.float32)
    magnitude = np.sqrt(real * real + imag * imag)
    stored = np.rint(magnitude * scaling.signal_scale / scaling.slope)
    return np.clip(stored, 0, scaling.max_stored).astype(np.uint16)
