"""Put a generated study on disk: DICOM files under arbitrary folders, truth JSON, truth label NIfTI.

Layout under the dataset folder ``DIR``:

* ``DIR/dicom/<study_id>/**``: every file of every series, in nested folders with names that carry no meaning
  (``IM00012``, hex names without extension, some ``.dcm``), in shuffled order;
* ``DIR/truth/<study_id>.json``: the truth document (lib.phantom.truth.build_truth);
* ``DIR/truth/<study_id>_labels.nii.gz``: uint8 labels (0 background, 1 dural sac, 2 disc), array axes
  [col, row, slice] with slices in canonical order (lib.spine.geometry.canonical_order), affine
  lib.spine.geometry.stacked_affine_ras of those slices.
"""
from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np

from lib.phantom.dicom_write import build_dataset, write_dataset
from lib.phantom.study import PhantomStudy
from lib.phantom.uids import study_rng

LAYOUT_STYLES = ("series_folders", "hex_tree", "flat_dcm", "mixed")


def write_study(study: PhantomStudy, out_dir: Path | str) -> Path:
    """Write one study under ``out_dir``; returns the study's DICOM folder."""
    out_dir = Path(out_dir)
    rng = study_rng(study.seed, study.index, "layout")
    root = out_dir / "dicom" / study.study_id
    items = [(s, k) for s in study.series for k in range(len(s.pixels))]
    style = LAYOUT_STYLES[int(rng.integers(len(LAYOUT_STYLES)))]
    names = _file_names(rng, style, items)
    for j in rng.permutation(len(items)):
        series, k = items[j]
        write_dataset(build_dataset(study, series, k), root / names[j])
    write_truth(study, out_dir / "truth")
    return root


def write_truth(study: PhantomStudy, truth_dir: Path) -> None:
    """The truth JSON and the label NIfTI of one study."""
    truth_dir.mkdir(parents=True, exist_ok=True)
    (truth_dir / f"{study.study_id}.json").write_text(json.dumps(study.truth, indent=1))
    image = nib.Nifti1Image(study.labels.astype(np.uint8), study.affine_ras)
    image.set_qform(study.affine_ras, code=1)
    image.set_sform(study.affine_ras, code=1)
    image.header.set_data_dtype(np.uint8)
    nib.save(image, str(truth_dir / f"{study.study_id}_labels.nii.gz"))


def _file_names(rng: np.random.Generator, style: str, items) -> list[Path]:
    """A unique relative path per file; nothing in a name tells series or position."""
    used: set[Path] = set()
    series_dirs: dict[str, str] = {}
    top = f"{int(rng.integers(16**6)):06X}"
    names = []
    for series, _ in items:
        chosen = style if style != "mixed" else LAYOUT_STYLES[int(rng.integers(3))]
        while True:
            path = _one_name(rng, chosen, series.series_uid, series_dirs, top)
            if path not in used:
                break
        used.add(path)
        names.append(path)
    return names


def _one_name(rng, style: str, series_uid: str, series_dirs: dict[str, str], top: str) -> Path:
    number = int(rng.integers(1, 99999))
    if style == "series_folders":
        folder = series_dirs.setdefault(series_uid, f"S{int(rng.integers(1, 99999)):05d}")
        return Path("DICOM", top, folder, f"IM{number:05d}")
    if style == "hex_tree":
        return Path(f"{int(rng.integers(256)):02x}", f"{int(rng.integers(256)):02x}", f"{int(rng.integers(16**12)):012x}")
    return Path(f"{top.lower()}", f"{number:05d}.dcm")
