"""load_axial_series on synthetic studies: the right series, canonical order, blocks and affines."""
import numpy as np
import pytest

from lib.dicom import ANGLED, CONTIGUOUS, load_axial_series
from lib.spine.geometry import canonical_order

from .factory import (
    SeriesSpec,
    StudyWriter,
    angled_blocks,
    axial_stack,
    sagittal_stack,
    slice_pixels,
    three_plane_localizer,
    with_spec,
)

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])


def write_decoys(writer: StudyWriter) -> dict[str, str]:
    """A sagittal T2, a 3-plane localizer (ImageType LOCALIZER), an untagged 3-plane scout, an axial T1 with
    more slices than the T2 (and 'T2' in its description), a short axial T2. Returns their series UIDs."""
    base = SeriesSpec()
    decoys = {
        "sagittal": with_spec(base, description="SAG T2 TSE", series_number=2),
        "localizer": with_spec(base, description="3-plane loc", series_number=1, echo_time=2.0,
                               repetition_time=6.0, image_type=("ORIGINAL", "PRIMARY", "LOCALIZER")),
        "scout": with_spec(base, description="survey", series_number=9),
        "t1": with_spec(base, description="AX T2 (really T1)", series_number=5, echo_time=10.0,
                        repetition_time=600.0),
        "short_t2": with_spec(base, description="AX T2 L4-5", series_number=6),
    }
    writer.write_series(decoys["sagittal"], sagittal_stack())
    writer.write_series(decoys["localizer"], three_plane_localizer())
    writer.write_series(decoys["scout"], three_plane_localizer())
    writer.write_series(decoys["t1"], axial_stack(30, z0=-90.0, step=4.0))
    writer.write_series(decoys["short_t2"], axial_stack(3, z0=-20.0))
    return {name: spec.series_uid for name, spec in decoys.items()}


@pytest.fixture
def angled_study(tmp_path):
    writer = StudyWriter(tmp_path / "angled_study", seed=3)
    spec = SeriesSpec(description="AX T2 FSE angled", series_number=4)
    written = writer.write_series(spec, angled_blocks())
    decoys = write_decoys(writer)
    return writer.root, spec, written, decoys


def test_angled_study_chooses_the_axial_t2_with_slices_in_canonical_order(angled_study):
    root, spec, written, decoys = angled_study
    series = load_axial_series(root)
    assert series.series_uid == spec.series_uid
    assert series.study_id == "angled_study"
    assert [s.sop_instance_uid for s in series.slices] == [uid for uid, _ in written]
    assert series.blocks == tuple(tuple(range(4 * b, 4 * b + 4)) for b in range(5))
    assert series.acquisition == ANGLED
    assert series.info.weighting == "T2" and "EchoTime 100" in series.info.weighting_basis
    assert series.sagittal is not None and series.sagittal.series_uid == decoys["sagittal"]
    assert series.warnings == ()
    rejected = " | ".join(series.rejected_series)
    assert "LOCALIZER" in rejected and "3 planes" in rejected and "not T2: EchoTime 10 ms" in rejected


def test_each_slice_keeps_its_own_geometry_and_pixels(angled_study):
    root, _, written, _ = angled_study
    series = load_axial_series(root)
    for k, (item, (_, path)) in enumerate(zip(series.slices, written, strict=True)):
        assert item.file_path == path
        assert item.pixels.dtype == np.float32 and item.pixels.shape == (8, 10)
        np.testing.assert_array_equal(item.pixels, slice_pixels(k).astype(np.float32))
    normals = {tuple(np.round(g.normal, 6)) for g in series.geometries()}
    assert len(normals) == 5
    assert canonical_order(series.geometries()) == list(range(20))


def test_slices_ascend_along_each_block_normal(angled_study):
    series = load_axial_series(angled_study[0])
    geometries = series.geometries()
    for block in series.blocks:
        n = geometries[block[0]].normal
        positions = [geometries[i].distance_along_normal_mm(n) for i in block]
        assert positions == sorted(positions) and n[2] > 0
    centres_z = [np.mean([geometries[i].centre_lps_mm[2] for i in b]) for b in series.blocks]
    assert centres_z == sorted(centres_z)


