"""The spine's centre line and the patient pose: from patient LPS mm to the spine's local frame and back.

Frames, all in millimetres:

* world: DICOM patient LPS (+x Left, +y Posterior, +z Superior), where the images are planned.
* body: the patient's own frame before positioning (same axes as LPS for a perfectly placed patient);
  ``world = rotation @ body + translation``.
* spine-local (u, v, s): ``s`` arc length along the centre line of the vertebral bodies (+ superior,
  0 at the L5-S1 disc centre), ``v`` distance from the line towards posterior in the sagittal plane,
  ``u`` lateral offset towards patient left. At a disc, the plane s = const is the mid-disc plane.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Resolution of the tabulated centre line.
CURVE_STEP_MM = 0.5


@dataclass(frozen=True, eq=False)
class SpineCurve:
    """Tabulated centre line of the spine in body coordinates.

    ``theta_rad`` is the tilt of the superior tangent: tangent = (0, -sin theta, cos theta), so a positive
    tilt points the superior normal of a disc anteriorly (as at L5-S1 in lordosis).
    """

    s_mm: np.ndarray
    x_mm: np.ndarray
    y_mm: np.ndarray
    z_mm: np.ndarray
    theta_rad: np.ndarray
    kappa_per_mm: np.ndarray = field(repr=False)

    @classmethod
    def from_tilts(
        cls,
        knot_s_mm: np.ndarray,
        knot_tilt_deg: np.ndarray,
        origin_yz_mm: tuple[float, float],
        lateral_amplitude_mm: float = 0.0,
        lateral_period_mm: float = 400.0,
        lateral_phase: float = 0.0,
        s_range_mm: tuple[float, float] = (-260.0, 320.0),
    ) -> "SpineCurve":
        """Integrate a curve whose tangent tilt passes through the given knots (linear between them).

        ``origin_yz_mm`` is the (y, z) body position of s = 0; ``lateral_*`` adds a gentle scoliotic sway in x.
        """
        s = np.arange(s_range_mm[0], s_range_mm[1] + CURVE_STEP_MM, CURVE_STEP_MM)
        order = np.argsort(knot_s_mm)
        theta = np.deg2rad(np.interp(s, np.asarray(knot_s_mm)[order], np.asarray(knot_tilt_deg)[order]))
        theta = _smooth(theta, 21)
        dy = -np.sin(theta) * CURVE_STEP_MM
        dz = np.cos(theta) * CURVE_STEP_MM
        i0 = int(np.argmin(np.abs(s)))
        y = np.cumsum(dy) - np.cumsum(dy)[i0] + origin_yz_mm[0]
        z = np.cumsum(dz) - np.cumsum(dz)[i0] + origin_yz_mm[1]
        x = lateral_amplitude_mm * np.sin(2 * np.pi * s / lateral_period_mm + lateral_phase)
        kappa = np.gradient(theta, CURVE_STEP_MM)
        return cls(s, x, y, z, theta, kappa)

    def point(self, s_mm) -> np.ndarray:
        """Body coordinates (..., 3) of the centre line at arc length s."""
        s_mm = np.asarray(s_mm, float)
        return np.stack([self._at(s_mm, self.x_mm), self._at(s_mm, self.y_mm), self._at(s_mm, self.z_mm)], -1)

    def tangent(self, s_mm) -> np.ndarray:
        """Unit superior tangent (..., 3) in body coordinates."""
        th = self._at(np.asarray(s_mm, float), self.theta_rad)
        return np.stack([np.zeros_like(th), -np.sin(th), np.cos(th)], -1)

    def posterior(self, s_mm) -> np.ndarray:
        """Unit posterior direction (..., 3) perpendicular to the tangent in the sagittal plane."""
        th = self._at(np.asarray(s_mm, float), self.theta_rad)
        return np.stack([np.zeros_like(th), np.cos(th), np.sin(th)], -1)

    def local_to_body(self, u_mm, v_mm, s_mm) -> np.ndarray:
        """Body coordinates (..., 3) of spine-local (u, v, s)."""
        u_mm, v_mm = np.asarray(u_mm, float), np.asarray(v_mm, float)
        p = self.point(s_mm) + v_mm[..., None] * self.posterior(s_mm)
        p[..., 0] += u_mm
        return p

    def body_to_local(self, x, y, z, iterations: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Spine-local (u, v, s) of body points (arrays of one shape), by Newton steps on the foot point."""
        s = np.interp(z, self.z_mm, self.s_mm)
        for _ in range(iterations):
            cy, cz = self._at(s, self.y_mm), self._at(s, self.z_mm)
            th, kap = self._at(s, self.theta_rad), self._at(s, self.kappa_per_mm)
            sin, cos = np.sin(th), np.cos(th)
            dy, dz = y - cy, z - cz
            along = -dy * sin + dz * cos
            v = dy * cos + dz * sin
            s = s + along / np.maximum(1.0 + kap * v, 0.3)
            s = np.clip(s, self.s_mm[0], self.s_mm[-1])
        cy, cz, th = self._at(s, self.y_mm), self._at(s, self.z_mm), self._at(s, self.theta_rad)
        v = (y - cy) * np.cos(th) + (z - cz) * np.sin(th)
        u = x - self._at(s, self.x_mm)
        return u, v, s

    def _at(self, s_mm: np.ndarray, table: np.ndarray) -> np.ndarray:
        return np.interp(s_mm, self.s_mm, table)


@dataclass(frozen=True, eq=False)
class Pose:
    """Rigid placement of the patient in the scanner: world LPS = rotation @ body + translation."""

    rotation: np.ndarray
    translation_mm: np.ndarray

    @classmethod
    def from_angles(cls, yaw_deg: float, roll_deg: float, translation_mm) -> "Pose":
        """Rotation about the superior axis (yaw, in-plane on axials) then about the AP axis (roll)."""
        a, b = np.deg2rad(yaw_deg), np.deg2rad(roll_deg)
        rz = np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0], [0.0, 0.0, 1.0]])
        ry = np.array([[np.cos(b), 0.0, np.sin(b)], [0.0, 1.0, 0.0], [-np.sin(b), 0.0, np.cos(b)]])
        return cls(rz @ ry, np.asarray(translation_mm, float))

    def to_world(self, body_points: np.ndarray) -> np.ndarray:
        """World LPS (..., 3) of body points (..., 3)."""
        return np.asarray(body_points, float) @ self.rotation.T + self.translation_mm

    def to_body(self, world_points: np.ndarray) -> np.ndarray:
        """Body coordinates (..., 3) of world LPS points (..., 3)."""
        return (np.asarray(world_points, float) - self.translation_mm) @ self.rotation

    def direction_to_world(self, body_direction: np.ndarray) -> np.ndarray:
        """World direction of a body direction (no translation)."""
        return np.asarray(body_direction, float) @ self.rotation.T


def _smooth(values: np.ndarray, width: int) -> np.ndarray:
    """Moving average with edge padding, to round the corners of a piecewise-linear profile."""
    kernel = np.ones(width) / width
    padded = np.pad(values, width // 2, mode="edge")
    return np.convolve(padded, kernel, mode="valid")
