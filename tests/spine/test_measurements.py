import numpy as np
import pytest

from lib.spine.measurements import MeasurementError, measure_level, measure_structure

from .synthetic import ellipse_mask, pixel_grid_lps, plane, tilted_axial, unit

DISC_AP, DISC_LAT, SAC_AP, SAC_LAT, GAP = 16.0, 22.0, 7.0, 9.0, 28.0


def two_ellipses(spacing, tilt_deg, inplane_deg, spine_rot_deg, flip_rows=False, shape=(200, 200)):
    """Disc and sac ellipses on a tilted, rotated plane; the spine's AP axis turned by spine_rot_deg in the plane."""
    row, col = tilted_axial(tilt_deg, inplane_deg, flip_rows)
    g = plane((5.0, 12.0, 30.0), row, col, spacing, shape)
    generic = np.array([0.137, 0.071, 0.0])  # keep the ellipse tips off the pixel centres (a degenerate tie)
    lateral, posterior = unit(np.cross(col, g.normal)), unit(col)  # in-plane basis
    if g.normal[2] < 0:
        lateral = -lateral
    a = np.deg2rad(spine_rot_deg)
    ap = np.cos(a) * posterior + np.sin(a) * lateral
    disc_c = g.centre_lps_mm + generic - 14.0 * ap
    sac_c = disc_c + GAP * ap
    labels = np.zeros((g.rows, g.columns), np.uint8)
    labels[ellipse_mask(g, disc_c, ap, DISC_AP, DISC_LAT)] = 2
    labels[ellipse_mask(g, sac_c, ap, SAC_AP, SAC_LAT)] = 1
    return labels, g, disc_c, sac_c, ap


@pytest.mark.parametrize(
    "spacing,tilt,inplane,spine_rot",
    [((0.5, 0.5), 0, 0, 0), ((0.4, 0.6), 0, 0, 0), ((0.6, 0.4), 22, 0, 30), ((0.45, 0.3), -15, 35, -20)],
)
def test_areas_diameters_and_centroids_of_ellipses(spacing, tilt, inplane, spine_rot):
    # 2% of the 14 mm sac AP is 0.28 mm: within reach only for pixels up to ~0.6 mm, as a mask's edge is known to
    # half a pixel (spacing 0.9 mm gives errors up to 0.5 mm where the AP axis runs along the coarse pixel axis).
    labels, g, disc_c, sac_c, ap = two_ellipses(spacing, tilt, inplane, spine_rot)
    m = measure_level(labels, g)
    assert m.disc_area_mm2 == pytest.approx(np.pi * DISC_AP * DISC_LAT, rel=0.02)
    assert m.dural_sac_area_mm2 == pytest.approx(np.pi * SAC_AP * SAC_LAT, rel=0.02)
    assert m.disc_ap_mm == pytest.approx(2 * DISC_AP, rel=0.02)
    assert m.dural_sac_ap_mm == pytest.approx(2 * SAC_AP, rel=0.02)
    assert m.disc.width_mm == pytest.approx(2 * DISC_LAT, rel=0.02)
    assert m.area_ratio == pytest.approx(SAC_AP * SAC_LAT / (DISC_AP * DISC_LAT), rel=0.03)
    assert m.ap_ratio == pytest.approx(SAC_AP / DISC_AP, rel=0.03)
    assert np.allclose(m.disc_centroid_lps_mm, disc_c, atol=0.3)
    assert np.allclose(m.dural_sac_centroid_lps_mm, sac_c, atol=0.3)
    assert np.degrees(np.arccos(np.clip(np.dot(m.frame.ap, ap), -1, 1))) < 1.0


def test_oblique_partial_disc_section_falls_back_to_the_patient_axis():
    """A slice through only the posterior part of a tilted disc, off the midline: the disc-to-sac direction turns
    ~25 degrees, but neither the patient's AP nor the slab's short axis confirms it."""
    labels, g, disc_c, sac_c, ap = two_ellipses((0.5, 0.5), 0, 0, 0)
    labels[labels == 2] = 0
    lateral = np.array([1.0, 0.0, 0.0])
    slab = ellipse_mask(g, disc_c + 9.0 * lateral, ap, DISC_AP, DISC_LAT)
    slab &= (pixel_grid_lps(g) - disc_c) @ ap > 6.0
    labels[slab] = 2
    m = measure_level(labels, g)
    assert np.dot(m.frame.ap, ap) > 0.9999
    assert m.dural_sac_ap_mm == pytest.approx(2 * SAC_AP, rel=0.02)


