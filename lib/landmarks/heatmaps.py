"""Gaussian heatmaps of the four landmarks on a crop, and decoding them back to crop positions and LPS mm.

Arrays are ``heatmaps[K, v, u]`` on a :class:`~lib.landmarks.crop.CropGrid` (K = len(TARGET_NAMES), channel order as
TARGET_NAMES); positions are (v, u) crop pixels, float. A target heatmap is ``exp(-d^2 / (2 sigma^2))`` (peak 1) with
``d`` the distance from the pixel centre to the landmark in pixels. Decoding finds the arg-max and refines it with the
centroid of the heatmap above ``FLOOR_FRACTION`` of its peak in a window of radius ``ceil(3 sigma)`` around it
(re-centred once), which is unbiased for a Gaussian to well under a tenth of a pixel; the confidence is the share of
the map's mass inside that window. The network's output is a spatial softmax per landmark (a probability map),
decoded the same way.

Mirroring (patient left <-> right) is a flip of the u axis together with a swap of the left and right channels:
:data:`MIRROR_ORDER` gives the channel order after the swap, for targets and for rule-prior input channels alike.
"""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from lib.landmarks.crop import CropGrid

#: The landmarks the model learns, in channel order.
TARGET_NAMES: tuple[str, ...] = ("facet_left", "facet_right", "foramen_left", "foramen_right")

#: Channel order of TARGET_NAMES after a left/right mirror: left and right swap.
MIRROR_ORDER: tuple[int, ...] = tuple(
    TARGET_NAMES.index(n.replace("_left", "_tmp").replace("_right", "_left").replace("_tmp", "_right"))
    for n in TARGET_NAMES
)


#: Heatmap values below this fraction of the window's centre value are ignored when refining (background noise).
FLOOR_FRACTION = 0.1


#: Gaussian values below this are set to 0 (exp() tails reach denormal float32 values).
TAIL_CUTOFF = 1e-6


def gaussian(size_px: int, centre_vu: tuple[float, float], sigma_px: float) -> np.ndarray:
    """(size, size) float32 Gaussian with peak 1 at the fractional crop position ``centre_vu``."""
    idx = np.arange(size_px, dtype=np.float32)
    gv = np.exp(-((idx - centre_vu[0]) ** 2) / (2 * sigma_px**2))
    gu = np.exp(-((idx - centre_vu[1]) ** 2) / (2 * sigma_px**2))
    g = (gv[:, None] * gu[None, :]).astype(np.float32)
    g[g < TAIL_CUTOFF] = 0.0  # no denormal floats: they make CPU convolutions 50x slower
    return g


def encode(points_vu: np.ndarray, size_px: int, sigma_px: float) -> np.ndarray:
    """Heatmaps (K, size, size) for ``points_vu`` (K, 2); a row of NaN (unknown landmark) gives an all-zero map."""
    points_vu = np.asarray(points_vu, float)
    out = np.zeros((len(points_vu), size_px, size_px), np.float32)
    for k, p in enumerate(points_vu):
        if np.all(np.isfinite(p)):
            out[k] = gaussian(size_px, (p[0], p[1]), sigma_px)
    return out


def encode_lps(points_lps: Mapping[str, object], grid: CropGrid, sigma_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """Heatmaps (K, S, S) of the named LPS points on ``grid`` and weights (K,): 1 where the point is known."""
    vu = np.full((len(TARGET_NAMES), 2), np.nan)
    for k, name in enumerate(TARGET_NAMES):
        if points_lps.get(name) is not None:
            vu[k] = grid.to_px(points_lps[name])
    weights = np.isfinite(vu).all(axis=1).astype(np.float32)
    return encode(vu, grid.size_px, sigma_mm / grid.spacing_mm), weights


def decode(heatmaps: np.ndarray, sigma_px: float) -> tuple[np.ndarray, np.ndarray]:
    """(K, 2) crop positions (v, u) and (K,) confidences of heatmaps (K, S, S).

    The confidence is the fraction of the map's positive mass inside the window around the peak: about 0.99 for a
    lone Gaussian, low for a flat or multi-modal map. Works on Gaussian targets and on spatial-softmax maps alike.
    """
    heatmaps = np.asarray(heatmaps, np.float32)
    radius = max(1, int(math.ceil(3 * sigma_px)))
    positions = np.zeros((len(heatmaps), 2))
    confidence = np.zeros(len(heatmaps))
    for k, h in enumerate(heatmaps):
        v0, u0 = np.unravel_index(int(np.argmax(h)), h.shape)
        centre = np.array([v0, u0], float)
        for _ in range(2):
            centre = _window_centroid(h, np.round(centre).astype(int), radius, fallback=centre)
        positions[k] = centre
        confidence[k] = _window_mass(h, np.round(centre).astype(int), radius)
    return positions, confidence


def decode_lps(heatmaps: np.ndarray, grid: CropGrid,
               sigma_mm: float) -> tuple[dict[str, list[float]], dict[str, float]]:
    """({name: [x, y, z] LPS mm}, {name: confidence}) of heatmaps (K, S, S) on ``grid``."""
    positions, peaks = decode(heatmaps, sigma_mm / grid.spacing_mm)
    points = {name: [float(x) for x in grid.to_lps(*positions[k])] for k, name in enumerate(TARGET_NAMES)}
    return points, {name: float(peaks[k]) for k, name in enumerate(TARGET_NAMES)}


def mirror(array: np.ndarray, channel_order: tuple[int, ...] | None = MIRROR_ORDER) -> np.ndarray:
    """Left/right mirror of a (C, S, S) crop: flip u; reorder channels by ``channel_order`` (None: keep them)."""
    flipped = np.asarray(array)[..., ::-1]
    if channel_order is not None:
        flipped = flipped[list(channel_order)]
    return np.ascontiguousarray(flipped)


def _window(h: np.ndarray, centre: np.ndarray, radius: int) -> tuple[slice, slice]:
    v0, u0 = int(centre[0]), int(centre[1])
    return (slice(max(0, v0 - radius), min(h.shape[0], v0 + radius + 1)),
            slice(max(0, u0 - radius), min(h.shape[1], u0 + radius + 1)))


def _window_mass(h: np.ndarray, centre: np.ndarray, radius: int) -> float:
    positive = np.clip(h, 0.0, None)
    total = float(positive.sum())
    return float(positive[_window(h, centre, radius)].sum() / total) if total > 0 else 0.0


def _window_centroid(h: np.ndarray, centre: np.ndarray, radius: int, fallback: np.ndarray) -> np.ndarray:
    v0, u0 = min(max(int(centre[0]), 0), h.shape[0] - 1), min(max(int(centre[1]), 0), h.shape[1] - 1)
    vs, us = _window(h, (v0, u0), radius)
    patch = h[vs, us].astype(np.float64)
    w = np.clip(patch - FLOOR_FRACTION * float(h[v0, u0]), 0.0, None)
    total = w.sum()
    if total <= 0:
        return fallback
    vv, uu = np.meshgrid(np.arange(vs.start, vs.stop), np.arange(us.start, us.stop), indexing="ij")
    return np.array([(w * vv).sum() / total, (w * uu).sum() / total])
