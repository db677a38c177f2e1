"""Settings of the active learning strategies and scoring methods (``--conf activelearning_<field> VALUE``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from lib.conf import from_conf


@dataclass(frozen=True)
class ActiveLearningSettings:
    """``hold_minutes``: how long a study handed to one annotator is not handed to another.

    ``score_batch``: studies scored per background scoring run. ``score_every_minutes``: how often the server checks
    for studies to (re)score besides after each next-sample and training (0: only then).
    ``epistemic_samples``: Monte Carlo dropout passes; ``epistemic_dropout``: their dropout probability;
    ``epistemic_max_slices``: slices per study (evenly spaced) that are scored.
    ``grading_weights``: weights of canal entropy, BiT/tree disagreement and foramen/facet uncertainty.
    """

    hold_minutes: float = 60.0
    score_batch: int = 4
    score_every_minutes: float = 5.0
    epistemic_samples: int = 6
    epistemic_dropout: float = 0.2
    epistemic_max_slices: int = 12
    grading_weights: tuple[float, ...] = (1.0, 1.0, 0.5)

    def __post_init__(self):
        if self.epistemic_samples < 2:
            raise ValueError(f"--conf activelearning_epistemic_samples must be >= 2, got {self.epistemic_samples}")
        if not 0.0 < self.epistemic_dropout < 1.0:
            raise ValueError(f"--conf activelearning_epistemic_dropout must be in (0, 1), got {self.epistemic_dropout}")
        if self.score_batch < 1 or self.epistemic_max_slices < 1:
            raise ValueError("--conf activelearning_score_batch and activelearning_epistemic_max_slices must be >= 1")
        if len(self.grading_weights) != 3 or min(self.grading_weights) < 0 or sum(self.grading_weights) <= 0:
            raise ValueError(f"--conf activelearning_grading_weights needs 3 non-negative weights, "
                             f"got {self.grading_weights}")

    @classmethod
    def from_conf(cls, conf: Mapping[str, str] | None) -> "ActiveLearningSettings":
        return from_conf(cls, conf, prefix="activelearning_")

    @property
    def hold_seconds(self) -> float:
        return self.hold_minutes * 60.0
