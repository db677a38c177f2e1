import numpy as np
import pytest

from lib.spine.landmark_rules import landmarks_from_labels
from lib.spine.levels import LANDMARK_NAMES

from .test_measurements import two_ellipses


@pytest.mark.parametrize("flip_rows", [False, True])
@pytest.mark.parametrize("tilt,spine_rot", [(0, 0), (20, 0), (-10, 25)])
def test_landmarks_lie_on_the_anatomical_sides(flip_rows, tilt, spine_rot):
    labels, g, disc_c, sac_c, ap = two_ellipses((0.6, 0.6), tilt, 0, spine_rot, flip_rows=flip_rows)
    points = {k: np.array(v) for k, v in landmarks_from_labels(labels, g).as_dict().items()}
    assert list(points) == list(LANDMARK_NAMES)
    lateral = np.cross(ap, g.normal if g.normal[2] > 0 else -g.normal)
    side = {k: float((p - sac_c) @ lateral) for k, p in points.items()}
    depth = {k: float((p - sac_c) @ ap) for k, p in points.items()}
    assert side["facet_left"] > 5 and side["foramen_left"] > 5
    assert side["facet_right"] < -5 and side["foramen_right"] < -5
    assert points["facet_left"][0] > sac_c[0] and points["foramen_left"][0] > sac_c[0]  # left = +x LPS
    assert depth["facet_left"] > depth["foramen_left"] and depth["facet_right"] > depth["foramen_right"]
    assert depth["facet_left"] > 0 and depth["disc_centroid"] < 0
    assert side["facet_left"] == pytest.approx(-side["facet_right"], abs=0.5)
    assert np.allclose(points["dural_sac_centroid"], sac_c, atol=0.3)
    for p in points.values():
        assert abs(g.lps_to_pixel(p)[2]) < 1e-6  # on the plane of the slice
