"""Generate one synthetic study in memory: anatomy, series, pixels, truth labels and truth grades."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lib.phantom.acquire import Scaling, acquire, draw_coil, draw_scaling
from lib.phantom.anatomy import StudyAnatomy
from lib.phantom.canal import compress_levels
from lib.phantom.config import PhantomConfig
from lib.phantom.planning import SeriesPlan
from lib.phantom.render import render_plane
from lib.phantom.sampling import sample_anatomy
from lib.phantom.scene import Scene
from lib.phantom.study_plan import StudyPlan, plan_study
from lib.phantom.tissues import LOCALIZER_SSFP, T1_SE, T2_FSE
from lib.phantom.truth import LevelTruth, PreviewItem, build_truth, read_levels
from lib.phantom.uids import make_uid, study_id, study_rng
from lib.spine.geometry import canonical_order, stacked_affine_ras

CONTRASTS = {"T2": T2_FSE, "T1": T1_SE, "SSFP": LOCALIZER_SSFP}


@dataclass(frozen=True, eq=False)
class RenderedSeries:
    """One series ready to write: stored pixel values per slice in plan order, and its UIDs."""

    plan: SeriesPlan
    series_uid: str
    sop_uids: tuple[str, ...]
    pixels: tuple[np.ndarray, ...]  # uint16 [row, col], stored values
    scaling: Scaling


@dataclass(frozen=True, eq=False)
class PhantomStudy:
    """A generated study: everything write_study puts on disk, plus the anatomy behind it."""

    index: int
    seed: int
    study_id: str
    study_uid: str
    frame_of_reference_uid: str
    plan: StudyPlan
    anatomy: StudyAnatomy
    series: tuple[RenderedSeries, ...]
    truth: dict
    labels: np.ndarray  # uint8 [col, row, slice], slices in canonical order
    affine_ras: np.ndarray  # 4x4, stacked_affine_ras of the canonical geometries
    levels: tuple[LevelTruth, ...]
    previews: tuple[PreviewItem, ...]

    @property
    def axial_t2(self) -> RenderedSeries:
        return self.series[0]


def generate_study(index: int, seed: int, config: PhantomConfig = PhantomConfig()) -> PhantomStudy:
    """Generate study ``index`` of the dataset with this seed; same inputs give the same study.

    Example:
        >>> study = generate_study(7, seed=1, config=PhantomConfig(max_matrix=256))
        >>> study.study_id, study.truth["levels"]["L4-L5"]["central_canal"] in ("normal", "mild", "moderate", "severe")
        ('phantom_0007', True)
    """
    rng = study_rng(seed, index, "anatomy")
    anatomy = compress_levels(sample_anatomy(rng, config.severity_boost), rng)
    scene = Scene.build(anatomy, study_rng(seed, index, "scene"))
    plan = plan_study(anatomy, study_rng(seed, index, "plan"), config)
    acq_rng = study_rng(seed, index, "acquisition")
    rendered, t2_labels = _render_series(scene, plan, acq_rng, seed, index)
    t2 = rendered[0]
    order = canonical_order(list(t2.plan.geometries))
    geometries = [t2.plan.geometries[i] for i in order]
    labels = np.stack([t2_labels[i].T for i in order], axis=-1)
    sop_uids = [t2.sop_uids[i] for i in order]
    signals = [t2.pixels[i].astype(np.float32) * t2.scaling.slope + t2.scaling.intercept for i in order]
    sid = study_id(index)
    levels, previews = read_levels(anatomy, scene, geometries, labels, signals, sop_uids, config,
                                   study_rng(seed, index, "reader"), sid)
    ids = (sid, make_uid(seed, index, "study"), make_uid(seed, index, "frame"))
    truth = build_truth(ids[0], ids[1], plan, t2.series_uid, geometries, sop_uids, levels)
    return PhantomStudy(index, seed, ids[0], ids[1], ids[2], plan, anatomy, tuple(rendered), truth, labels,
                        stacked_affine_ras(geometries), tuple(levels), tuple(previews))


def _render_series(scene: Scene, plan: StudyPlan, rng: np.random.Generator, seed: int, index: int):
    """Render and acquire every series; the axial T1 decoy shares the T2's planes and tissue maps."""
    t1 = next((s for s in plan.series if s.role == "axial_t1"), None)
    contrasts = (T2_FSE, T1_SE) if t1 is not None else (T2_FSE,)
    t2_plan = plan.axial_t2
    t2_signals, t1_signals, t2_labels = [], [], []
    for geometry in t2_plan.geometries:
        out = render_plane(scene, geometry, contrasts, sub_planes=t2_plan.sub_planes)
        t2_signals.append(out.signals[0])
        t1_signals.append(out.signals[-1])
        t2_labels.append(out.labels)
    rendered = [_acquired(scene, plan, t2_plan, t2_signals, rng, seed, index)]
    for series in plan.series[1:]:
        if series.role == "axial_t1":
            signals = t1_signals
        else:
            step = 8 if series.role == "localizer" else 4
            contrast = CONTRASTS[series.contrast]
            signals = [render_plane(scene, g, (contrast,), sub_planes=1, coarse_step=step).signals[0]
                       for g in series.geometries]
        rendered.append(_acquired(scene, plan, series, signals, rng, seed, index))
    return rendered, t2_labels


def _acquired(scene: Scene, plan: StudyPlan, series: SeriesPlan, signals, rng, seed: int, index: int) -> RenderedSeries:
    coil, scaling = draw_coil(rng), draw_scaling(rng, plan.scanner)
    pixels = tuple(acquire(sig, g, scene.anatomy, series, coil, scaling, rng) for sig, g in zip(signals, series.geometries))
    role = f"{series.role}/{series.series_number}"
    sops = tuple(make_uid(seed, index, f"sop/{role}/{k}") for k in range(len(pixels)))
    return RenderedSeries(series, make_uid(seed, index, f"series/{role}"), sops, pixels, scaling)
