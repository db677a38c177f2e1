"""Real MR DICOM files shipped in packages: each is read, or refused with a clear StudyError, never a crash.

Sources: pydicom's own test files, pydicom-data (imported as ``data_store``; looked up directly, because
pydicom 2.4's lookup of external sources needs pkg_resources and would try to download missing files), and
nibabel's ``nibabel/nicom/tests/data``. Nothing here may touch the network.
"""
import gzip
import shutil
import socket
from pathlib import Path

import nibabel
import numpy as np
import pydicom
import pytest

from lib.dicom import StudyError, load_axial_series
from lib.dicom.frames import plane_facts
from lib.dicom.headers import read_image_headers
from lib.dicom.pixels import read_stored_pixels

from .factory import SeriesSpec, StudyWriter, axial_stack

PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
NIBABEL_FILES = Path(nibabel.__file__).parent / "nicom" / "tests" / "data"
MR_SMALL_VARIANTS = [
    "MR_small.dcm", "MR_small_RLE.dcm", "MR_small_bigendian.dcm", "MR_small_expb.dcm", "MR_small_implicit.dcm",
    "MR_small_jp2klossless.dcm", "MR_small_jpeg_ls_lossless.dcm", "MR_small_padded.dcm",
]


def pydicom_data_dir() -> Path | None:
    try:
        import data_store  # the pydicom-data package
    except ImportError:
        return None
    return Path(data_store.__file__).parent / "data"


def package_file(name: str) -> Path:
    """A test file from pydicom, pydicom-data or nibabel, or skip when the package does not ship it."""
    for folder in (PYDICOM_FILES, pydicom_data_dir(), NIBABEL_FILES):
        if folder is not None and (folder / name).is_file():
            return folder / name
    pytest.skip(f"{name} is not shipped by the installed packages (pydicom-data missing?)")


def study_of(tmp_path: Path, *names: str) -> Path:
    """A study folder holding copies of the named files (gunzipped), under odd names."""
    root = tmp_path / "real_study"
    for i, name in enumerate(names):
        source = package_file(name)
        target = root / f"sub{i}" / f"IMG{i:04d}"
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.suffix == ".gz":
            with gzip.open(source) as packed:
                target.write_bytes(packed.read())
        else:
            shutil.copy(source, target)
    return root


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("DICOM ingestion tried to open a network connection")
    monkeypatch.setattr(socket.socket, "connect", refuse)


def refusal(root: Path, **kwargs) -> StudyError:
    with pytest.raises(StudyError) as info:
        load_axial_series(root, **kwargs)
    assert info.value.file is not None and info.value.file.is_file()
    return info.value


@pytest.mark.parametrize("name", MR_SMALL_VARIANTS)
def test_mr_small_variants_decode_to_the_same_pixels(tmp_path, name):
    root = study_of(tmp_path, name)
    assert "only 1 image(s): an axial series needs at least 3" in refusal(root).reason
    series = load_axial_series(root, min_slices=1)
    reference = pydicom.dcmread(package_file("MR_small.dcm")).pixel_array
    assert series.info.weighting == "T2" and series.info.echo_time_ms == 240.0
    np.testing.assert_array_equal(series.slices[0].pixels, reference.astype(np.float32))
    assert series.slices[0].geometry.pixel_spacing_mm == (0.3125, 0.3125)


def test_mr_truncated(tmp_path):
    error = refusal(study_of(tmp_path, "MR_truncated.dcm"), min_slices=1)
    assert "truncated pixel data" in error.reason


@pytest.mark.parametrize("name", ["emri_small.dcm", "emri_small_RLE.dcm", "emri_small_jpeg_2k_lossless.dcm",
                                  "emri_small_jpeg_2k_lossless_too_short.dcm", "emri_small_big_endian.dcm"])
def test_enhanced_mr_without_functional_groups_is_refused(tmp_path, name):
    error = refusal(study_of(tmp_path, name))
    assert "without a PerFrameFunctionalGroupsSequence item per frame" in error.reason


@pytest.mark.parametrize("name", ["MR2_UNCR.dcm", "MR2_J2KR.dcm", "MR2_J2KI.dcm"])
def test_pydicom_data_oblique_t1_is_refused_as_not_axial(tmp_path, name):
    error = refusal(study_of(tmp_path, name))
    assert error.reason == "no axial series: found sagittal series #1 'T1W/SE/1024' (1 images)"


