"""A datastore of phantom studies whose truth masks are stored as ``final`` labels, for training and evaluation.

The phantom truth masks are stacked in the same canonical order as the work images (docs/CONTRACTS.md), so a
truth mask is saved as a final label exactly the way an annotator's corrected label arrives from OHIF or Slicer.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

from lib.datastore.dicom_folder import DicomFolderDatastore

logger = logging.getLogger(__name__)


def ensure_phantoms(data_dir: Path, n: int, seed: int) -> None:
    """Generate ``n`` phantom studies into ``data_dir`` unless it already holds some."""
    if (data_dir / "dicom").is_dir() and any((data_dir / "truth").glob("*.json")):
        return
    from lib.phantom import generate_dataset

    logger.info(f"Generating {n} synthetic phantom studies into {data_dir} (seed {seed})")
    generate_dataset(data_dir, n, seed)


def truth_of(data_dir: Path, study_id: str) -> dict:
    """The phantom truth JSON of a study."""
    return json.loads((data_dir / "truth" / f"{study_id}.json").read_text())


def phantom_training_datastore(data_dir: Path) -> DicomFolderDatastore:
    """Open ``data_dir/dicom`` as a datastore and save each study's truth mask as its final label (once)."""
    datastore = DicomFolderDatastore(str(data_dir / "dicom"))
    labelled = set(datastore.get_labeled_images())
    for study_id in datastore.list_images():
        mask = data_dir / "truth" / f"{study_id}_labels.nii.gz"
        if study_id in labelled or not mask.exists():
            continue
        truth = truth_of(data_dir, study_id)
        datastore.save_label(study_id, str(mask), "final", {"source": "phantom truth", "grades": {
            level: {k: v[k] for k in ("central_canal", "foramen_left", "foramen_right", "facet_left", "facet_right")}
            for level, v in truth["levels"].items()}, "landmarks_lps_mm": {
            level: v["landmarks_lps_mm"] for level, v in truth["levels"].items()}})
    return datastore
