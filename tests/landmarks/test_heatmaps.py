"""Heatmap encode/decode and crop sampling round trips in LPS mm, for flipped and anisotropic pixel grids."""
import numpy as np
import pytest

from lib.landmarks.crop import CropGrid
from lib.landmarks.heatmaps import MIRROR_ORDER, TARGET_NAMES, decode_lps, encode_lps, mirror
from lib.spine.geometry import SliceGeometry
from lib.spine.measurements import AnatomicalFrame


def plane(flip_rows: bool, spacing=(0.6, 0.9), tilt_deg: float = 0.0, shape=(200, 150)) -> SliceGeometry:
    """A slice centred at (3, 15, 40) LPS, rows x cols = ``shape``; row direction to the patient's right if flipped."""
    t = np.deg2rad(tilt_deg)
    row_dir = np.array([-1.0 if flip_rows else 1.0, 0.0, 0.0])
    col_dir = np.array([0.0, np.cos(t), np.sin(t)])
    rows, cols = shape
    origin = np.array([3.0, 15.0, 40.0]) - (cols - 1) / 2 * spacing[1] * row_dir - (rows - 1) / 2 * spacing[0] * col_dir
    return SliceGeometry(tuple(origin), tuple(row_dir), tuple(col_dir), spacing, rows, cols, 4.0)


def frame_on(g: SliceGeometry, ap_deg: float = 8.0) -> AnatomicalFrame:
    a = np.deg2rad(ap_deg)
    return AnatomicalFrame.from_ap(g.pixel_to_lps(100.0, 70.0), (np.sin(a), np.cos(a), 0.0), g)


def points_on(g: SliceGeometry, frame: AnatomicalFrame) -> dict:
    """Facets and foramina at plausible (lateral, AP) mm offsets, exactly on the plane."""
    offsets = {"facet_left": (15.3, 9.1), "facet_right": (-14.2, 8.7), "foramen_left": (21.7, -4.4),
               "foramen_right": (-22.9, -5.2)}
    return {n: list(frame.to_lps(*o)) for n, o in offsets.items()}


@pytest.mark.parametrize("flip_rows", [False, True])
@pytest.mark.parametrize("tilt_deg", [0.0, 15.0])
def test_encode_decode_round_trip_in_lps_mm(flip_rows, tilt_deg):
    g = plane(flip_rows, tilt_deg=tilt_deg)
    frame = frame_on(g)
    grid = CropGrid.from_frame(frame, spacing_mm=0.75, size_px=96)
    points = points_on(g, frame)
    heatmaps, weights = encode_lps(points, grid, sigma_mm=2.0)
    assert heatmaps.shape == (4, 96, 96) and weights.tolist() == [1, 1, 1, 1]
    decoded, peaks = decode_lps(heatmaps, grid, sigma_mm=2.0)
    for name in TARGET_NAMES:
        assert np.linalg.norm(np.subtract(decoded[name], points[name])) < 0.02, name
        assert peaks[name] > 0.9


@pytest.mark.parametrize("flip_rows", [False, True])
def test_sampling_a_slice_blob_finds_it_in_lps_mm(flip_rows):
    """A Gaussian blob drawn in the slice's own (anisotropic, possibly flipped) pixels decodes to its LPS point."""
    g = plane(flip_rows, spacing=(0.5, 1.1))
    frame = frame_on(g)
    grid = CropGrid.from_frame(frame, spacing_mm=0.75, size_px=96)
    target = frame.to_lps(12.4, 7.3)
    r, c = np.meshgrid(np.arange(g.rows), np.arange(g.columns), indexing="ij")
    d = g.pixels_to_lps(r, c) - target
    pixels = np.exp(-(d**2).sum(-1) / (2 * 2.0**2)).astype(np.float32)
    sampled = grid.sample(pixels, g)
    decoded, _ = decode_lps(np.stack([sampled] * 4), grid, sigma_mm=2.0)
    assert np.linalg.norm(np.subtract(decoded["facet_left"], target)) < 0.1


def test_crop_axes_are_anatomical_whatever_the_pixel_grid():
    """Crop u grows to the patient's left (+x LPS) and v posteriorly (+y), for a flipped row direction too."""
    for flip in (False, True):
        g = plane(flip)
        grid = CropGrid.from_frame(frame_on(g, ap_deg=0.0), 1.0, 32)
        assert grid.to_lps(0, 31)[0] > grid.to_lps(0, 0)[0]
        assert grid.to_lps(31, 0)[1] > grid.to_lps(0, 0)[1]
        v, u = grid.to_px(grid.to_lps(5.25, 20.5))
        assert (v, u) == pytest.approx((5.25, 20.5))


def test_unknown_landmark_gets_zero_map_and_weight():
    g = plane(False)
    frame = frame_on(g)
    grid = CropGrid.from_frame(frame, 0.75, 64)
    points = points_on(g, frame)
    del points["foramen_right"]
    heatmaps, weights = encode_lps(points, grid, 2.0)
    assert weights.tolist() == [1, 1, 1, 0]
    assert heatmaps[3].max() == 0.0


def test_mirror_order_swaps_left_and_right():
    assert [TARGET_NAMES[i] for i in MIRROR_ORDER] == ["facet_right", "facet_left", "foramen_right", "foramen_left"]


def test_mirroring_heatmaps_equals_mirroring_the_grid():
    """Flip u + swap channels of the heatmaps == heatmaps on the grid with lateral reversed, names swapped."""
    g = plane(False)
    frame = frame_on(g)
    grid = CropGrid.from_frame(frame, 0.75, 64)
    points = points_on(g, frame)
    heatmaps, _ = encode_lps(points, grid, 2.0)
    mirrored_grid = CropGrid(grid.centre_lps_mm, tuple(-np.asarray(grid.lateral)), grid.ap, grid.spacing_mm,
                             grid.size_px)
    swapped = {n.replace("left", "x").replace("right", "left").replace("x", "right"): p for n, p in points.items()}
    expected, _ = encode_lps(swapped, mirrored_grid, 2.0)
    np.testing.assert_allclose(mirror(heatmaps), expected, atol=1e-5)
