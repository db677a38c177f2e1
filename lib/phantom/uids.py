"""Deterministic identifiers and random generators derived from (seed, study index)."""
from __future__ import annotations

import hashlib

import numpy as np

#: Study ids look like ``phantom_0007``.
STUDY_ID_FORMAT = "phantom_{index:04d}"


def study_id(index: int) -> str:
    """The study id of the study with this index."""
    return STUDY_ID_FORMAT.format(index=index)


def study_rng(seed: int, index: int, stream: str) -> np.random.Generator:
    """An independent generator for one purpose (``stream``) of one study; same inputs, same numbers."""
    digest = hashlib.sha256(f"{seed}/{index}/{stream}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))


def make_uid(seed: int, index: int, role: str) -> str:
    """A DICOM UID under the 2.25 (UUID-derived) root, unique per (seed, index, role) and reproducible."""
    digest = hashlib.sha256(f"phantom-uid/{seed}/{index}/{role}".encode()).digest()
    return "2.25." + str(int.from_bytes(digest[:16], "big"))
