"""Final labels as DICOM SEG (highdicom): written per source instance, read back identical, bad input refused."""
from __future__ import annotations

import numpy as np
import pytest
from pydicom.uid import generate_uid

from lib.pacs.seg import masks_to_seg, seg_to_masks
from tests.dicom.factory import SeriesSpec, angled_blocks, make_dataset

ROWS, COLS = 32, 40


@pytest.fixture
def sources():
    study, spec = generate_uid(), SeriesSpec(rows=ROWS, cols=COLS)
    out = []
    for k, plane in enumerate(angled_blocks(per_block=3)):
        ds = make_dataset(spec, plane, k, study, k + 1)
        ds.FrameOfReferenceUID, ds.PatientName, ds.PatientSex = "1.2.826.0.1.3680043.8.498.1", "Phantom^Test", "O"
        ds.StudyDate, ds.StudyTime, ds.StudyID, ds.AccessionNumber = "20240101", "120000", "1", "1"
        ds.ReferringPhysicianName, ds.PatientBirthDate = "", ""
        out.append(ds)
    return out


def test_angled_blocks_round_trip_with_segments_named(sources):
    masks = np.zeros((len(sources), ROWS, COLS), np.uint8)
    masks[0, 5:10, 5:12] = 1
    masks[7, 10:14, 3:30] = 2
    masks[7, 20:22, 3:5] = 1
    seg = masks_to_seg(sources, masks)
    assert seg.Modality == "SEG" and seg.SeriesDescription.startswith("Spine segmentation")
    assert [(s.SegmentNumber, s.SegmentLabel) for s in seg.SegmentSequence] == [(1, "dural_sac"), (2, "disc")]
    assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == sources[0].SeriesInstanceUID
    order = [ds.SOPInstanceUID for ds in sources]
    np.testing.assert_array_equal(seg_to_masks(seg, order), masks)
    np.testing.assert_array_equal(seg_to_masks(seg, order[::-1]), masks[::-1])


def test_bad_masks_are_refused_with_the_reason(sources):
    with pytest.raises(ValueError, match="do not match"):
        masks_to_seg(sources, np.zeros((2, ROWS, COLS), np.uint8))
    with pytest.raises(ValueError, match="no segment"):
        masks_to_seg(sources, np.full((len(sources), ROWS, COLS), 7, np.uint8))
    with pytest.raises(ValueError, match="empty"):
        masks_to_seg(sources, np.zeros((len(sources), ROWS, COLS), np.uint8))
