"""Tissue classes drawn by the renderer and their relative signal in each contrast."""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np


class Tissue(IntEnum):
    """Tissue class of a rendered point (uint8 in the tissue maps)."""

    AIR = 0
    SKIN = 1
    SUBCUTANEOUS_FAT = 2
    MUSCLE = 3
    VISCERA = 4
    BOWEL_FLUID = 5
    BOWEL_GAS = 6
    RETROPERITONEAL_FAT = 7
    KIDNEY = 8
    VESSEL = 9
    CORTEX = 10
    MARROW = 11
    ANNULUS = 12
    NUCLEUS = 13
    CSF = 14
    ROOTLET = 15
    EPIDURAL_FAT = 16
    LIGAMENTUM_FLAVUM = 17
    JOINT_FLUID = 18
    CARTILAGE = 19
    FORAMEN_FAT_LEFT = 20
    FORAMEN_FAT_RIGHT = 21
    NERVE_ROOT = 22
    CONUS = 23
    LIGAMENT = 24
    FASCIA = 25
    INTERMUSCULAR_FAT = 26


@dataclass(frozen=True)
class Contrast:
    """Relative signal (about 0..1, CSF on T2 = 1) of every tissue in one pulse sequence."""

    name: str
    signal: tuple[float, ...]  # indexed by Tissue

    def table(self) -> np.ndarray:
        """float32 lookup table indexed by tissue id."""
        return np.asarray(self.signal, np.float32)

    def of(self, tissue: Tissue) -> float:
        return float(self.signal[int(tissue)])


def _contrast(name: str, values: dict[Tissue, float]) -> Contrast:
    missing = set(Tissue) - set(values)
    if missing:
        raise ValueError(f"contrast {name} lacks signal for {sorted(t.name for t in missing)}")
    return Contrast(name, tuple(float(values[t]) for t in Tissue))


#: T2-weighted fast spin echo: fluid and fat bright, muscle, ligament and cortex dark.
T2_FSE = _contrast(
    "T2",
    {
        Tissue.AIR: 0.0, Tissue.SKIN: 0.35, Tissue.SUBCUTANEOUS_FAT: 0.80, Tissue.MUSCLE: 0.20,
        Tissue.VISCERA: 0.34, Tissue.BOWEL_FLUID: 0.80, Tissue.BOWEL_GAS: 0.02,
        Tissue.RETROPERITONEAL_FAT: 0.76, Tissue.KIDNEY: 0.52, Tissue.VESSEL: 0.05, Tissue.CORTEX: 0.05,
        Tissue.MARROW: 0.44, Tissue.ANNULUS: 0.17, Tissue.NUCLEUS: 0.86, Tissue.CSF: 1.0,
        Tissue.ROOTLET: 0.26, Tissue.EPIDURAL_FAT: 0.76, Tissue.LIGAMENTUM_FLAVUM: 0.21,
        Tissue.JOINT_FLUID: 0.88, Tissue.CARTILAGE: 0.34, Tissue.FORAMEN_FAT_LEFT: 0.78,
        Tissue.FORAMEN_FAT_RIGHT: 0.78, Tissue.NERVE_ROOT: 0.30, Tissue.CONUS: 0.36, Tissue.LIGAMENT: 0.07,
        Tissue.FASCIA: 0.08, Tissue.INTERMUSCULAR_FAT: 0.72,
    },
)

#: T1-weighted spin echo: fat and marrow bright, CSF and fluid dark.
T1_SE = _contrast(
    "T1",
    {
        Tissue.AIR: 0.0, Tissue.SKIN: 0.45, Tissue.SUBCUTANEOUS_FAT: 0.95, Tissue.MUSCLE: 0.33,
        Tissue.VISCERA: 0.42, Tissue.BOWEL_FLUID: 0.18, Tissue.BOWEL_GAS: 0.02,
        Tissue.RETROPERITONEAL_FAT: 0.92, Tissue.KIDNEY: 0.40, Tissue.VESSEL: 0.06, Tissue.CORTEX: 0.05,
        Tissue.MARROW: 0.72, Tissue.ANNULUS: 0.30, Tissue.NUCLEUS: 0.38, Tissue.CSF: 0.14,
        Tissue.ROOTLET: 0.36, Tissue.EPIDURAL_FAT: 0.92, Tissue.LIGAMENTUM_FLAVUM: 0.38,
        Tissue.JOINT_FLUID: 0.16, Tissue.CARTILAGE: 0.36, Tissue.FORAMEN_FAT_LEFT: 0.92,
        Tissue.FORAMEN_FAT_RIGHT: 0.92, Tissue.NERVE_ROOT: 0.38, Tissue.CONUS: 0.40, Tissue.LIGAMENT: 0.08,
        Tissue.FASCIA: 0.10, Tissue.INTERMUSCULAR_FAT: 0.88,
    },
)

#: Balanced steady-state localizer: fluid and fat bright, everything a little flat.
LOCALIZER_SSFP = _contrast(
    "SSFP",
    {
        Tissue.AIR: 0.0, Tissue.SKIN: 0.4, Tissue.SUBCUTANEOUS_FAT: 0.85, Tissue.MUSCLE: 0.28,
        Tissue.VISCERA: 0.45, Tissue.BOWEL_FLUID: 0.85, Tissue.BOWEL_GAS: 0.02,
        Tissue.RETROPERITONEAL_FAT: 0.82, Tissue.KIDNEY: 0.6, Tissue.VESSEL: 0.9, Tissue.CORTEX: 0.08,
        Tissue.MARROW: 0.5, Tissue.ANNULUS: 0.25, Tissue.NUCLEUS: 0.75, Tissue.CSF: 0.95,
        Tissue.ROOTLET: 0.4, Tissue.EPIDURAL_FAT: 0.8, Tissue.LIGAMENTUM_FLAVUM: 0.25,
        Tissue.JOINT_FLUID: 0.85, Tissue.CARTILAGE: 0.4, Tissue.FORAMEN_FAT_LEFT: 0.82,
        Tissue.FORAMEN_FAT_RIGHT: 0.82, Tissue.NERVE_ROOT: 0.4, Tissue.CONUS: 0.45, Tissue.LIGAMENT: 0.1,
        Tissue.FASCIA: 0.15, Tissue.INTERMUSCULAR_FAT: 0.8,
    },
)

#: Fat-like tissues whose texture follows the fat texture field.
FAT_TISSUES = (
    Tissue.SUBCUTANEOUS_FAT, Tissue.RETROPERITONEAL_FAT, Tissue.EPIDURAL_FAT, Tissue.INTERMUSCULAR_FAT,
    Tissue.FORAMEN_FAT_LEFT, Tissue.FORAMEN_FAT_RIGHT,
)
