import numpy as np
import pytest

from lib.spine.geometry import canonical_order
from lib.spine.level_naming import confirm_with_sagittal, name_levels, name_levels_in_volume
from lib.spine.sagittal import find_sagittal_disc_centres
from lib.spine.levels import LEVELS_FROM_SACRUM, Level

from .synthetic import SpinePhantom, ellipse_mask, pixel_grid_lps, plane

SPINE = SpinePhantom()
TRUE_CENTRES = {lv: d.centre for lv, d in zip(LEVELS_FROM_SACRUM, SPINE.discs)}
GRADING_POINTS = {lv: d.grading_point for lv, d in zip(LEVELS_FROM_SACRUM, SPINE.discs)}


def series(geometries):
    """Geometries in canonical order and their label slices [rows, cols]."""
    geometries = [geometries[i] for i in canonical_order(geometries)]
    return [SPINE.labels(g) for g in geometries], geometries


def assert_named_where_they_are(naming, geometries, expected_levels):
    assert [n.level for n in naming.levels] == list(expected_levels)
    for n in naming.levels:
        assert np.linalg.norm(np.subtract(n.disc_centroid_lps_mm, TRUE_CENTRES[n.level])) < 1.0
        # The mid-disc plane passes near the true grading point (posterior disc margin, midline, mid-height). The
        # margin is estimated at the 90th percentile of the midline depths: ~4 mm short on these elliptic discs,
        # which moves the point up to ~2 mm along a disc tilted 28 degrees.
        assert np.linalg.norm(np.subtract(n.grading_point_lps_mm, GRADING_POINTS[n.level])) < 5.0
        step = geometries[n.slice_index].slice_thickness_mm
        assert abs(geometries[n.slice_index].lps_to_pixel(GRADING_POINTS[n.level])[2]) <= step / 2 + 2.0
        assert n.slice_index in n.slice_indices and n.n_slices == len(n.slice_indices)
        assert n.disc_width_mm == pytest.approx(2 * SPINE.lateral_mm, abs=1.5)  # widest section, +1 pixel


def test_contiguous_stack_names_five_levels():
    labels, geometries = series(SPINE.contiguous())
    naming = name_levels(labels, geometries)
    assert_named_where_they_are(naming, geometries, LEVELS_FROM_SACRUM)
    assert naming.missing_levels == {}


def test_five_angled_blocks_acquired_in_any_order():
    geometries = SPINE.angled_blocks()
    rng = np.random.default_rng(3)
    labels, geometries = series([geometries[i] for i in rng.permutation(len(geometries))])
    naming = name_levels(labels, geometries)
    assert_named_where_they_are(naming, geometries, LEVELS_FROM_SACRUM)
    assert all(n.n_slices == 4 for n in naming.levels)


def test_stacked_volume_gives_the_same_names():
    labels, geometries = series(SPINE.angled_blocks())
    volume = np.stack([s.T for s in labels], axis=2)  # [col, row, k] as in CONTRACTS.md
    assert name_levels_in_volume(volume, geometries) == name_levels(labels, geometries)


def test_spurious_small_blob_is_ignored():
    labels, geometries = series(SPINE.contiguous())
    k = int(np.argmin([abs(g.centre_lps_mm[2] - 57.0) for g in geometries]))  # mid vertebral body L4
    labels[k][10:20, 10:20] = 2  # 100 mm2 of "disc" in a corner
    naming = name_levels(labels, geometries)
    assert_named_where_they_are(naming, geometries, LEVELS_FROM_SACRUM)
    assert len(naming.ignored) == 1 and "100 mm2" in naming.ignored[0]


def test_top_level_cut_off_is_reported_missing():
    labels, geometries = series(SPINE.contiguous(z_to=128.0))
    naming = name_levels(labels, geometries)
    assert_named_where_they_are(naming, geometries, LEVELS_FROM_SACRUM[:4])
    assert list(naming.missing_levels) == [Level.L1_L2]
    reason = naming.missing_levels[Level.L1_L2]
    assert "no disc found above L2-L3" in reason and "series ends at z=128.0 mm" in reason


