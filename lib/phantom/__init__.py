"""Synthetic lumbar spine MRI studies with known truth (no patient data exists on these machines).

Public API:

* ``PhantomConfig`` (frozen dataclass) and ``AcquisitionMode``;
* ``generate_study(index, seed, config) -> PhantomStudy``: one study in memory (series pixels, truth dict,
  label volume [col, row, slice] in canonical slice order, its RAS affine, anatomy);
* ``write_study(study, out_dir)``: put it on disk (``dicom/<study_id>/**``, ``truth/<study_id>.json``,
  ``truth/<study_id>_labels.nii.gz``);
* ``generate_dataset(out_dir, n, seed, config, preview=False) -> list[str]``: studies 0..n-1 on disk.

Importing this package does nothing else; it needs numpy, scipy, pydicom, nibabel (matplotlib for previews)
and never imports torch or monailabel.
"""
from lib.phantom.config import AcquisitionMode, PhantomConfig
from lib.phantom.dataset import generate_dataset
from lib.phantom.study import PhantomStudy, generate_study
from lib.phantom.writer import write_study

__all__ = ["AcquisitionMode", "PhantomConfig", "PhantomStudy", "generate_dataset", "generate_study", "write_study"]
