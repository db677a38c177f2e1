"""Scanner vendors: names, models, field strengths, how they scale and store pixel values, series names."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Vendor:
    """How one manufacturer's scanner labels and stores an MR image."""

    manufacturer: str
    models: tuple[tuple[str, float], ...]  # (ManufacturerModelName, MagneticFieldStrength T)
    bits_stored: int
    signal_scale: tuple[float, float]  # stored value of CSF at full coil sensitivity (range)
    rescale_slope: tuple[float, float] | None  # Philips-style real-world scaling of stored values
    descriptions: dict[str, tuple[str, ...]]  # role -> SeriesDescription choices ("" = empty)


VENDORS: tuple[Vendor, ...] = (
    Vendor(
        "GE MEDICAL SYSTEMS",
        (("DISCOVERY MR750", 3.0), ("Optima MR450w", 1.5), ("SIGNA Premier", 3.0), ("Signa HDxt", 1.5)),
        16, (2100.0, 2900.0), None,
        {
            "axial_t2": ("AX T2 FSE", "Ax T2 FRFSE", "AX T2", "", "LSPINE AX", "Axial T2 FSE"),
            "axial_t1": ("AX T1 FSE", "Ax T1", "AX T1 FSE"),
            "sagittal_t2": ("SAG T2 FSE", "Sag T2 FRFSE", "SAG T2"),
            "localizer": ("3-PL T2* FGRE S", "3 PLANE LOC", "LOC"),
        },
    ),
    Vendor(
        "SIEMENS",
        (("Skyra", 3.0), ("Aera", 1.5), ("Avanto_fit", 1.5), ("Prisma", 3.0), ("Vida", 3.0)),
        12, (1000.0, 1450.0), None,
        {
            "axial_t2": ("t2_tse_tra", "t2_tse_tra_320_p2", "t2_tse_tra_mbh", "", "T2 TRA", "spine_tra"),
            "axial_t1": ("t1_tse_tra", "t1_tse_tra_p2"),
            "sagittal_t2": ("t2_tse_sag", "t2_tse_sag_p2"),
            "localizer": ("localizer", "AAHead_Scout", "localizer_3plane"),
        },
    ),
    Vendor(
        "Philips",
        (("Ingenia", 3.0), ("Achieva", 1.5), ("Ingenia Elition X", 3.0), ("Achieva dStream", 1.5)),
        12, (2400.0, 3600.0), (0.6, 3.2),
        {
            "axial_t2": ("T2W_TSE AX", "T2W_TSE_TRA", "sT2W_TSE ax", "", "WS_T2 AX", "AX T2"),
            "axial_t1": ("T1W_TSE AX", "T1W_TSE_TRA"),
            "sagittal_t2": ("T2W_TSE SAG", "sT2W_TSE sag"),
            "localizer": ("Survey", "SURVEY_MST", "3Plane_Loc"),
        },
    ),
)


@dataclass(frozen=True)
class ScannerChoice:
    """The vendor and model drawn for one study."""

    vendor: Vendor
    model: str
    field_strength_t: float

    @property
    def short_name(self) -> str:
        """GE / SIEMENS / Philips, as recorded in the truth file."""
        return {"GE MEDICAL SYSTEMS": "GE"}.get(self.vendor.manufacturer, self.vendor.manufacturer)


def choose_scanner(rng: np.random.Generator) -> ScannerChoice:
    """Draw a vendor (GE slightly more common, as in the reference data) and a model."""
    vendor = VENDORS[int(rng.choice(len(VENDORS), p=[0.45, 0.3, 0.25]))]
    model, field = vendor.models[int(rng.integers(len(vendor.models)))]
    return ScannerChoice(vendor, model, field)


#: Chance that the graded axial T2 carries another series' description (a misleading name).
MISLEADING_DESCRIPTION_PROBABILITY = 0.08


def choose_description(rng: np.random.Generator, scanner: ScannerChoice, role: str) -> str:
    """A SeriesDescription for a series of this role; the axial T2 is sometimes named like another series."""
    if role == "axial_t2" and rng.random() < MISLEADING_DESCRIPTION_PROBABILITY:
        role = ("axial_t1", "sagittal_t2")[int(rng.integers(2))]
    options = scanner.vendor.descriptions[role]
    return str(options[int(rng.integers(len(options)))])
