"""The one exception DICOM ingestion raises for a study it cannot use.

Every refusal names the study, the file that caused it (or None when no single file did, e.g. an empty
folder) and a reason a reader can act on, so that a datastore listing hundreds of studies can log one line per
bad study and carry on.
"""
from __future__ import annotations

from pathlib import Path


class StudyError(Exception):
    """A study folder that cannot be turned into an axial series.

    ``study`` is the study id (or folder path), ``file`` the offending file (None when no single file is to
    blame), ``reason`` what is wrong. ``str(e)`` names all three, e.g.
    ``study phantom_0003: file a/b/IM0001: modality CT, not MR``; a file inside ``root`` is shown relative to it.

    >>> str(StudyError("s1", None, "empty folder: no files"))
    'study s1: no file: empty folder: no files'
    """

    def __init__(self, study: str | Path, file: str | Path | None, reason: str, root: Path | None = None):
        super().__init__(str(study), None if file is None else Path(file), reason, root)
        self.study: str = str(study)
        self.file: Path | None = None if file is None else Path(file)
        self.reason: str = reason
        self.root: Path | None = None if root is None else Path(root)

    def __str__(self) -> str:
        return f"study {self.study}: {self.file_label()}: {self.reason}"

    def file_label(self) -> str:
        """``file <path>`` (relative to ``root`` when inside it) or ``no file``."""
        if self.file is None:
            return "no file"
        return f"file {display_path(self.file, self.root)}"


def display_path(path: Path, root: Path | None) -> str:
    """``path`` relative to ``root`` when it lies inside it (shorter messages), else as given."""
    if root is not None:
        try:
            return Path(path).relative_to(root).as_posix()
        except ValueError:
            pass
    return str(path)
