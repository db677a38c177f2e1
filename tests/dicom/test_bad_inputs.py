"""Every kind of bad input gives a StudyError naming study, file and reason, or a warning and a usable series."""
import shutil

import numpy as np
import pydicom
import pytest
from pydicom import config
from pydicom.pixel_data_handlers import numpy_handler
from pydicom.uid import RLELossless

from lib.dicom import StudyError, load_axial_series

from .factory import (
    SeriesSpec,
    StudyWriter,
    axial_stack,
    enhanced_mr,
    make_dataset,
    sagittal_stack,
    slice_pixels,
    with_spec,
)


def study_with_t2(tmp_path, n=6, name="study1", seed=11):
    writer = StudyWriter(tmp_path / name, seed=seed)
    spec = SeriesSpec()
    return writer, spec, writer.write_series(spec, axial_stack(n))


def load_error(root, **kwargs) -> StudyError:
    with pytest.raises(StudyError) as info:
        load_axial_series(root, **kwargs)
    return info.value


def test_str_names_study_file_and_reason(tmp_path):
    error = StudyError("phantom_0003", tmp_path / "a" / "b" / "IM0001", "modality CT, not MR", root=tmp_path)
    assert str(error) == "study phantom_0003: file a/b/IM0001: modality CT, not MR"
    assert (error.study, error.file, error.reason) == ("phantom_0003", tmp_path / "a/b/IM0001", "modality CT, not MR")


def test_empty_folder(tmp_path):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    error = load_error(tmp_path / "empty")
    assert error.study == "empty" and error.file is None and "empty folder" in error.reason


def test_missing_folder(tmp_path):
    error = load_error(tmp_path / "nope", study_id="s9")
    assert error.study == "s9" and "does not exist" in error.reason


def test_non_dicom_file_is_skipped_with_a_warning(tmp_path):
    writer, spec, written = study_with_t2(tmp_path)
    junk = writer.root / "notes.txt"
    junk.write_text("not an image\n" * 50)
    (writer.root / "DICOMDIR").write_bytes(b"\0" * 300)  # skipped by name, silently
    series = load_axial_series(writer.root)
    assert len(series.slices) == 6
    assert any(w.startswith("notes.txt: skipped: not a DICOM file") for w in series.warnings)
    assert not any("DICOMDIR" in w for w in series.warnings)


def test_only_non_dicom_files(tmp_path):
    root = tmp_path / "junk"
    root.mkdir()
    (root / "a.jpg").write_bytes(np.random.default_rng(0).integers(0, 255, 5000, dtype=np.uint8).tobytes())
    (root / "b.txt").write_text("hello")
    error = load_error(root)
    assert error.file == root / "a.jpg" and "no readable DICOM image among 2 file(s): not a DICOM file" in error.reason


@pytest.mark.parametrize("cut", ["pixels", "header"])
def test_truncated_slice_is_skipped_and_named(tmp_path, cut):
    writer, spec, written = study_with_t2(tmp_path)
    uid, path = written[2]
    raw = path.read_bytes()
    pixel_data_tag = raw.rindex(b"\xe0\x7f\x10\x00")
    path.write_bytes(raw[: len(raw) - 60] if cut == "pixels" else raw[:pixel_data_tag])
    series = load_axial_series(writer.root)
    assert [s.sop_instance_uid for s in series.slices] == [u for u, _ in written if u != uid]
    relative = path.relative_to(writer.root).as_posix()
    expected = "truncated pixel data" if cut == "pixels" else "truncated file: it ends before its pixel data"
    assert any(w.startswith(f"{relative}: slice missing from the axial series: {expected}") for w in series.warnings)


def test_file_truncated_inside_its_header(tmp_path):
    writer, spec, written = study_with_t2(tmp_path)
    uid, path = written[2]
    path.write_bytes(path.read_bytes()[:700])  # cut before SeriesInstanceUID
    series = load_axial_series(writer.root)
    assert len(series.slices) == 5
    relative = path.relative_to(writer.root).as_posix()
    assert f"{relative}: skipped: truncated file: it ends before its pixel data (series unknown: possibly a " \
           "missing slice)" in series.warnings


def test_all_slices_unreadable(tmp_path):
    writer, spec, written = study_with_t2(tmp_path, n=3)
    for _, path in written:
        path.write_bytes(path.read_bytes()[:-40])
    error = load_error(writer.root)
    assert "could be read: truncated pixel data" in error.reason and error.file in [p for _, p in written]


def test_ct_study(tmp_path):
    writer = StudyWriter(tmp_path / "ct1")
    written = writer.write_series(SeriesSpec(modality="CT", echo_time=None, repetition_time=None), axial_stack(5))
    error = load_error(writer.root)
    assert error.reason == "modality CT, not MR" and error.file in [p for _, p in written]
    assert str(error).startswith("study ct1: file ") and str(error).endswith(": modality CT, not MR")


def test_sagittal_only(tmp_path):
    writer = StudyWriter(tmp_path / "sag")
    writer.write_series(SeriesSpec(description="SAG T2"), sagittal_stack())
    error = load_error(writer.root)
    assert error.reason.startswith("no axial series: found sagittal series #3 'SAG T2' (7 images)")


@pytest.mark.parametrize("keyword, tag", [
    ("PixelSpacing", "(0028,0030)"), ("ImageOrientationPatient", "(0020,0037)"),
    ("ImagePositionPatient", "(0020,0032)"),
])
def test_missing_geometry_tag(tmp_path, keyword, tag):
    writer, spec, written = study_with_t2(tmp_path)
    _, path = written[3]
    ds = pydicom.dcmread(path)
    delattr(ds, keyword)
    ds.save_as(path)
    error = load_error(writer.root)
    assert error.file == path and f"missing {keyword} {tag}" in error.reason


