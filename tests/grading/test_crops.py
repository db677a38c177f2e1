"""Crops are sampled in millimetres in the anatomical frame: acquisition spacing, rotation and scale don't change them."""
import numpy as np
import pytest

from lib.grading.crops import CropSpec, SeriesSlices, anatomical_frame, level_crops, region_crop
from lib.grading.structures import Structure
from tests.grading.synthetic import LANDMARKS, level_entry, make_series

SPECS = {Structure.CANAL: CropSpec(48, 48.0), Structure.FORAMEN: CropSpec(32, 32.0), Structure.FACET: CropSpec(32, 32.0)}


def _crops(**kw):
    series = make_series(**kw)
    return level_crops(SeriesSlices(series), level_entry(series), SPECS)


def test_crops_have_three_slices_and_are_normalised():
    crops = _crops(spacing=0.8)
    assert set(crops) == {"central_canal", "foramen_left", "foramen_right", "facet_left", "facet_right"}
    assert crops["central_canal"].shape == (3, 48, 48) and crops["central_canal"].dtype == np.float32
    assert crops["foramen_left"].shape == (3, 32, 32)
    c = crops["central_canal"]
    assert -1.5 <= c.min() and c.max() <= 1.5
    assert np.percentile(c, 1) == pytest.approx(-1, abs=0.05) and np.percentile(c, 99) == pytest.approx(1, abs=0.05)


@pytest.mark.parametrize("other", [dict(spacing=1.1), dict(spacing=0.45, rotation_deg=12.0, scale=37.0)])
def test_same_anatomy_at_other_spacing_rotation_and_scale_gives_the_same_crops(other):
    reference = _crops(spacing=0.7)
    crops = _crops(**other)
    for name, ref in reference.items():
        diff = np.abs(crops[name] - ref)
        assert diff.mean() < 0.05, (name, diff.mean())
        assert np.corrcoef(crops[name].ravel(), ref.ravel())[0, 1] > 0.98, name


def test_right_crops_are_mirrored_so_they_look_like_left_crops():
    crops = _crops(spacing=0.6)
    for structure in ("foramen", "facet"):
        left, right = crops[f"{structure}_left"], crops[f"{structure}_right"]
        assert np.abs(left - right).mean() < 0.02, structure


def test_mirroring_flips_columns_and_columns_run_to_the_patient_left():
    series = make_series(spacing=0.6, asymmetric=True)
    index = SeriesSlices(series)
    k = index.index_of(level_entry(series)["slice_sop_uid"])
    frame = anatomical_frame(index.geometries[k], LANDMARKS["disc_centroid"], LANDMARKS["dural_sac_centroid"])
    assert np.allclose(frame[0], [0, 1, 0]) and np.allclose(frame[1], [1, 0, 0])
    spec = CropSpec(32, 32.0)
    plain = region_crop(index, k, LANDMARKS["facet_right"], frame, spec, mirrored=False)
    mirrored = region_crop(index, k, LANDMARKS["facet_right"], frame, spec, mirrored=True)
    assert np.allclose(mirrored, plain[:, :, ::-1], atol=1e-5)
    # a marker only on the patient's left (x=+20, y=36; facet_left at x=+13, y=33) lies right of the crop's centre
    # column (columns grow to the patient's left) and below its centre row (rows grow posteriorly)
    sym_series = make_series(spacing=0.6, asymmetric=False)
    sym_index = SeriesSlices(sym_series)
    with_marker = region_crop(index, k, LANDMARKS["facet_left"], frame, spec, mirrored=False)
    without = region_crop(sym_index, k, LANDMARKS["facet_left"], frame, spec, mirrored=False)
    r, c = np.unravel_index(np.argmax(np.abs(with_marker[1] - without[1])), (32, 32))
    assert c > 15.5 + 5 and r > 15.5 + 2


def test_neighbours_stay_in_the_block_and_edges_repeat_the_slice():
    series = make_series(spacing=1.0, n_slices=3)
    index = SeriesSlices(series)
    assert index.neighbours(1) == (0, 1, 2)
    assert index.neighbours(0) == (0, 0, 1)
    assert index.neighbours(2) == (1, 2, 2)
    with pytest.raises(KeyError, match="not a slice"):
        index.index_of("9.9.9")
