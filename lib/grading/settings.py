"""Stage 2 settings: one frozen dataclass, parsed once from MONAI Label's string ``conf``.

MONAI Label passes ``--conf KEY VALUE`` pairs as strings; keys ``grading_<field>`` (for example
``--conf grading_arch test_resnet --conf grading_crop_px 32``) set the fields below (``lib.conf.from_conf``: a value
of the wrong type is refused with a message naming the key and the value).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from lib.conf import from_conf
from lib.grading.crops import CropSpec
from lib.grading.structures import Structure
from lib.grading.training import TrainSettings

PREFIX = "grading_"
#: Sources of the canal tree's training measurements (``GradingSettings.tree_measurements``).
TREE_MEASUREMENTS: tuple[str, ...] = ("served", "final_mask")


@dataclass(frozen=True)
class GradingSettings:
    # the classifiers
    arch: str = "resnetv2_50x1_bit"
    pretrained: str = ""  # a weight file, "hub", or "" for random initialisation
    crop_px: int = 64  # 0.875 mm/px over the canal's 56 mm, 0.625 mm/px over 40 mm: what was measured on 2 cores
    canal_field_mm: float = 56.0
    foramen_field_mm: float = 40.0
    facet_field_mm: float = 40.0
    threshold: float = 0.5  # probability at or above which foramen stenosis / facet arthropathy is called
    # training
    epochs: int = 16
    batch_size: int = 16
    lr: float = 1e-3
    max_minutes: float = 10.0  # per classifier, so `make models` ends in minutes on 2 cores; 0: no budget
    seed: int = 0
    threads: int = 2
    val_fraction: float = 0.2
    # which classifiers a grading training run trains (comma-separated): e.g. "canal" retrains the canal grades only
    structures: str = "canal,foramen,facet"
    tree_max_depth: int = 3
    tree_min_samples_leaf: int = 2
    tree_min_leaf_fraction: float = 0.01  # a leaf holds at least this share of the training levels (if more than 2)
    # after the Gini fit, move the thresholds to where the linearly weighted kappa on the training levels is highest
    # (lib/grading/canal_tree.py tune_thresholds_for_kappa; grades are ordinal, Gini treats them as unordered)
    tree_tune_for_kappa: bool = True
    # where the tree's training measurements come from: "served" = stage 1 as the server computes it from the image
    # (the segmentation model's masks, what the tree will grade), "final_mask" = the annotators' (or phantom truth) masks
    tree_measurements: str = "served"
    # outputs of the post-infer stage
    write_sr: bool = True
    write_report: bool = True

    def __post_init__(self):
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"grading_threshold must be in (0, 1), got {self.threshold}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"grading_val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.tree_max_depth < 1:
            raise ValueError(f"grading_tree_max_depth must be >= 1, got {self.tree_max_depth}")
        if not 0.0 <= self.tree_min_leaf_fraction < 0.5:
            raise ValueError(f"grading_tree_min_leaf_fraction must be in [0, 0.5), got {self.tree_min_leaf_fraction}")
        if self.tree_measurements not in TREE_MEASUREMENTS:
            raise ValueError(f"grading_tree_measurements must be one of {', '.join(TREE_MEASUREMENTS)}, "
                             f"got {self.tree_measurements!r}")
        self.crop_specs()  # checks crop_px and the fields
        self.structures_to_train()  # checks the names

    def structures_to_train(self) -> tuple[Structure, ...]:
        """The classifiers named in ``structures``, in the order given."""
        names = [n.strip() for n in self.structures.split(",") if n.strip()]
        known = [str(s) for s in Structure]
        unknown = [n for n in names if n not in known]
        if unknown or not names:
            raise ValueError(f"grading_structures must name some of {', '.join(known)}, got {self.structures!r}")
        return tuple(Structure(n) for n in dict.fromkeys(names))

    def crop_specs(self) -> dict[Structure, CropSpec]:
        return {
            Structure.CANAL: CropSpec(self.crop_px, self.canal_field_mm),
            Structure.FORAMEN: CropSpec(self.crop_px, self.foramen_field_mm),
            Structure.FACET: CropSpec(self.crop_px, self.facet_field_mm),
        }

    def train_settings(self) -> TrainSettings:
        return TrainSettings(
            arch=self.arch, pretrained=self.pretrained, epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
            max_minutes=self.max_minutes, seed=self.seed, threads=self.threads,
        )

    @classmethod
    def from_conf(cls, conf: Mapping[str, str] | None, prefix: str = PREFIX) -> "GradingSettings":
        """Settings from MONAI Label's conf (string values, ``lib.conf``); absent keys keep their defaults."""
        return from_conf(cls, conf, prefix=prefix)
