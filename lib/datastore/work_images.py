"""A DICOM study turned into the work image MONAI Label serves, and the sidecar that keeps its true geometry.

For each study folder the product writes, under a work folder it owns (never inside the study's own files):

* ``images/<study_id>.nii.gz``: the axial T2 series stacked in canonical order, float32 ``[col, row, slice]``,
  RAS affine (exact for contiguous stacks, nominal for angled blocks: docs/CONTRACTS.md);
* ``geometry/<study_id>.json``: study/series UIDs, acquisition, blocks, each slice's own geometry and SOP UID,
  the warnings of ingestion and the signature of the source files (so an unchanged study is not re-read).

Files are written to a temporary name and renamed, so a crash never leaves a half-written work image.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from lib.dicom import AxialSeries, load_axial_series, slice_geometry_json, write_nifti
from lib.dicom.errors import StudyError

IMAGE_SUFFIX = ".nii.gz"


@dataclass(frozen=True)
class WorkImage:
    """Where a study's work image and geometry sidecar live, and the summary stored in its image info."""

    study_id: str
    image_path: Path
    geometry_path: Path
    summary: dict


def study_signature(study_dir: Path) -> str:
    """Hash of the relative names, sizes and modification times of every file under ``study_dir``."""
    digest = hashlib.sha1()
    for root, dirs, files in os.walk(study_dir):
        dirs.sort()
        for name in sorted(files):
            path = Path(root) / name
            try:
                st = path.stat()
            except OSError:
                continue
            digest.update(f"{path.relative_to(study_dir)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def series_summary(series: AxialSeries, signature: str) -> dict:
    """The small, JSON-able facts about a study kept in the datastore's image info."""
    spacing = series.slices[0].geometry.pixel_spacing_mm
    return {
        "study_id": series.study_id,
        "study_uid": series.study_uid,
        "series_uid": series.series_uid,
        "acquisition": series.acquisition,
        "n_slices": len(series.slices),
        "n_blocks": len(series.blocks),
        "pixel_spacing_mm": [float(spacing[0]), float(spacing[1])],
        "slice_thickness_mm": float(series.slices[0].geometry.slice_thickness_mm),
        "manufacturer": series.info.manufacturer,
        "series_description": series.info.description,
        "has_sagittal": series.sagittal is not None,
        "warnings": list(series.warnings),
        "source_signature": signature,
    }


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_work_image(series: AxialSeries, images_dir: Path, geometry_dir: Path, signature: str) -> WorkImage:
    """Write the stacked work image and its geometry sidecar for a loaded series (atomically)."""
    images_dir.mkdir(parents=True, exist_ok=True)
    geometry_dir.mkdir(parents=True, exist_ok=True)
    image_path = images_dir / f"{series.study_id}{IMAGE_SUFFIX}"
    geometry_path = geometry_dir / f"{series.study_id}.json"
    summary = series_summary(series, signature)
    sidecar = dict(summary, blocks=[list(b) for b in series.blocks], slices=slice_geometry_json(series))
    volume, affine = series.stacked_volume()
    tmp_image = image_path.with_name(f".{image_path.name[:-len(IMAGE_SUFFIX)]}.tmp{IMAGE_SUFFIX}")
    write_nifti(volume, affine, tmp_image)
    _atomic_write_text(geometry_path, json.dumps(sidecar, indent=1))
    os.replace(tmp_image, image_path)
    return WorkImage(series.study_id, image_path, geometry_path, summary)


def read_sidecar(geometry_path: Path) -> dict:
    """The geometry sidecar of a work image (see module docstring)."""
    return json.loads(Path(geometry_path).read_text())


def ingest_study(study_dir: Path, study_id: str, images_dir: Path, geometry_dir: Path) -> WorkImage:
    """Load a study's axial T2 series and write its work image, unless an up-to-date one exists.

    Raises ``StudyError`` (naming the study, the file and the reason) when the study cannot be served.
    """
    signature = study_signature(study_dir)
    geometry_path = geometry_dir / f"{study_id}.json"
    image_path = images_dir / f"{study_id}{IMAGE_SUFFIX}"
    if geometry_path.exists() and image_path.exists():
        try:
            sidecar = read_sidecar(geometry_path)
            if sidecar.get("source_signature") == signature:
                summary = {k: v for k, v in sidecar.items() if k not in ("blocks", "slices")}
                return WorkImage(study_id, image_path, geometry_path, summary)
        except (OSError, ValueError):
            pass  # unreadable sidecar: rebuild it
    series = load_axial_series(study_dir, study_id=study_id)
    return write_work_image(series, images_dir, geometry_dir, signature)


__all__ = ["StudyError", "WorkImage", "ingest_study", "read_sidecar", "study_signature", "write_work_image"]
