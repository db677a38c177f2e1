"""What is graded at each level: three structures, five regions (canal, and each foramen and facet per side).

A region is where a crop is centred (a stage 1 landmark) and which classifier grades it. Left and right regions of
one structure share one classifier: right-side crops are mirrored so that they look like left-side ones.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from lib.spine.levels import CANAL_GRADES, Side


class Structure(str, Enum):
    """A graded structure; its value names its classifier (``model/grading_<value>.pt``)."""

    CANAL = "canal"
    FORAMEN = "foramen"
    FACET = "facet"

    def __str__(self) -> str:
        return self.value

    @property
    def class_names(self) -> tuple[str, ...]:
        """Output classes of its classifier, in class-index order."""
        if self is Structure.CANAL:
            return tuple(str(g) for g in CANAL_GRADES)
        return ("normal", self.positive_finding)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def positive_finding(self) -> str:
        """Key of the boolean finding in grades.json (binary structures only)."""
        return {"foramen": "stenosis", "facet": "arthropathy"}.get(self.value, "")


@dataclass(frozen=True)
class Region:
    """One graded region of a level.

    name: key in grades.json and in grade labels (``central_canal``, ``foramen_left`` ...).
    landmark: stage 1 landmark the crop is centred on.
    mirrored: True for right-side regions, whose crops are flipped left-right.
    """

    name: str
    structure: Structure
    landmark: str
    side: Side | None = None

    @property
    def mirrored(self) -> bool:
        return self.side is Side.RIGHT


REGIONS: tuple[Region, ...] = (
    Region("central_canal", Structure.CANAL, "dural_sac_centroid"),
    Region("foramen_left", Structure.FORAMEN, "foramen_left", Side.LEFT),
    Region("foramen_right", Structure.FORAMEN, "foramen_right", Side.RIGHT),
    Region("facet_left", Structure.FACET, "facet_left", Side.LEFT),
    Region("facet_right", Structure.FACET, "facet_right", Side.RIGHT),
)

REGION_BY_NAME: dict[str, Region] = {r.name: r for r in REGIONS}


def regions_of(structure: Structure) -> tuple[Region, ...]:
    return tuple(r for r in REGIONS if r.structure is structure)
