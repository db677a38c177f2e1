"""Small phantom datasets written once per test session (256 matrix, one study per acquisition kind)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest

from lib.phantom import PhantomConfig, generate_dataset
from lib.spine.geometry import SliceGeometry

SEED = 20240


@dataclass
class WrittenStudy:
    """A study read back from disk: its truth, labels and every DICOM dataset (pixel data not loaded)."""

    root: Path
    truth: dict
    labels: np.ndarray
    affine: np.ndarray
    datasets: list[pydicom.Dataset]

    def series(self, series_uid: str) -> list[pydicom.Dataset]:
        return [d for d in self.datasets if d.SeriesInstanceUID == series_uid]

    def by_sop(self) -> dict[str, pydicom.Dataset]:
        return {d.SOPInstanceUID: d for d in self.datasets}


def geometry_of(ds: pydicom.Dataset) -> SliceGeometry:
    """SliceGeometry from the header of one DICOM image."""
    iop = [float(x) for x in ds.ImageOrientationPatient]
    return SliceGeometry(
        tuple(float(x) for x in ds.ImagePositionPatient), tuple(iop[:3]), tuple(iop[3:]),
        tuple(float(x) for x in ds.PixelSpacing), int(ds.Rows), int(ds.Columns), float(ds.SliceThickness),
    )


def read_written(out: Path, study_id: str) -> WrittenStudy:
    truth = json.loads((out / "truth" / f"{study_id}.json").read_text())
    image = nib.load(str(out / "truth" / f"{study_id}_labels.nii.gz"))
    root = out / "dicom" / study_id
    files = [p for p in root.rglob("*") if p.is_file()]
    datasets = [pydicom.dcmread(str(p), stop_before_pixels=True) for p in files]
    for ds, path in zip(datasets, files):
        ds.filename = str(path)
    return WrittenStudy(root, truth, np.asarray(image.dataobj), image.affine, datasets)


def _write(tmp_path_factory, name: str, config: PhantomConfig, n: int = 1) -> list[WrittenStudy]:
    out = tmp_path_factory.mktemp(name)
    ids = generate_dataset(out, n, SEED, config, preview=True)
    return [read_written(out, sid) for sid in ids]


@pytest.fixture(scope="session")
def contiguous_study(tmp_path_factory) -> WrittenStudy:
    """A contiguous axial study with every decoy series (sagittal T2, localizer, axial T1)."""
    config = PhantomConfig(acquisition="contiguous", max_matrix=256, workers=1, sagittal_t2_probability=1.0,
                           localizer_probability=1.0, axial_t1_probability=1.0)
    return _write(tmp_path_factory, "contiguous", config)[0]


@pytest.fixture(scope="session")
def angled_study(tmp_path_factory) -> WrittenStudy:
    """An angled-blocks study without decoys."""
    config = PhantomConfig(acquisition="angled", max_matrix=256, workers=1, sagittal_t2_probability=0.0,
                           localizer_probability=0.0, axial_t1_probability=0.0)
    return _write(tmp_path_factory, "angled", config)[0]


@pytest.fixture(scope="session", params=["contiguous", "angled"])
def any_study(request, contiguous_study, angled_study) -> WrittenStudy:
    return contiguous_study if request.param == "contiguous" else angled_study
