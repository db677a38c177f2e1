"""Finding the study folders under a root: one study per immediate sub-folder holding DICOM at any depth.

A root that is itself one study is recognised too: DICOM files directly in it, or several sub-folders that all
hold the same StudyInstanceUID (a study stored as one folder per series).
"""
from __future__ import annotations

import os
from pathlib import Path

from lib.dicom.headers import is_dicom_file, read_study_uid


def scan_study_folders(root: Path) -> dict[str, Path]:
    """``{study_id: folder}`` for the studies under ``root``; the study id is the folder name.

    Sub-folders without any DICOM file are left out; a root that is itself one study maps its own name to
    itself. Raises NotADirectoryError when ``root`` is not a folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise NotADirectoryError(f"studies root {root} is not a folder")
    if any(is_dicom_file(p) for p in _files_directly_in(root)):
        return {root.name: root}
    studies: dict[str, Path] = {}
    first_files: list[Path] = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        first = first_dicom_file(sub)
        if first is not None:
            studies[sub.name] = sub
            first_files.append(first)
    if len(studies) > 1 and _one_study(first_files):
        return {root.name: root}
    return studies


def first_dicom_file(folder: Path) -> Path | None:
    """The first DICOM file (sorted walk, any depth) under ``folder``, or None."""
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if is_dicom_file(path):
                return path
    return None


def _files_directly_in(folder: Path) -> list[Path]:
    """Regular files directly inside ``folder``, sorted."""
    return sorted(p for p in folder.iterdir() if p.is_file())


def _one_study(files: list[Path]) -> bool:
    """True when every file names the same (non-empty) StudyInstanceUID."""
    uids = {read_study_uid(p) for p in files}
    return len(uids) == 1 and None not in uids
