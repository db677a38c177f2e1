"""Slice geometry of the axial T2: contiguous stacks and angled blocks, and its match with the truth."""
from __future__ import annotations

import numpy as np

from lib.spine.geometry import canonical_order, group_into_blocks, stacked_affine_ras
from tests.phantom.conftest import geometry_of


def _t2(study):
    datasets = study.series(study.truth["series_uid"])
    return datasets, [geometry_of(ds) for ds in datasets]


def test_contiguous_slices_lie_along_the_normal_with_declared_spacing(contiguous_study):
    datasets, geometries = _t2(contiguous_study)
    assert contiguous_study.truth["acquisition"] == "contiguous"
    assert 25 <= len(geometries) <= 70
    normal = geometries[0].normal
    for g in geometries:
        assert abs(abs(float(g.normal @ normal)) - 1.0) < 1e-6
    positions = np.sort([float(g.origin @ normal) for g in geometries])
    declared = float(datasets[0].SpacingBetweenSlices)
    assert np.allclose(np.diff(positions), declared, atol=2e-3)
    assert declared >= float(datasets[0].SliceThickness) - 1e-6
    in_plane = [g.origin - (g.origin @ normal) * normal for g in geometries]
    assert np.ptp(np.array(in_plane), axis=0).max() < 2e-3  # stacked straight along the normal
    assert len(group_into_blocks(geometries)) == 1


def test_angled_series_has_five_blocks_with_their_own_orientation(angled_study):
    datasets, geometries = _t2(angled_study)
    assert angled_study.truth["acquisition"] == "angled"
    blocks = group_into_blocks(geometries)
    assert len(blocks) == 5
    assert all(3 <= len(b) <= 5 for b in blocks)
    orientations = {tuple(np.round(geometries[b[0]].normal, 4)) for b in blocks}
    assert len(orientations) == 5
    for block in blocks:
        iops = {tuple(datasets[i].ImageOrientationPatient) for i in block}
        assert len(iops) == 1


def test_slice_sop_uids_are_in_canonical_order(any_study):
    datasets, geometries = _t2(any_study)
    expected = [datasets[i].SOPInstanceUID for i in canonical_order(geometries)]
    assert any_study.truth["slice_sop_uids"] == expected


def test_label_volume_matches_series_geometry(any_study):
    by_sop = any_study.by_sop()
    geometries = [geometry_of(by_sop[uid]) for uid in any_study.truth["slice_sop_uids"]]
    labels = any_study.labels
    assert labels.dtype == np.uint8
    assert labels.shape == (geometries[0].columns, geometries[0].rows, len(geometries))
    assert set(np.unique(labels)) <= {0, 1, 2}
    assert np.allclose(any_study.affine, stacked_affine_ras(geometries), atol=1e-3)


def test_truth_spacing_matches_headers(any_study):
    ds = any_study.by_sop()[any_study.truth["slice_sop_uids"][0]]
    assert np.allclose(any_study.truth["pixel_spacing_mm"], [float(x) for x in ds.PixelSpacing])
    assert np.isclose(any_study.truth["slice_thickness_mm"], float(ds.SliceThickness))