def test_block_volumes_have_true_affines(angled_study):
    series = load_axial_series(angled_study[0])
    for volume, affine, block in series.block_volumes():
        assert volume.shape == (10, 8, len(block)) and volume.dtype == np.float32
        for kk, i in enumerate(block):
            g = series.slices[i].geometry
            for (col, row) in [(0, 0), (9, 0), (0, 7), (4, 3)]:
                ras = (affine @ [col, row, kk, 1.0])[:3]
                np.testing.assert_allclose(ras, LPS_TO_RAS @ g.pixel_to_lps(row, col), atol=1e-4)
            np.testing.assert_array_equal(volume[:, :, kk], series.slices[i].pixels.T)


@pytest.mark.parametrize("tilt", [0.0, 15.0])
def test_contiguous_stack_affine_maps_voxels_to_each_slice_position(tmp_path, tilt):
    writer = StudyWriter(tmp_path / "contiguous", seed=5)
    spec = SeriesSpec()
    written = writer.write_series(spec, axial_stack(12, tilt_deg=tilt))
    series = load_axial_series(writer.root)
    assert series.acquisition == CONTIGUOUS and series.blocks == (tuple(range(12)),)
    assert [s.sop_instance_uid for s in series.slices] == [uid for uid, _ in written]
    volume, affine = series.stacked_volume()
    assert volume.shape == (10, 8, 12) and volume.dtype == np.float32
    for k, item in enumerate(series.slices):
        ipp_ras = LPS_TO_RAS @ np.asarray(item.geometry.position_lps_mm)
        np.testing.assert_allclose((affine @ [0, 0, k, 1.0])[:3], ipp_ras, atol=1e-4)
        np.testing.assert_allclose((affine @ [9, 7, k, 1.0])[:3], LPS_TO_RAS @ item.geometry.pixel_to_lps(7, 9),
                                   atol=1e-4)
        assert volume[3, 5, k] == slice_pixels(k)[5, 3]


def test_stacked_volume_of_angled_series_starts_at_the_first_slice(angled_study):
    series = load_axial_series(angled_study[0])
    volume, affine = series.stacked_volume()
    assert volume.shape == (10, 8, 20)
    first = series.slices[0].geometry
    np.testing.assert_allclose((affine @ [0, 0, 0, 1.0])[:3], LPS_TO_RAS @ first.origin, atol=1e-4)


def test_description_hint_used_only_without_timing_tags(tmp_path):
    writer = StudyWriter(tmp_path / "no_timing", seed=7)
    spec = SeriesSpec(description="t2_tse_tra", echo_time=None, repetition_time=None)
    writer.write_series(spec, axial_stack(6))
    writer.write_series(with_spec(spec, description="t1_tse_tra", series_number=8), axial_stack(9))
    series = load_axial_series(writer.root, study_id="custom-id")
    assert series.series_uid == spec.series_uid and series.study_id == "custom-id"
    assert "SeriesDescription 't2_tse_tra'" in series.info.weighting_basis


def test_sagittal_series_is_ordered_right_to_left(angled_study):
    sagittal = load_axial_series(angled_study[0]).sagittal
    xs = [g.origin[0] for g in sagittal.geometries()]
    assert xs == sorted(xs) and len(xs) == 7
    volume, affine = sagittal.stacked_volume()
    assert volume.shape == (10, 8, 7)


def test_rescale_is_applied(tmp_path):
    writer = StudyWriter(tmp_path / "rescaled")
    writer.write_series(SeriesSpec(slope=0.5, intercept=-3.0), axial_stack(4))
    series = load_axial_series(writer.root)
    np.testing.assert_allclose(series.slices[2].pixels, slice_pixels(2) * 0.5 - 3.0)
