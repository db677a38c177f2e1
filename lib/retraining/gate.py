"""The promotion gate: is a newly trained model not worse than the one served, on the same validation studies?

``decide`` is pure: metrics in, decision and its reason out. Metrics are ``{name: value}``, higher is better (Dice,
kappa, AUROC) unless named lower-is-better (errors in mm); a candidate is promoted when no shared metric is worse
than the served model's by more than ``tolerance``. ``publish`` and ``keep_aside`` move a candidate's files (weights
last, so a reader that sees new weights also sees their new card).
"""
from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Collection, Mapping

WEIGHT_SUFFIXES = (".pt", ".pth", ".ts", ".joblib", ".onnx", ".safetensors")

Metrics = Mapping[str, float]


@dataclass(frozen=True)
class Decision:
    promoted: bool
    reason: str

    def as_dict(self) -> dict:
        return asdict(self)


def _fmt(metrics: Metrics) -> str:
    return ", ".join(f"{k} {v:.4f}" for k, v in sorted(metrics.items()))


def _valid(metrics: Metrics | None) -> dict[str, float]:
    return {k: float(v) for k, v in (metrics or {}).items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}


def decide(candidate: Metrics | None, served: Metrics | None, *, served_exists: bool, n_validation: int,
           tolerance: float = 0.0, promote_unvalidated: bool = False,
           lower_is_better: Collection[str] = ()) -> Decision:
    """Promote or keep aside, with the reason in words (it goes to the model history).

    Metrics are higher-is-better, except those named in ``lower_is_better`` (by full name or by the part after the
    last ".", e.g. ``model_median_error_mm`` for ``landmarks.model_median_error_mm``).
    """
    cand, serv = _valid(candidate), _valid(served)
    if not served_exists:
        return Decision(True, "no model was served yet")
    if not cand:
        why = (f"candidate could not be validated ({n_validation} validation studies, no metric)")
        return Decision(promote_unvalidated, why + ("; promoted (promote_unvalidated)" if promote_unvalidated else
                                                    "; the served model stays"))
    if not serv:
        return Decision(True, f"served model has no metric on this split; candidate {_fmt(cand)}")
    shared = sorted(set(cand) & set(serv))
    if not shared:
        return Decision(promote_unvalidated, f"no metric in common (candidate {sorted(cand)}, served {sorted(serv)})")
    lower = {k for k in shared if k in lower_is_better or k.rsplit(".", 1)[-1] in lower_is_better}
    worse = [k for k in shared if (cand[k] > serv[k] + tolerance if k in lower else cand[k] < serv[k] - tolerance)]
    where = f"on {n_validation} validation studies" if n_validation else "on the trainer's own validation"
    if worse:
        detail = "; ".join(f"{k} {cand[k]:.4f} {'>' if k in lower else '<'} served {serv[k]:.4f}" for k in worse)
        return Decision(False, f"worse than the served model {where}: {detail}")
    detail = "; ".join(f"{k} {cand[k]:.4f} {'<=' if k in lower else '>='} served {serv[k]:.4f}" for k in shared)
    return Decision(True, f"not worse than the served model {where}: {detail}" +
                    (f" (tolerance {tolerance})" if tolerance else ""))


def _publish_order(files: list[Path]) -> list[Path]:
    return sorted(files, key=lambda p: (p.name.endswith(WEIGHT_SUFFIXES), p.name))


def candidate_files(candidate_dir: Path) -> list[Path]:
    return sorted(p for p in candidate_dir.iterdir() if p.is_file() and not p.name.startswith("."))


def publish(candidate_dir: Path, model_dir: Path) -> list[str]:
    """Move every file of the candidate into the served folder (atomic per file, weights last); returns the names."""
    names = []
    for f in _publish_order(candidate_files(candidate_dir)):
        os.replace(f, model_dir / f.name)
        names.append(f.name)
    shutil.rmtree(candidate_dir, ignore_errors=True)
    return names


def keep_aside(candidate_dir: Path, destination: Path, record: Mapping) -> Path:
    """Move the candidate folder to ``destination`` and write why it was not served in ``reason.json``."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    os.replace(candidate_dir, destination)
    (destination / "reason.json").write_text(json.dumps(dict(record), indent=1, default=str))
    return destination
