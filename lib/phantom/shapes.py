"""Vectorised 2-D geometry on arrays of cross-section coordinates (mm)."""
from __future__ import annotations

import numpy as np


def frame_coordinates(u, v, origin, axis_a) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of points along the unit vector ``axis_a`` and along its normal (axis_a turned +90 deg)."""
    du, dv = u - origin[0], v - origin[1]
    return du * axis_a[0] + dv * axis_a[1], -du * axis_a[1] + dv * axis_a[0]


def segment_distance(u, v, start, end) -> np.ndarray:
    """Distance of points to the segment start-end."""
    su, sv = end[0] - start[0], end[1] - start[1]
    length2 = su * su + sv * sv
    t = np.clip(((u - start[0]) * su + (v - start[1]) * sv) / length2, 0.0, 1.0)
    return np.hypot(u - start[0] - t * su, v - start[1] - t * sv)
