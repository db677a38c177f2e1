"""Which PACS series become work items, from metadata only (no server needed)."""
from __future__ import annotations

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from lib.pacs.settings import PacsSettings
from lib.pacs.work_items import block_image_id, parse_block_id, study_work_items
from tests.dicom.factory import (
    SeriesSpec,
    angled_blocks,
    axial_stack,
    make_dataset,
    sagittal_stack,
    three_plane_localizer,
    with_spec,
)

STUDY = generate_uid()


def metadata(spec: SeriesSpec, planes) -> list[Dataset]:
    """What WADO-RS metadata gives: the header of every instance, without pixel data."""
    out = []
    for k, plane in enumerate(planes):
        ds = make_dataset(spec, plane, k, STUDY, k + 1)
        del ds.PixelData
        out.append(ds)
    return out


def study(**series) -> dict[str, list[Dataset]]:
    return {datasets[0].SeriesInstanceUID: datasets for datasets in series.values()}


def test_block_ids_round_trip():
    assert block_image_id("1.2.3", 4) == "1.2.3_block4"
    assert parse_block_id("1.2.3_block4") == ("1.2.3", 4)
    assert parse_block_id("1.2.3") is None and parse_block_id("x_block1") is None


def test_contiguous_axial_is_one_item_and_localizer_and_sagittal_are_not_served():
    axial = metadata(SeriesSpec(), axial_stack(12))
    localizer = metadata(with_spec(SeriesSpec(), description="LOC", series_number=1,
                                   image_type=("ORIGINAL", "PRIMARY", "LOCALIZER")), three_plane_localizer())
    sagittal = metadata(with_spec(SeriesSpec(), description="SAG T2", series_number=2), sagittal_stack())
    items = study_work_items(STUDY, "k", study(a=axial, l=localizer, s=sagittal))
    assert [i.image_id for i in items.items] == [axial[0].SeriesInstanceUID]
    assert items.whole is items.items[0] and items.whole.block is None
    assert items.whole.sagittal_uid == sagittal[0].SeriesInstanceUID
    assert len(items.whole.sop_uids) == 12
    assert any("LOCALIZER" in note or "localizer" in note for note in items.notes)


def test_angled_series_is_served_per_block_in_viewer_order():
    planes = angled_blocks(per_block=4)
    axial = metadata(SeriesSpec(), planes)
    items = study_work_items(STUDY, "k", study(a=axial))
    series_uid = axial[0].SeriesInstanceUID
    assert [i.image_id for i in items.items] == [f"{series_uid}_block{k}" for k in range(5)]
    assert items.whole.image_id == series_uid and len(items.whole.sop_uids) == 20
    sop_plane = {ds.SOPInstanceUID: p for ds, p in zip(axial, planes, strict=True)}
    for k, item in enumerate(items.items):
        assert item.block == k and item.n_blocks == 5 and "[block" in item.description
        positions = [np.asarray(sop_plane[s].position) for s in item.sop_uids]
        normal = sop_plane[item.sop_uids[0]].normal
        along = [float(p @ normal) for p in positions]
        assert along == sorted(along), "a block's slices must be stacked ascending along row x column"
    # blocks inferior to superior, every slice in exactly one block
    centres = [np.mean([sop_plane[s].position[2] for s in item.sop_uids]) for item in items.items]
    assert centres == sorted(centres)
    assert sorted(s for i in items.items for s in i.sop_uids) == sorted(ds.SOPInstanceUID for ds in axial)


def test_study_without_axial_t2_says_why():
    sagittal = metadata(with_spec(SeriesSpec(), description="SAG T2"), sagittal_stack())
    items = study_work_items(STUDY, "k", study(s=sagittal))
    assert items.items == () and "axial" in items.not_served


def test_settings_force_mr_and_refuse_bad_values():
    assert PacsSettings.from_conf({"pacs_search_filter": '{"Modality": "CT", "StudyDate": "20240101"}'}).filters() \
        == {"Modality": "MR", "StudyDate": "20240101"}
    with pytest.raises(ValueError, match="pacs_read_timeout_s"):
        PacsSettings.from_conf({"pacs_read_timeout_s": "0"})
    with pytest.raises(ValueError, match="pacs_search_filter"):
        PacsSettings.from_conf({"pacs_search_filter": "not json"})
    assert PacsSettings(retries=2, backoff_s=0.5, connect_timeout_s=1, read_timeout_s=2).worst_case_s() == 10.5
