"""Configuration of the synthetic phantom generator, parsed once into frozen dataclasses."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class AcquisitionMode(str, Enum):
    """How the axial T2 series of a study is acquired."""

    CONTIGUOUS = "contiguous"  # one axial stack from above L1-L2 into S1
    ANGLED = "angled"  # five blocks of 3-5 slices, each tilted to its disc
    MIXED = "mixed"  # each study draws one of the two from its seed

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class PhantomConfig:
    """What the generator makes; every random choice inside a study comes from (seed, index).

    Example:
        >>> config = PhantomConfig(acquisition="angled", max_matrix=320)
        >>> config.acquisition
        <AcquisitionMode.ANGLED: 'angled'>
    """

    acquisition: AcquisitionMode | str = AcquisitionMode.MIXED
    #: probability that a study of mode MIXED is acquired as one contiguous stack
    contiguous_fraction: float = 0.5
    #: probabilities of the decoy series beside the axial T2
    sagittal_t2_probability: float = 0.5
    localizer_probability: float = 0.6
    axial_t1_probability: float = 0.25
    #: largest acquisition matrix drawn (256..512); smaller values make faster, smaller studies
    max_matrix: int = 512
    #: shifts every study's age-like degeneration factor (standard-normal units): 0 gives the population
    #: prevalence, ~1.5 a dataset enriched in moderate and severe levels
    severity_boost: float = 0.0
    #: standard deviation (log scale) of the reader's error when grading the central canal
    canal_reader_noise: float = 0.06
    #: standard deviation of the reader's error on the foraminal and facet scores (score units ~ 0..1)
    foramen_reader_noise: float = 0.08
    facet_reader_noise: float = 0.08
    #: worker processes used by generate_dataset (1 = in this process)
    workers: int = 2

    def __post_init__(self) -> None:
        object.__setattr__(self, "acquisition", AcquisitionMode(self.acquisition))
        _check_probability("contiguous_fraction", self.contiguous_fraction)
        _check_probability("sagittal_t2_probability", self.sagittal_t2_probability)
        _check_probability("localizer_probability", self.localizer_probability)
        _check_probability("axial_t1_probability", self.axial_t1_probability)
        if self.max_matrix < 256:
            raise ValueError(f"max_matrix must be >= 256, got {self.max_matrix}")
        for name in ("canal_reader_noise", "foramen_reader_noise", "facet_reader_noise"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")


def _check_probability(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {value}")
