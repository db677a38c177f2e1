"""Lumbar disc levels and the sides and structures graded at each level.

Levels are named by the two vertebrae a disc sits between, counted up from the sacrum.
"""
from __future__ import annotations

from enum import Enum


class Level(str, Enum):
    """An intervertebral disc level of the lumbar spine, caudal to cranial order is LEVELS reversed."""

    L1_L2 = "L1-L2"
    L2_L3 = "L2-L3"
    L3_L4 = "L3-L4"
    L4_L5 = "L4-L5"
    L5_S1 = "L5-S1"

    def __str__(self) -> str:  # "L4-L5", not "Level.L4_L5"
        return self.value


#: Levels from cranial (L1-L2) to caudal (L5-S1), the order reports list them in.
LEVELS: tuple[Level, ...] = tuple(Level)

#: Levels from caudal to cranial: the order in which discs are counted up from the sacrum.
LEVELS_FROM_SACRUM: tuple[Level, ...] = tuple(reversed(LEVELS))


class Side(str, Enum):
    """Patient side. Left is +x in LPS patient coordinates."""

    LEFT = "left"
    RIGHT = "right"

    def __str__(self) -> str:
        return self.value


class CanalGrade(str, Enum):
    """Central canal stenosis grade (Schizas A / B / C / D collapsed to the four grades used for labels)."""

    NORMAL = "normal"
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"

    def __str__(self) -> str:
        return self.value

    @property
    def index(self) -> int:
        """Ordinal 0..3, used for weighted kappa and as a class index."""
        return list(CanalGrade).index(self)


CANAL_GRADES: tuple[CanalGrade, ...] = tuple(CanalGrade)

#: Landmark names per level, as in the phantom truth and the result JSON.
LANDMARK_NAMES: tuple[str, ...] = (
    "facet_left",
    "facet_right",
    "foramen_left",
    "foramen_right",
    "dural_sac_centroid",
    "disc_centroid",
)

#: Label values of the stage 1 segmentation.
LABEL_DURAL_SAC = 1
LABEL_DISC = 2
LABEL_NAMES: dict[str, int] = {"dural_sac": LABEL_DURAL_SAC, "disc": LABEL_DISC}
