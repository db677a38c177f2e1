"""The strategies and scoring methods of the app, built from the parsed settings (``main.py`` and the model configs
call these; nothing here runs a model).

    random, first          MONAI Label's, on unlabelled studies no other annotator holds
    epistemic              highest stored Monte Carlo dropout score of the segmentation V-Net (segmentation config)
    grading_uncertainty    highest stored uncertainty of the stage 2 grades
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from monailabel.interfaces.tasks.scoring import ScoringMethod
from monailabel.interfaces.tasks.strategy import Strategy
from monailabel.tasks.activelearning.first import First

from lib.activelearning.epistemic import METHOD as EPISTEMIC
from lib.activelearning.epistemic import EpistemicScoring
from lib.activelearning.grading_uncertainty import METHOD as GRADING_UNCERTAINTY
from lib.activelearning.grading_uncertainty import GradingUncertaintyScoring
from lib.activelearning.settings import ActiveLearningSettings
from lib.activelearning.strategies import HoldAware, ScoredStrategy, WeightedRandom
from lib.transforms.coarse_to_fine import CoarseToFineSettings


def app_strategies(settings: ActiveLearningSettings) -> dict[str, Strategy]:
    hold = settings.hold_seconds
    return {
        "random": HoldAware(WeightedRandom(), hold),
        "first": HoldAware(First(), hold),
        GRADING_UNCERTAINTY: ScoredStrategy(GRADING_UNCERTAINTY, hold, "Most uncertain stage 2 grades first "
                                            "(canal entropy, BiT vs tree, foramen/facet calls)"),
    }


def app_scoring_methods(settings: ActiveLearningSettings,
                        grade_study: Callable[[str], Any] | None = None) -> dict[str, ScoringMethod]:
    return {GRADING_UNCERTAINTY: GradingUncertaintyScoring(settings.grading_weights, settings.score_batch,
                                                           grade_study)}


def epistemic_strategy(settings: ActiveLearningSettings) -> dict[str, Strategy]:
    return {EPISTEMIC: ScoredStrategy(EPISTEMIC, settings.hold_seconds,
                                      "Highest epistemic uncertainty (Monte Carlo dropout) of the segmentation first")}


def epistemic_scoring(weights_path: str | Path, spacing_mm: float, settings: ActiveLearningSettings,
                      coarse_to_fine: CoarseToFineSettings | None = None) -> dict[str, ScoringMethod]:
    from lib.networks import segmentation_vnet

    return {EPISTEMIC: EpistemicScoring(weights_path, segmentation_vnet, spacing_mm,
                                        samples=settings.epistemic_samples, dropout=settings.epistemic_dropout,
                                        max_slices=settings.epistemic_max_slices, batch=settings.score_batch,
                                        coarse_to_fine=coarse_to_fine)}
