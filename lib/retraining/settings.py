"""Settings of continuous retraining and the promotion gate (``--conf retrain_<field> VALUE``), parsed once."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from lib.conf import from_conf


@dataclass(frozen=True)
class RetrainSettings:
    """``labels``: new final labels of a model's kinds that queue its retraining (0: never on its own).

    ``val_fraction``: share of labelled studies put in the fixed validation split. ``tolerance``: how much lower a
    candidate's validation metric may be and still count as "not worse". ``promote_unvalidated``: serve a candidate
    that could not be compared (no validation study yet) instead of keeping it aside. ``gated``: off, trainers
    publish the way they would without the gate. ``models``: models retrained on their own (empty: all).
    """

    labels: int = 5
    val_fraction: float = 0.2
    tolerance: float = 0.0
    promote_unvalidated: bool = False
    gated: bool = True
    models: tuple[str, ...] = ()

    def __post_init__(self):
        if self.labels < 0:
            raise ValueError(f"--conf retrain_labels must be >= 0, got {self.labels}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"--conf retrain_val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.tolerance < 0:
            raise ValueError(f"--conf retrain_tolerance must be >= 0, got {self.tolerance}")

    @classmethod
    def from_conf(cls, conf: Mapping[str, str] | None) -> "RetrainSettings":
        return from_conf(cls, conf, prefix="retrain_")

    def retrains(self, model: str) -> bool:
        return self.labels > 0 and (not self.models or model in self.models)
