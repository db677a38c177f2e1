"""NIfTI files for work images and labels (nibabel).

Data contract: ``volume[i, j, k]`` with i = column, j = row, k = slice in canonical order; ``affine`` maps
(i, j, k) to RAS millimetres (``stacked_affine_ras``), written as both qform and sform (code 1, scanner),
units mm. Labels are stored as uint8 (0 background, 1 dural_sac, 2 disc), images as float32.
"""
from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

_SCANNER = 1


def write_nifti(volume: np.ndarray, affine: np.ndarray, path: str | Path) -> Path:
    """Write ``volume`` with ``affine`` to ``path`` (.nii or .nii.gz); returns the path.

    Boolean and integer volumes are labels and are written as uint8 (values must lie in 0..255); floating
    volumes are images and are written as float32. Parent folders are created.
    """
    path = Path(path)
    data = _storage_array(np.asarray(volume))
    affine = _checked_affine(affine)
    image = nib.Nifti1Image(data, affine)
    image.set_qform(affine, code=_SCANNER)
    image.set_sform(affine, code=_SCANNER)
    image.header.set_xyzt_units("mm")
    image.header.set_data_dtype(data.dtype)
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(image, str(path))
    return path


def read_nifti(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(array in its stored dtype, 4x4 affine to RAS mm) of a NIfTI file."""
    image = nib.load(str(path))
    return np.asanyarray(image.dataobj), np.asarray(image.affine, dtype=float)


def read_image_nifti(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """A work image as float32, and its affine."""
    data, affine = read_nifti(path)
    return data.astype(np.float32, copy=False), affine


def read_label_nifti(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """A label volume as uint8, and its affine; refuses non-integer values or values outside 0..255."""
    data, affine = read_nifti(path)
    integral = np.issubdtype(data.dtype, np.integer) or (
        np.all(np.isfinite(data)) and np.array_equal(data, np.round(data))
    )
    if not integral:
        raise ValueError(f"{path}: label volume holds non-integer values ({data.dtype})")
    if data.size and (data.min() < 0 or data.max() > 255):
        raise ValueError(f"{path}: label values {data.min()}..{data.max()} do not fit uint8")
    return data.astype(np.uint8), affine


def _storage_array(volume: np.ndarray) -> np.ndarray:
    """uint8 for labels (bool/integer), float32 for images."""
    if volume.dtype == bool or np.issubdtype(volume.dtype, np.integer):
        if volume.size and (volume.min() < 0 or volume.max() > 255):
            raise ValueError(f"label volume values {volume.min()}..{volume.max()} do not fit uint8")
        return volume.astype(np.uint8)
    if np.issubdtype(volume.dtype, np.floating):
        return volume.astype(np.float32, copy=False)
    raise ValueError(f"cannot write a {volume.dtype} volume as NIfTI (labels: integer, images: float)")


def _checked_affine(affine: np.ndarray) -> np.ndarray:
    """A finite 4x4 float affine, or ValueError."""
    affine = np.asarray(affine, dtype=float)
    if affine.shape != (4, 4) or not np.all(np.isfinite(affine)):
        raise ValueError(f"affine must be a finite 4x4 matrix, got shape {affine.shape}")
    return affine
