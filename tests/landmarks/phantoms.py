"""Tiny phantom datasets for the stage 1 tests, generated once per test session (lib.phantom).

Small matrices (256) keep generation to seconds per study; datasets are per acquisition (contiguous / angled) so a
test knows which it gets.
"""
from __future__ import annotations

from pathlib import Path

_CACHE: dict[tuple, Path] = {}


def phantom_set(tmp_path_factory, acquisition: str = "contiguous", n: int = 1, seed: int = 11) -> Path:
    """``DIR`` with ``DIR/dicom/<id>``, ``DIR/truth/<id>.json`` and ``DIR/truth/<id>_labels.nii.gz`` (n studies)."""
    key = (acquisition, n, seed)
    if key not in _CACHE:
        from lib.phantom import PhantomConfig, generate_dataset

        out = tmp_path_factory.mktemp(f"phantoms_{acquisition}_{n}_{seed}")
        generate_dataset(out, n, seed, PhantomConfig(acquisition=acquisition, max_matrix=256, workers=1))
        _CACHE[key] = out
    return _CACHE[key]


def study_ids(data: Path) -> list[str]:
    return sorted(p.name[: -len(".json")] for p in (data / "truth").glob("*.json"))