def test_as_dict_has_exactly_the_canal_features():
    labels, g, *_ = two_ellipses((0.7, 0.7), 0, 0, 0)
    d = measure_level(labels, g).as_dict()
    assert list(d) == ["dural_sac_area_mm2", "disc_area_mm2", "dural_sac_ap_mm", "disc_ap_mm", "area_ratio", "ap_ratio"]
    assert all(isinstance(v, float) for v in d.values())


@pytest.mark.parametrize("flip_rows", [False, True])
def test_lateral_axis_points_to_patient_left(flip_rows):
    labels, g, *_ = two_ellipses((0.7, 0.7), 10, 0, 0, flip_rows=flip_rows)
    frame = measure_level(labels, g).frame
    assert frame.lateral[0] > 0.99 and frame.ap[1] > 0.9
    assert np.allclose(np.cross(frame.lateral, frame.ap), frame.superior)


def test_spurious_blobs_are_ignored():
    labels, g, *_ = two_ellipses((0.4, 0.6), 0, 0, 0)
    clean = measure_level(labels, g).as_dict()
    labels[5:12, 5:12] = 2
    labels[180:186, 170:175] = 1
    assert measure_level(labels, g).as_dict() == pytest.approx(clean)


def test_comparable_blob_nearer_midline_wins():
    labels, g, disc_c, sac_c, ap = two_ellipses((0.7, 0.7), 0, 0, 0)
    # a slightly larger sac-labelled blob far to the patient's side (e.g. a mislabelled cyst)
    labels[ellipse_mask(g, sac_c + np.array([45.0, 0, 0]), ap, SAC_AP + 1, SAC_LAT)] = 1
    m = measure_level(labels, g)
    assert np.allclose(m.dural_sac_centroid_lps_mm, sac_c, atol=0.3)


def test_fragments_next_to_the_structure_belong_to_it():
    labels, g, disc_c, sac_c, ap = two_ellipses((0.5, 0.5), 0, 0, 0)
    whole = measure_level(labels, g).dural_sac_area_mm2
    row = int(round(g.lps_to_pixel(sac_c)[0]))
    pinched = labels[row] == 1
    labels[row][pinched] = 0  # the sac in two pieces, one pixel apart
    m = measure_level(labels, g)
    assert m.dural_sac_area_mm2 == pytest.approx(whole - 0.25 * pinched.sum())
    assert m.dural_sac_ap_mm == pytest.approx(2 * SAC_AP, rel=0.02)


@pytest.mark.parametrize("drop,name", [(1, "dural sac"), (2, "disc")])
def test_missing_mask_raises_with_reason(drop, name):
    labels, g, *_ = two_ellipses((0.7, 0.7), 0, 0, 0)
    labels[labels == drop] = 0
    with pytest.raises(MeasurementError, match=name):
        measure_level(labels, g)


def test_sac_in_front_of_the_disc_is_refused():
    labels, g, *_ = two_ellipses((0.7, 0.7), 0, 0, 0)
    swapped = np.choose(labels, [0, 2, 1]).astype(np.uint8)
    with pytest.raises(MeasurementError, match="anterior"):
        measure_level(swapped, g)


def test_shape_mismatch_is_refused():
    labels, g, *_ = two_ellipses((0.7, 0.7), 0, 0, 0)
    with pytest.raises(ValueError, match="shape"):
        measure_level(labels[:-1], g)


def test_single_structure_uses_projected_posterior_axis():
    labels, g, disc_c, sac_c, ap = two_ellipses((0.6, 0.9), 20, 0, 0)
    m = measure_structure(labels == 1, g)
    assert m.ap_mm == pytest.approx(2 * SAC_AP, rel=0.02)
    assert m.width_mm == pytest.approx(2 * SAC_LAT, rel=0.02)
    with pytest.raises(MeasurementError, match="empty"):
        measure_structure(np.zeros_like(labels), g)