def test_block_missing_in_the_middle_skips_that_name():
    geometries = SPINE.angled_blocks()
    labels, geometries = series(geometries[:8] + geometries[12:])  # no L3-L4 block
    naming = name_levels(labels, geometries)
    assert [n.level for n in naming.levels] == [Level.L5_S1, Level.L4_L5, Level.L2_L3, Level.L1_L2]
    assert_named_where_they_are(naming, geometries, naming.by_level)
    assert list(naming.missing_levels) == [Level.L3_L4] and "gap" in naming.missing_levels[Level.L3_L4]


def test_disc_seen_by_two_blocks_is_one_level():
    extra = SpinePhantom(tilts_deg=(28.0, 0.0, 5.0, 0.0, -4.0)).angled_blocks()[4:8]  # L4-L5 again, untilted
    labels, geometries = series(SPINE.angled_blocks() + extra)
    naming = name_levels(labels, geometries)
    assert [n.level for n in naming.levels] == list(LEVELS_FROM_SACRUM)
    assert naming.by_level[Level.L4_L5].n_slices == 8


def test_no_disc_at_all_reports_every_level():
    labels, geometries = series(SPINE.contiguous())
    naming = name_levels([np.where(s == 2, 0, s) for s in labels], geometries)
    assert naming.levels == () and set(naming.missing_levels) == set(Level)
    assert "no disc (label 2)" in naming.missing_levels[Level.L5_S1]


def test_sagittal_count_confirms_or_flags_an_offset():
    labels, geometries = series(SPINE.angled_blocks())
    naming = name_levels(labels, geometries)
    sagittal = [c + np.array([0.0, 1.5, -1.0]) for c in TRUE_CENTRES.values()]
    ok = confirm_with_sagittal(naming, sagittal)
    assert ok.agrees and ok.offset == 0 and ok.sagittal_names[Level.L4_L5] == "L4-L5"
    # the sagittal series shows one more disc below: every axial name is one level too high up the count
    shifted = confirm_with_sagittal(naming, [np.array([2.0, 5.0, -38.0])] + sagittal)
    assert not shifted.agrees and shifted.offset == 1 and shifted.sagittal_names[Level.L5_S1] == "L4-L5"
    far = confirm_with_sagittal(naming, [c + np.array([0.0, 30.0, 0.0]) for c in sagittal])
    assert not far.agrees and "no sagittal disc within" in far.message


def test_sagittal_count_that_misses_the_lowest_discs_concludes_nothing():
    labels, geometries = series(SPINE.angled_blocks())
    naming = name_levels(labels, geometries)
    upper = [TRUE_CENTRES[lv] for lv in LEVELS_FROM_SACRUM[2:]]  # dark, desiccated L5-S1 and L4-L5 not found
    result = confirm_with_sagittal(naming, upper)
    assert not result.agrees and result.offset is None and "cannot be checked" in result.message


def synthetic_sagittal_t2(centres):
    """A mid-sagittal T2-like image (rows go superior): grey bodies, dark annuli, bright flat nuclei, bright CSF."""
    g = plane((2.0, 10.0, 70.0), (0.0, 1.0, 0.0), (0.0, 0.0, -1.0), (0.8, 0.8), (300, 300))
    image = np.full((g.rows, g.columns), 300.0)
    p = pixel_grid_lps(g)
    image[np.abs(p[..., 1] - 10.0) < 18.0] = 600.0  # vertebral column
    image[np.abs(p[..., 1] - 38.0) < 5.0] = 1500.0  # CSF in the canal
    for c in centres:
        image[ellipse_mask(g, c, (0.0, 1.0, 0.0), 17.0, 5.0)] = 150.0  # annulus
        image[ellipse_mask(g, c, (0.0, 1.0, 0.0), 8.0, 2.2)] = 1400.0  # nucleus
    return np.random.default_rng(0).normal(image, 20.0), g


def test_sagittal_discs_found_by_their_bright_nuclei():
    centres = [np.array([2.0, 10.0 + 3.0 * np.sin(k), 36.0 * k]) for k in range(5)]
    pixels, g = synthetic_sagittal_t2(centres)
    found = find_sagittal_disc_centres(pixels, g)
    assert len(found) == 5
    assert all(np.linalg.norm(f - c) < 1.5 for f, c in zip(found, centres))
