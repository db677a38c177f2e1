"""Settings of the landmark model, one frozen dataclass parsed once from MONAI Label's ``--conf landmarks_<field>``."""
from __future__ import annotations

from dataclasses import dataclass

from lib.landmarks.inputs import CropSpec
from lib.landmarks.model import USE_MODEL_CHOICES
from lib.landmarks.training import LoopSettings


@dataclass(frozen=True)
class LandmarksSettings:
    """Inference, crop and training settings (``--conf landmarks_max_epochs 30`` etc.); CPU-friendly defaults.

    Inference: ``use_model`` auto (use the model when its card says it beat the rules) / always / never;
    ``min_confidence`` and ``max_shift_from_rules_mm`` decide per level whether the model's points are kept;
    ``tta_mirror`` averages with a mirrored pass; ``label_radius_mm`` is the radius of the discs of the label map.
    Crop (saved with the weights, so only training reads these): ``spacing_mm``, ``size_px``, ``sigma_mm``,
    ``use_rule_prior``. Training: epochs, batch, learning rate, the validation fraction of the fixed split, seed, and
    ``keep_better_previous`` (keep the published weights when they beat the new ones on the same validation levels).
    """

    use_model: str = "auto"
    min_confidence: float = 0.5
    max_shift_from_rules_mm: float = 20.0
    tta_mirror: bool = True
    label_radius_mm: float = 2.0
    spacing_mm: float = 1.0
    size_px: int = 64
    sigma_mm: float = 2.0
    use_rule_prior: bool = True
    max_epochs: int = 60
    batch_size: int = 16
    learning_rate: float = 3e-3
    val_fraction: float = 0.2
    seed: int = 0
    keep_better_previous: bool = True

    def __post_init__(self):
        if self.use_model not in USE_MODEL_CHOICES:
            raise ValueError(f"--conf landmarks_use_model must be one of {USE_MODEL_CHOICES}, got {self.use_model!r}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"--conf landmarks_val_fraction must lie in [0, 1), got {self.val_fraction}")
        if self.max_epochs < 1 or self.batch_size < 1:
            raise ValueError(f"landmarks_max_epochs and landmarks_batch_size must be >= 1, got "
                             f"{self.max_epochs}, {self.batch_size}")
        self.crop_spec()  # validates the crop fields

    def crop_spec(self) -> CropSpec:
        return CropSpec(spacing_mm=self.spacing_mm, size_px=self.size_px, sigma_mm=self.sigma_mm,
                        use_rule_prior=self.use_rule_prior)

    def loop(self, **overrides) -> LoopSettings:
        values = dict(max_epochs=self.max_epochs, batch_size=self.batch_size, learning_rate=self.learning_rate,
                      seed=self.seed)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return LoopSettings(**values)

    def model_kwargs(self) -> dict:
        """Keyword arguments of LandmarkModel / LandmarkModelFile at inference."""
        return {"min_confidence": self.min_confidence, "max_shift_from_rules_mm": self.max_shift_from_rules_mm,
                "tta_mirror": self.tta_mirror}