def test_siemens_mr_with_overlays_is_refused_as_not_t2(tmp_path):
    error = refusal(study_of(tmp_path, "MR-SIEMENS-DICOM-WithOverlays.dcm"), min_slices=1)
    assert "not T2: EchoTime 2.81 ms, RepetitionTime 5.53 ms" in error.reason


@pytest.mark.parametrize("names", [("0.dcm", "1.dcm"), ("siemens_dwi_0.dcm.gz",), ("siemens_dwi_1000.dcm.gz",)])
def test_nibabel_siemens_dwi_mosaic_is_refused(tmp_path, names):
    error = refusal(study_of(tmp_path, *names))
    assert "Siemens mosaic (ImageType MOSAIC)" in error.reason and f"({len(names)} images)" in error.reason


def test_nibabel_header_only_file_is_refused_as_truncated(tmp_path):
    error = refusal(study_of(tmp_path, "csa_slice_norm.dcm"))
    assert error.reason.endswith("truncated file: it ends before its pixel data")


def test_nibabel_file_without_uids_is_refused(tmp_path):
    error = refusal(study_of(tmp_path, "decimal_rescale.dcm"))
    assert "incomplete header: missing SOPInstanceUID, SeriesInstanceUID" in error.reason


def test_nibabel_decimal_rescale_is_applied():
    path = package_file("decimal_rescale.dcm")
    ds = pydicom.dcmread(path)
    facts = plane_facts(ds)[0]
    assert (facts.rescale_slope, facts.rescale_intercept) == (float(ds.RescaleSlope), float(ds.RescaleIntercept))
    stored = read_stored_pixels(path)
    np.testing.assert_array_equal(stored, ds.pixel_array)


def test_nibabel_empty_slice_thickness_mip_is_read_then_refused(tmp_path):
    header = read_image_headers(package_file("slicethickness_empty_string.dcm"))[0]
    assert header.geometry is not None and header.geometry.slice_thickness_mm == 0.0
    assert header.transfer_syntax_uid == "1.2.840.10008.1.2.4.90"
    error = refusal(study_of(tmp_path, "slicethickness_empty_string.dcm"))
    assert "projection image (ImageType PROJECTION IMAGE" in error.reason


def test_philips_enhanced_mr_is_read_through_its_functional_groups(tmp_path):
    error = refusal(study_of(tmp_path, "philips_mprage.dcm.gz"))
    assert error.reason == "no axial series: found sagittal series #301 'MPRAGE_S2' (176 images)"


def test_philips_enhanced_mr_becomes_the_sagittal_series_of_a_study(tmp_path):
    root = study_of(tmp_path, "philips_mprage.dcm.gz")
    writer = StudyWriter(root / "axial", seed=2)
    writer.write_series(SeriesSpec(), axial_stack(5))
    series = load_axial_series(root)
    sagittal = series.sagittal
    assert sagittal is not None and sagittal.info.description == "MPRAGE_S2" and len(sagittal.slices) == 176
    xs = [float(g.origin @ (np.sign(g.normal[0]) * g.normal)) for g in sagittal.geometries()]
    assert xs == sorted(xs)
    frames = pydicom.dcmread(sagittal.slices[0].file_path).pixel_array
    first = sagittal.slices[0]
    np.testing.assert_array_equal(first.pixels, frames[first.frame_number - 1].astype(np.float32))


def every_packaged_dicom() -> list[Path]:
    folders = [PYDICOM_FILES, pydicom_data_dir(), NIBABEL_FILES]
    return sorted(p for f in folders if f is not None for p in f.glob("*.dcm"))


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom's own complaints about malformed test files
def test_every_packaged_dicom_file_loads_or_is_refused_cleanly(tmp_path):
    """The whole sweep: any file from the three packages, alone in a study, gives an AxialSeries or a StudyError."""
    outcomes = {}
    for i, source in enumerate(every_packaged_dicom()):
        root = tmp_path / f"s{i}"
        root.mkdir()
        shutil.copy(source, root / "IM1")
        try:
            load_axial_series(root, min_slices=1)
            outcomes[source.name] = "read"
        except StudyError as error:
            assert error.study == f"s{i}" and error.reason
            outcomes[source.name] = "refused"
    assert len(outcomes) > 50
    assert outcomes["MR_small.dcm"] == "read" and outcomes["MR_small_jp2klossless.dcm"] == "read"
