"""The V-Net's training recipe in one place: settings, transforms, loss and optimiser.

Both trainers use it: the MONAI Label train task (``POST /train/segmentation``, lib/trainers/segmentation.py) and
the offline trainer for GPU nodes and torch.distributed (lib/training/offline_segmentation.py), so a model trained
either way sees the same inputs. It imports torch and MONAI only (no MONAI Label), so it runs where the server
does not.

Training samples are 2D crops of the stacked work images at a fixed in-plane spacing (mm), drawn mostly around
the dural sac and disc; augmentations cover what differs between real studies: intensity scale, contrast and
non-linear intensity response (vendors), noise, bias field, blur (resolution), pixel spacing (scaling, including
a coarse 1.6-2 mm view so the coarse pass of coarse-to-fine inference finds the spine), small in-plane rotations
and flips. Flipping left/right is safe because neither label has a side.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from monai.losses import DiceCELoss
from monai.transforms import (
    RandAdjustContrastd,
    RandAffined,
    RandBiasFieldd,
    RandCropByPosNegLabeld,
    RandFlipd,
    RandGaussianNoised,
    RandGaussianSmoothd,
    RandHistogramShiftd,
    RandScaleIntensityd,
    RandZoomd,
    SelectItemsd,
    SqueezeDimd,
)

from lib.transforms.slices import load_and_resample, pad_to_stride

KEYS = ("image", "label")


@dataclass(frozen=True)
class SegmentationTrainSettings:
    """Training settings (``--conf segmentation_<field> VALUE``); defaults fit 2 CPU cores in minutes."""

    spacing_mm: float = 1.0
    crop_px: int = 128
    crops_per_image: int = 8
    max_epochs: int = 30
    learning_rate: float = 2e-3
    val_split: float = 0.2
    val_interval: int = 5


def deterministic_transforms(spacing_mm: float) -> list:
    """Load, resample in-plane to ``spacing_mm`` and normalise: the cacheable part of every sample."""
    return load_and_resample(KEYS, spacing_mm, label_keys=("label",))


def random_transforms(settings: SegmentationTrainSettings) -> list:
    """Crop around the anatomy and augment (runs on every sample draw)."""
    s = settings
    return [
        RandCropByPosNegLabeld(
            keys=KEYS, label_key="label", spatial_size=(s.crop_px, s.crop_px, 1), pos=3, neg=1,
            num_samples=s.crops_per_image, allow_smaller=True,
        ),
        *pad_to_stride(KEYS),
        SqueezeDimd(keys=KEYS, dim=-1),
        RandAffined(
            keys=KEYS, prob=0.7, rotate_range=0.2, scale_range=0.2, mode=("bilinear", "nearest"),
            padding_mode="zeros",
        ),
        RandZoomd(keys=KEYS, prob=0.1, min_zoom=0.5, max_zoom=0.65, mode=("bilinear", "nearest"),
                  padding_mode="constant", keep_size=True),
        RandFlipd(keys=KEYS, prob=0.5, spatial_axis=0),
        RandScaleIntensityd(keys="image", factors=0.2, prob=0.5),
        RandAdjustContrastd(keys="image", gamma=(0.7, 1.5), prob=0.5),
        RandHistogramShiftd(keys="image", num_control_points=(5, 10), prob=0.2),
        RandBiasFieldd(keys="image", coeff_range=(0.0, 0.3), prob=0.3),
        RandGaussianSmoothd(keys="image", sigma_x=(0.3, 1.0), sigma_y=(0.3, 1.0), prob=0.2),
        RandGaussianNoised(keys="image", std=0.03, prob=0.5),
        SelectItemsd(keys=KEYS),
    ]


def train_transforms(settings: SegmentationTrainSettings) -> list:
    """All training transforms, deterministic then random."""
    return [*deterministic_transforms(settings.spacing_mm), *random_transforms(settings)]


def val_transforms(settings: SegmentationTrainSettings) -> list:
    """Whole volumes the way inference sees them (resampled, normalised, padded to the stride)."""
    return [*deterministic_transforms(settings.spacing_mm), *pad_to_stride(KEYS), SelectItemsd(keys=KEYS)]


def loss_function() -> DiceCELoss:
    """Dice + cross-entropy over dural sac and disc (the background is not scored by Dice)."""
    return DiceCELoss(to_onehot_y=True, softmax=True, include_background=False, batch=True)


def optimizer(network: torch.nn.Module, settings: SegmentationTrainSettings) -> torch.optim.Optimizer:
    """AdamW at the settings' learning rate."""
    return torch.optim.AdamW(network.parameters(), lr=settings.learning_rate, weight_decay=1e-5)
