"""Which series a study holds and their protocol values (the axial T2 plus decoys)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lib.phantom.anatomy import StudyAnatomy
from lib.phantom.config import AcquisitionMode, PhantomConfig
from lib.phantom.planning import SeriesPlan, plan_angled, plan_contiguous, plan_localizer, plan_sagittal
from lib.phantom.vendor import ScannerChoice, choose_description, choose_scanner

ORIGINAL_PRIMARY = ("ORIGINAL", "PRIMARY", "M", "ND")


@dataclass(frozen=True)
class StudyPlan:
    """The scanner and every series of one study; ``series[0]`` is the axial T2 that is graded."""

    scanner: ScannerChoice
    patient_position: str  # HFS | FFS
    acquisition: str  # contiguous | angled (of the axial T2)
    series: tuple[SeriesPlan, ...]

    @property
    def axial_t2(self) -> SeriesPlan:
        return self.series[0]


def plan_study(anatomy: StudyAnatomy, rng: np.random.Generator, config: PhantomConfig) -> StudyPlan:
    """Draw the acquisition mode, scanner and series of one study."""
    scanner = choose_scanner(rng)
    mode = config.acquisition
    if mode == AcquisitionMode.MIXED:
        mode = AcquisitionMode.CONTIGUOUS if rng.random() < config.contiguous_fraction else AcquisitionMode.ANGLED
    if mode == AcquisitionMode.CONTIGUOUS:
        geometries = plan_contiguous(anatomy, rng, config.max_matrix)
    else:
        geometries = plan_angled(anatomy, rng, config.max_matrix)
    numbers = iter(rng.permutation([2, 3, 4, 5, 6, 7, 8]) * int(rng.choice([1, 100])))
    t2 = _axial(rng, scanner, "axial_t2", str(mode), geometries, int(next(numbers)))
    series = [t2]
    if rng.random() < config.axial_t1_probability:
        series.append(_axial(rng, scanner, "axial_t1", str(mode), geometries, int(next(numbers))))
    if rng.random() < config.sagittal_t2_probability:
        series.append(_sagittal(anatomy, rng, scanner, int(next(numbers))))
    if rng.random() < config.localizer_probability:
        series.append(_localizer(anatomy, rng, scanner))
    position = "HFS" if rng.random() < 0.7 else "FFS"
    return StudyPlan(scanner, position, str(mode), tuple(series))


def _instance_numbers(rng: np.random.Generator, count: int) -> tuple[int, ...]:
    """Acquisition numbering: inferior-first, superior-first, or scrambled."""
    order = np.arange(1, count + 1)
    draw = rng.random()
    if draw < 0.4:
        order = order[::-1]
    elif draw < 0.6:
        order = rng.permutation(order)
    return tuple(int(i) for i in order)


def _axial(rng, scanner: ScannerChoice, role: str, mode: str, geometries, number: int) -> SeriesPlan:
    t2 = role == "axial_t2"
    geometries = tuple(geometries)
    spacing = _spacing(geometries) if mode == "contiguous" else _block_spacing(geometries)
    return SeriesPlan(
        role=role, acquisition=mode, description=choose_description(rng, scanner, role), contrast="T2" if t2 else "T1",
        geometries=geometries, instance_numbers=_instance_numbers(rng, len(geometries)),
        spacing_between_slices_mm=spacing,
        echo_time_ms=round(float(rng.uniform(80, 120)) if t2 else float(rng.uniform(8, 14)), 3),
        repetition_time_ms=round(float(rng.uniform(2500, 5000)) if t2 else float(rng.uniform(400, 700)), 1),
        echo_train_length=int(rng.integers(12, 25)) if t2 else int(rng.integers(3, 5)),
        series_number=number, image_type=ORIGINAL_PRIMARY,
        noise_fraction=float(rng.uniform(0.015, 0.032)), blur_px=float(rng.uniform(0.35, 0.65)),
        sub_planes=3 if t2 else 1,
    )


def _spacing(geometries) -> float:
    if len(geometries) < 2:
        return geometries[0].slice_thickness_mm
    d = np.asarray(geometries[1].position_lps_mm) - np.asarray(geometries[0].position_lps_mm)
    return round(abs(float(d @ geometries[0].normal)), 3)


def _block_spacing(geometries) -> float:
    """Spacing within one block of an angled series (all blocks share it)."""
    return _spacing(geometries[:2])


def _sagittal(anatomy, rng, scanner: ScannerChoice, number: int) -> SeriesPlan:
    geometries, spacing = plan_sagittal(anatomy, rng)
    return SeriesPlan(
        role="sagittal_t2", acquisition="sagittal", description=choose_description(rng, scanner, "sagittal_t2"),
        contrast="T2", geometries=tuple(geometries), instance_numbers=_instance_numbers(rng, len(geometries)),
        spacing_between_slices_mm=round(spacing, 3), echo_time_ms=round(float(rng.uniform(90, 115)), 3),
        repetition_time_ms=round(float(rng.uniform(3000, 4500)), 1), echo_train_length=int(rng.integers(16, 28)),
        series_number=number, image_type=ORIGINAL_PRIMARY, noise_fraction=float(rng.uniform(0.015, 0.03)),
        blur_px=float(rng.uniform(0.4, 0.7)), sub_planes=1,
    )


def _localizer(anatomy, rng, scanner: ScannerChoice) -> SeriesPlan:
    geometries = plan_localizer(anatomy, rng)
    return SeriesPlan(
        role="localizer", acquisition="localizer", description=choose_description(rng, scanner, "localizer"),
        contrast="SSFP", geometries=tuple(geometries), instance_numbers=tuple(range(1, len(geometries) + 1)),
        spacing_between_slices_mm=geometries[0].slice_thickness_mm, echo_time_ms=round(float(rng.uniform(1.5, 3.0)), 3),
        repetition_time_ms=round(float(rng.uniform(4.0, 8.0)), 3), echo_train_length=1, series_number=1,
        image_type=("ORIGINAL", "PRIMARY", "LOCALIZER"), noise_fraction=float(rng.uniform(0.03, 0.05)),
        blur_px=float(rng.uniform(0.5, 0.8)), sub_planes=1,
    )
