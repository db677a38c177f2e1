"""Geometric rules that place the facet joints and neural foramina on the mid-disc slice from the two masks.

All points are LPS mm on the plane of the slice. The rules work in the anatomical frame of
:class:`~lib.spine.measurements.AnatomicalFrame`, with origin at the dural sac centroid:

* ``AP`` = unit vector from the disc centroid to the dural sac centroid (posterior);
* ``lateral`` = in-plane, perpendicular to AP, towards the patient's left (+x LPS); ``s`` = +1 left, -1 right.

Quantities measured from the masks (chords through each centroid, see measurements.py):

* ``sac_half(s)`` = distance from the sac centroid to the sac edge on side s (mm);
* ``sac_post`` = distance from the sac centroid to its posterior edge (mm);
* ``disc_half`` = half the lateral width of the disc through its centroid (mm): the scale of the level; better,
  half the width of the disc's widest section on any slice (``NamedLevel.disc_width_mm``), passed in by the caller.

The rules (constants below, in mm or in units of ``disc_half``):

* ``foramen(s) = sac centroid + lateral * s * (sac_half(s) + FORAMEN_LATERAL_DISC_HALF * disc_half)
  + AP * FORAMEN_AP_DISC_HALF * disc_half``: lateral to the sac, two thirds of a disc half-width (~15 mm) beyond
  its edge, and anterior of the sac centroid by 0.29 disc half-widths (~6.5 mm): the exit zone behind the
  posterolateral disc margin.
* ``facet(s) = sac centroid + lateral * s * (sac_half(s) + FACET_LATERAL_DISC_HALF * disc_half)
  + AP * (sac_post + FACET_AP_BEYOND_SAC_MM)``: posterolateral, half a disc half-width (~10.5 mm) beyond the sac's
  lateral edge, at the AP level of the sac's posterior edge.
* ``dural_sac_centroid`` and ``disc_centroid`` are the mask centroids.

How the constants were obtained: each is the median, over both sides of the 100 levels of 20 phantom studies
(lib.phantom seed 7, studies 0-19), of the truth landmark's offset in its level's frame (right side mirrored),
after subtracting the base term and dividing by the scale. The form of each rule was chosen among candidates
(offset in mm or in disc half-widths, from the centroid, from the sac's edges or from the posterior disc margin) by
5-fold cross-validation over 34 phantom studies (seeds 7 and 2024): scaling the lateral offsets by the disc
half-width generalised best across body sizes, as anatomy does. Reproduce with
``python -m tests.spine.phantom_landmarks --phantoms DIR``; measured errors are in
tests/spine/test_phantom_landmarks.py.
The phantom's anatomy is modelled on typical adult lumbar anatomy; on real studies the landmark model refines these
points.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geometry import SliceGeometry
from .levels import LANDMARK_NAMES
from .measurements import LevelMeasurements, measure_level

# Rule constants: phantom calibration medians (module docstring); held-out median |residual| of each coordinate.
#: Foramen centre beyond the sac's lateral edge, in disc half-widths (0.9 mm).
FORAMEN_LATERAL_DISC_HALF = 0.663
#: Foramen centre along AP from the sac centroid, in disc half-widths (negative = anterior; 0.9 mm).
FORAMEN_AP_DISC_HALF = -0.287
#: Facet joint centre beyond the sac's lateral edge, in disc half-widths (0.8 mm).
FACET_LATERAL_DISC_HALF = 0.462
#: Facet joint centre along AP beyond the sac's posterior edge (mm; 0.5 mm).
FACET_AP_BEYOND_SAC_MM = -0.44


@dataclass(frozen=True)
class LandmarkSet:
    """The six landmarks of one level, LPS mm, all on the plane of the mid-disc slice."""

    facet_left: tuple[float, float, float]
    facet_right: tuple[float, float, float]
    foramen_left: tuple[float, float, float]
    foramen_right: tuple[float, float, float]
    dural_sac_centroid: tuple[float, float, float]
    disc_centroid: tuple[float, float, float]

    def as_dict(self) -> dict[str, list[float]]:
        """{landmark name: [x, y, z]} in LPS mm, names as in LANDMARK_NAMES."""
        return {name: [float(v) for v in getattr(self, name)] for name in LANDMARK_NAMES}


def place_landmarks(measurements: LevelMeasurements, disc_half_width_mm: float | None = None) -> LandmarkSet:
    """Apply the rules to the measurements of one mid-disc slice.

    ``disc_half_width_mm``: the level's disc half-width when known from all its slices (half of
    ``NamedLevel.disc_width_mm``); default the half-width measured on this slice. Pass it: on a contiguous stack
    the grading slice of a tilted disc shows only its posterior part, whose width understates the level's scale
    (on 34 phantom studies this took the worst error from 11.7 to 5.5 mm; elsewhere the two agree within 1%).
    """
    frame, sac = measurements.frame, measurements.dural_sac
    disc_half = measurements.disc.half_width_mm if disc_half_width_mm is None else float(disc_half_width_mm)
    points = {}
    for name, s, sac_half in (("left", 1.0, sac.lateral_extent_mm[1]), ("right", -1.0, sac.lateral_extent_mm[0])):
        points[f"foramen_{name}"] = frame.to_lps(
            s * (sac_half + FORAMEN_LATERAL_DISC_HALF * disc_half), FORAMEN_AP_DISC_HALF * disc_half
        )
        points[f"facet_{name}"] = frame.to_lps(
            s * (sac_half + FACET_LATERAL_DISC_HALF * disc_half), sac.ap_extent_mm[1] + FACET_AP_BEYOND_SAC_MM
        )
    return LandmarkSet(
        **{k: tuple(float(v) for v in p) for k, p in points.items()},
        dural_sac_centroid=sac.centroid_lps_mm,
        disc_centroid=measurements.disc.centroid_lps_mm,
    )


def landmarks_from_labels(
    label_slice: np.ndarray, geometry: SliceGeometry, disc_half_width_mm: float | None = None
) -> LandmarkSet:
    """Measure ``label_slice[rows, cols]`` (0/1/2) on ``geometry`` and place the landmarks."""
    return place_landmarks(measure_level(label_slice, geometry), disc_half_width_mm)
