"""Which series of a PACS study become work items, decided from WADO-RS metadata alone (no pixels).

The study's series go through the same selection as a DICOM folder (``lib.dicom.selection``): localizers,
sagittal, coronal, T1 and other non-axial-T2 series are never served. The chosen axial T2 series becomes:

* one work item whose image id is its SeriesInstanceUID when it is a single block (a contiguous stack), or
* one work item per block, image id ``<SeriesInstanceUID>_block<k>`` (k = 0-based index of the block in canonical
  order, inferior to superior), when it is made of several blocks (angled per-level acquisitions, or stacks with
  gaps). Such a series is not one reconstructable volume; each block is. The whole series stays reachable under its
  SeriesInstanceUID (stacked work image, nominal affine) for REST clients and the grading pipeline, but is not
  listed as a work item.

A block item's ``sop_uids`` are in the order a viewer stacks the block (ascending along row x column direction,
the order of cornerstone's ``sortImageIdsAndGetSpacing``), which is also the k axis of its NIfTI work image.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from lib.dicom.frames import plane_facts
from lib.dicom.headers import ImageHeader, _image_header
from lib.dicom.selection import SelectionError, choose_axial, choose_sagittal, summarize_study
from lib.spine.geometry import SliceGeometry, group_into_blocks

BLOCK_SEPARATOR = "_block"
_BLOCK_ID = re.compile(rf"^(?P<series>[0-9.]+){BLOCK_SEPARATOR}(?P<block>\d+)$")


def block_image_id(series_uid: str, block: int) -> str:
    """``<series_uid>_block<k>``: the image id (and virtual SeriesInstanceUID in OHIF) of block k."""
    return f"{series_uid}{BLOCK_SEPARATOR}{block}"


def parse_block_id(image_id: str) -> tuple[str, int] | None:
    """(series UID, block index) of a block image id, None for any other id."""
    m = _BLOCK_ID.match(image_id)
    return (m.group("series"), int(m.group("block"))) if m else None


@dataclass(frozen=True)
class WorkItem:
    """One image the app serves from the PACS: a whole axial T2 series, or one block of it."""

    image_id: str
    study_uid: str
    series_uid: str
    block: int | None  # None: the whole series
    n_blocks: int
    sop_uids: tuple[str, ...]  # the item's instances, in the order of its work image's k axis
    description: str
    sagittal_uid: str | None = None

    def info(self) -> dict:
        """The JSON-able facts shown as image info before the image is downloaded."""
        return {
            "StudyInstanceUID": self.study_uid,
            "SeriesInstanceUID": self.series_uid,
            "block": self.block,
            "n_blocks": self.n_blocks,
            "n_slices": len(self.sop_uids),
            "series_description": self.description,
            "Modality": "MR",
            "source": "pacs",
        }

    def as_json(self) -> dict:
        return {**self.__dict__, "sop_uids": list(self.sop_uids)}

    @classmethod
    def from_json(cls, d: dict) -> "WorkItem":
        return cls(**{**d, "sop_uids": tuple(d["sop_uids"])})


@dataclass(frozen=True)
class StudyItems:
    """The work items of one study, or why it has none; ``key`` says which PACS state it was computed from."""

    study_uid: str
    key: str
    items: tuple[WorkItem, ...] = ()
    whole: WorkItem | None = None  # the whole axial series (also in ``items`` when it is a single block)
    not_served: str | None = None
    notes: tuple[str, ...] = field(default=())

    def as_json(self) -> dict:
        return {"study_uid": self.study_uid, "key": self.key, "items": [i.as_json() for i in self.items],
                "whole": self.whole.as_json() if self.whole else None, "not_served": self.not_served,
                "notes": list(self.notes)}

    @classmethod
    def from_json(cls, d: dict) -> "StudyItems":
        whole = WorkItem.from_json(d["whole"]) if d.get("whole") else None
        return cls(d["study_uid"], d["key"], tuple(WorkItem.from_json(i) for i in d["items"]), whole,
                   d.get("not_served"), tuple(d.get("notes", ())))


def headers_from_metadata(series_uid: str, datasets: list[Dataset]) -> list[ImageHeader]:
    """ImageHeaders (one per plane) from WADO-RS metadata; ``path`` is a ``pacs:`` pseudo path naming the SOP."""
    headers: list[ImageHeader] = []
    for ds in datasets:
        if "Rows" not in ds or "SOPInstanceUID" not in ds:
            continue  # SEG, SR and other non-image objects
        path = Path(f"pacs:{series_uid}/{ds.SOPInstanceUID}")
        headers.extend(_image_header(path, ds, facts) for facts in plane_facts(ds))
    return headers


def viewer_order(geometries: list[SliceGeometry], indices: list[int]) -> list[int]:
    """``indices`` sorted ascending along the row x column direction of the first (cornerstone's volume order)."""
    g0 = geometries[indices[0]]
    normal = np.cross(g0.row_direction, g0.column_direction)
    return sorted(indices, key=lambda i: float(np.asarray(geometries[i].position_lps_mm) @ normal))


def study_work_items(study_uid: str, key: str, metadata: dict[str, list[Dataset]]) -> StudyItems:
    """The work items of a study from its MR series' metadata ({series UID: instance datasets})."""
    headers = [h for uid, datasets in metadata.items() for h in headers_from_metadata(uid, datasets)]
    if not headers:
        return StudyItems(study_uid, key, not_served="no MR image instances")
    candidates = summarize_study(tuple(headers))
    try:
        chosen = choose_axial(candidates)
    except SelectionError as e:
        return StudyItems(study_uid, key, not_served=e.reason)
    sagittal = choose_sagittal(candidates)
    notes = tuple(c.describe() for c in candidates if c is not chosen)
    series_uid = chosen.info.series_uid
    planes = _unique_planes(chosen.headers)
    geometries = [h.geometry for h in planes]
    blocks = group_into_blocks(geometries)
    sag_uid = sagittal.info.series_uid if sagittal else None
    description = chosen.info.description
    canonical = [i for b in blocks for i in b]
    whole = WorkItem(series_uid, study_uid, series_uid, None, len(blocks),
                     tuple(planes[i].sop_instance_uid for i in canonical), description, sag_uid)
    if len(blocks) == 1 or any(h.frame is not None for h in planes):
        return StudyItems(study_uid, key, (whole,), whole, notes=notes)
    items = tuple(
        WorkItem(block_image_id(series_uid, k), study_uid, series_uid, k, len(blocks),
                 tuple(planes[i].sop_instance_uid for i in viewer_order(geometries, block)),
                 f"{description} [block {k + 1}/{len(blocks)}]", sag_uid)
        for k, block in enumerate(blocks)
    )
    return StudyItems(study_uid, key, items, whole, notes=notes)


def _unique_planes(headers: tuple[ImageHeader, ...]) -> list[ImageHeader]:
    """One header per SOP instance (and frame) and per position, as the folder loader keeps them."""
    seen: dict[tuple, ImageHeader] = {}
    for h in headers:
        g = h.geometry
        position = tuple(np.round(g.position_lps_mm, 2)) + tuple(np.round(g.row_direction + g.column_direction, 3))
        other = seen.get(position)
        if other is None or (h.echo_time_ms or 0) > (other.echo_time_ms or 0):
            seen[position] = h
    keys = {id(h) for h in seen.values()}
    unique, sops = [], set()
    for h in headers:
        if id(h) in keys and h.key not in sops:
            sops.add(h.key)
            unique.append(h)
    return unique