def test_missing_geometry_in_every_file(tmp_path):
    writer, spec, written = study_with_t2(tmp_path)
    for _, path in written:
        ds = pydicom.dcmread(path)
        del ds.ImageOrientationPatient
        ds.save_as(path)
    error = load_error(writer.root)
    assert error.reason.startswith("no axial series: found series #3")
    assert "missing ImageOrientationPatient (0020,0037)" in error.reason and error.file in [p for _, p in written]


def test_compressed_series_is_decoded(tmp_path):
    writer, spec, written = study_with_t2(tmp_path)
    for _, path in written:
        ds = pydicom.dcmread(path)
        ds.compress(RLELossless)
        ds.save_as(path)
    series = load_axial_series(writer.root)
    assert series.info.transfer_syntax_uid == RLELossless
    for k, item in enumerate(series.slices):
        np.testing.assert_array_equal(item.pixels, slice_pixels(k))


def test_compressed_series_without_a_decoder_names_the_transfer_syntax(tmp_path, monkeypatch):
    writer, spec, written = study_with_t2(tmp_path)
    for _, path in written:
        ds = pydicom.dcmread(path)
        ds.compress(RLELossless)
        ds.save_as(path)
    monkeypatch.setattr(config, "pixel_data_handlers", [numpy_handler])
    error = load_error(writer.root)
    assert "compressed transfer syntax RLE Lossless (1.2.840.10008.1.2.5) cannot be decoded" in error.reason
    assert error.file in [p for _, p in written]


def test_enhanced_mr_is_read_frame_by_frame(tmp_path):
    writer = StudyWriter(tmp_path / "enhanced")
    planes = axial_stack(6, tilt_deg=10.0)
    spec = SeriesSpec(slope=2.0, intercept=1.0)
    path = writer.write_dataset(enhanced_mr(spec, planes[::-1], writer.study_uid))  # frames superior first
    series = load_axial_series(writer.root)
    assert [s.frame_number for s in series.slices] == [6, 5, 4, 3, 2, 1]
    assert all(s.file_path == path for s in series.slices)
    for k, item in enumerate(series.slices):
        np.testing.assert_allclose(item.geometry.position_lps_mm, planes[k].position, atol=1e-5)
        np.testing.assert_array_equal(item.pixels, slice_pixels(5 - k) * 2.0 + 1.0)
    assert series.info.echo_time_ms == 100.0 and series.info.repetition_time_ms == 4000.0


def test_enhanced_mr_without_functional_groups_is_refused(tmp_path):
    writer = StudyWriter(tmp_path / "enhanced_bare")
    path = writer.write_dataset(enhanced_mr(SeriesSpec(), axial_stack(4), writer.study_uid, with_groups=False))
    error = load_error(writer.root)
    assert error.file == path and "without a PerFrameFunctionalGroupsSequence item per frame" in error.reason


def test_duplicate_sop_instance_uids_keep_one(tmp_path):
    writer, spec, written = study_with_t2(tmp_path)
    uid, path = written[1]
    copy = writer.root / "zz_copy" / "IM_DUP"
    copy.parent.mkdir()
    shutil.copy(path, copy)
    series = load_axial_series(writer.root)
    assert [s.sop_instance_uid for s in series.slices] == [u for u, _ in written]
    duplicate_note = [w for w in series.warnings if f"duplicate SOP instance UID {uid}" in w]
    assert len(duplicate_note) == 1 and duplicate_note[0].startswith("zz_copy/IM_DUP: skipped")


def test_inconsistent_image_size_is_refused(tmp_path):
    writer, spec, written = study_with_t2(tmp_path)
    odd = make_dataset(with_spec(spec, rows=16, cols=16), axial_stack(7)[6], 0, writer.study_uid, 7)
    odd.SeriesInstanceUID = spec.series_uid
    path = writer.write_dataset(odd)
    error = load_error(writer.root)
    assert error.file == path and "inconsistent image size within the series: 8x10" in error.reason


def test_non_image_object_is_skipped(tmp_path):
    writer, spec, written = study_with_t2(tmp_path)
    sr = make_dataset(with_spec(spec, modality="SR"), axial_stack(1)[0], 0, writer.study_uid, 1)
    del sr.PixelData
    path = writer.write_dataset(sr)
    series = load_axial_series(writer.root)
    assert len(series.slices) == 6
    assert any(w.startswith(path.relative_to(writer.root).as_posix() + ": skipped: non-image object (Modality SR")
               for w in series.warnings)


def test_repeated_positions_keep_the_longer_echo(tmp_path):
    writer, spec, written = study_with_t2(tmp_path)
    first_echo = make_dataset(with_spec(spec, echo_time=80.0), axial_stack(6)[2], 9, writer.study_uid, 99)
    first_echo.SeriesInstanceUID = spec.series_uid
    path = writer.write_dataset(first_echo)
    series = load_axial_series(writer.root)
    assert [s.sop_instance_uid for s in series.slices] == [u for u, _ in written]
    relative = path.relative_to(writer.root).as_posix()
    assert any(w.startswith(f"{relative}: skipped: same position") for w in series.warnings)


def test_too_few_slices(tmp_path):
    writer, spec, written = study_with_t2(tmp_path, n=2)
    error = load_error(writer.root)
    assert "only 2 image(s): an axial series needs at least 3" in error.reason
    assert len(load_axial_series(writer.root, min_slices=2).slices) == 2
