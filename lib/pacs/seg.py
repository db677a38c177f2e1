"""Final labels as DICOM SEG (highdicom), and back: the object the app stores in the PACS for a labelled series.

Input contract: per source image (single-frame MR instances of one series) a ``mask[row, col]`` uint8 label slice
(0 background, 1 dural_sac, 2 disc: docs/CONTRACTS.md). The SEG is BINARY, one segment per label value, each frame
referencing its source instance, so it is exact for angled blocks as well as contiguous stacks. Structures use the
project's private coding scheme (``99LSPINE``, as the DICOM SR of ``lib.outputs.sr``); the category is SNOMED CT
123037004 "Anatomical Structure".
"""
from __future__ import annotations

from typing import Mapping, Sequence

import highdicom as hd
import numpy as np
from highdicom.sr import CodedConcept
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from lib.spine.levels import LABEL_NAMES

SEG_SERIES_NUMBER = 9902
SEG_SERIES_DESCRIPTION = "Spine segmentation (final label)"
CATEGORY = CodedConcept(value="123037004", scheme_designator="SCT", meaning="Anatomical Structure")
STRUCTURES = {
    "dural_sac": CodedConcept(value="DURAL-SAC", scheme_designator="99LSPINE", meaning="Dural sac"),
    "disc": CodedConcept(value="DISC", scheme_designator="99LSPINE", meaning="Intervertebral disc"),
}


def segment_descriptions(label_names: Mapping[str, int]) -> list[hd.seg.SegmentDescription]:
    """One SegmentDescription per label value, numbered by the label value (1, 2, ...)."""
    out = []
    for name, number in sorted(label_names.items(), key=lambda kv: kv[1]):
        out.append(hd.seg.SegmentDescription(
            segment_number=int(number),
            segment_label=name,
            segmented_property_category=CATEGORY,
            segmented_property_type=STRUCTURES.get(name, CodedConcept(name.upper(), "99LSPINE", name)),
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
        ))
    return out


def masks_to_seg(sources: Sequence[Dataset], masks: np.ndarray, label_names: Mapping[str, int] | None = None,
                 software_version: str = "0.1.0") -> hd.seg.Segmentation:
    """A BINARY DICOM SEG from ``masks[n, row, col]`` (label values), frame i referencing ``sources[i]``.

    Raises ValueError when the masks do not match the sources or hold values with no segment.
    """
    label_names = dict(label_names or LABEL_NAMES)
    masks = np.asarray(masks)
    if masks.ndim != 3 or masks.shape[0] != len(sources):
        raise ValueError(f"masks {masks.shape} do not match {len(sources)} source images")
    for i, ds in enumerate(sources):
        if masks.shape[1:] != (ds.Rows, ds.Columns):
            raise ValueError(f"mask {i} is {masks.shape[1:]} but source {ds.SOPInstanceUID} is {ds.Rows}x{ds.Columns}")
    unknown = set(np.unique(masks).tolist()) - {0, *label_names.values()}
    if unknown:
        raise ValueError(f"label values {sorted(unknown)} have no segment (known: {label_names})")
    if not masks.any():
        raise ValueError("the label is empty: nothing to write as DICOM SEG")
    seg = hd.seg.Segmentation(
        source_images=list(sources),
        pixel_array=masks.astype(np.uint8),
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=segment_descriptions(label_names),
        series_instance_uid=generate_uid(),
        series_number=SEG_SERIES_NUMBER,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer="spine-stenosis-app",
        manufacturer_model_name="MONAI Label lumbar spine app",
        software_versions=software_version,
        device_serial_number="0",
        series_description=SEG_SERIES_DESCRIPTION,
    )
    # highdicom copies patient and study text (e.g. a UTF-8 StudyDescription) but not the character set
    seg.SpecificCharacterSet = sources[0].get("SpecificCharacterSet", "ISO_IR 192")
    return seg


def seg_to_masks(seg: Dataset, sop_uids: Sequence[str], label_names: Mapping[str, int] | None = None) -> np.ndarray:
    """``masks[n, row, col]`` of a SEG for the given source instances, in that order.

    Without ``label_names`` a voxel's value is its segment number; with them, segments are matched by SegmentLabel
    (a SEG written by another tool may number them differently) and segments with other labels are left out.
    Instances the SEG has no frame for come back empty.
    """
    seg = seg if isinstance(seg, hd.seg.Segmentation) else hd.seg.Segmentation.from_dataset(seg)
    referenced = {uid for _, _, uid in seg.get_source_image_uids()}
    present = [u for u in sop_uids if u in referenced]
    out = np.zeros((len(sop_uids), int(seg.Rows), int(seg.Columns)), dtype=np.uint8)
    values = {int(s.SegmentNumber): int(s.SegmentNumber) for s in seg.SegmentSequence}
    if label_names is not None:
        values = {int(s.SegmentNumber): int(label_names[s.SegmentLabel]) for s in seg.SegmentSequence
                  if s.SegmentLabel in label_names}
    if not present or not values:
        return out
    numbers = sorted(values)
    pixels = seg.get_pixels_by_source_instance(source_sop_instance_uids=present, segment_numbers=numbers,
                                               ignore_spatial_locations=True, assert_missing_frames_are_empty=True)
    index = {u: i for i, u in enumerate(sop_uids)}
    for j, uid in enumerate(present):
        for channel, number in enumerate(numbers):
            out[index[uid]][pixels[j, :, :, channel] > 0] = values[number]
    return out
