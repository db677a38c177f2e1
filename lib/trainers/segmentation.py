"""Train task of the stage 1 V-Net from the ``final`` labels in the datastore (what OHIF and Slicer save).

Training samples are 2D crops of the stacked work images at a fixed in-plane spacing (mm), drawn mostly around
the dural sac and disc; augmentations cover what differs between real studies: intensity scale and contrast,
noise, bias field, pixel spacing (scaling), small in-plane rotations and flips. Flipping left/right is safe here
because neither label has a side. Validation runs the whole slices the way inference does.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from monai.handlers import from_engine
from monai.inferers import SliceInferer
from monai.losses import DiceCELoss
from monai.transforms import (
    Activationsd,
    AsDiscreted,
    RandAdjustContrastd,
    RandAffined,
    RandBiasFieldd,
    RandCropByPosNegLabeld,
    RandFlipd,
    RandGaussianNoised,
    RandScaleIntensityd,
    SelectItemsd,
    SqueezeDimd,
)

from monailabel.tasks.train.basic_train import BasicTrainTask, Context

from lib.model_card import write_model_card
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


class Segmentation(BasicTrainTask):
    """BasicTrainTask for the 2D V-Net (resumable: starts from the last best checkpoint when one exists)."""

    def __init__(self, model_dir, network, settings: SegmentationTrainSettings, labels: dict[str, int], **kwargs):
        self._network = network
        self.settings = settings
        config = {"max_epochs": settings.max_epochs, "val_split": settings.val_split, "dataset": "CacheDataset"}
        super().__init__(
            model_dir,
            "Train the dural sac / disc V-Net from final labels",
            config=config,
            amp=torch.cuda.is_available(),
            labels=labels,
            val_interval=settings.val_interval,
            disable_meta_tracking=False,
            **kwargs,
        )

    def network(self, context: Context):
        return self._network

    def optimizer(self, context: Context):
        return torch.optim.AdamW(context.network.parameters(), lr=self.settings.learning_rate, weight_decay=1e-5)

    def loss_function(self, context: Context):
        return DiceCELoss(to_onehot_y=True, softmax=True, include_background=False, batch=True)

    def train_pre_transforms(self, context: Context):
        s = self.settings
        return [
            *load_and_resample(KEYS, s.spacing_mm, label_keys=("label",)),
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
            RandFlipd(keys=KEYS, prob=0.5, spatial_axis=0),
            RandScaleIntensityd(keys="image", factors=0.2, prob=0.5),
            RandAdjustContrastd(keys="image", gamma=(0.7, 1.5), prob=0.5),
            RandBiasFieldd(keys="image", coeff_range=(0.0, 0.3), prob=0.3),
            RandGaussianNoised(keys="image", std=0.03, prob=0.5),
            SelectItemsd(keys=KEYS),
        ]

    def train_post_transforms(self, context: Context):
        return [
            Activationsd(keys="pred", softmax=True),
            AsDiscreted(keys=("pred", "label"), argmax=(True, False), to_onehot=3),
        ]

    def val_pre_transforms(self, context: Context):
        return [*load_and_resample(KEYS, self.settings.spacing_mm, label_keys=("label",)), *pad_to_stride(KEYS),
                SelectItemsd(keys=KEYS)]

    def val_inferer(self, context: Context):
        return SliceInferer(roi_size=(-1, -1), spatial_dim=2, sw_batch_size=8, progress=False)

    def train_key_metric(self, context: Context):
        from monai.handlers import MeanDice

        return {self.TRAIN_METRIC_MEAN_DICE: MeanDice(output_transform=from_engine(["pred", "label"]),
                                                      include_background=False)}

    def __call__(self, request, datastore):
        stats = super().__call__(request, datastore)
        if self._publish_path:
            write_model_card(
                self._publish_path,
                model="segmentation",
                data={"final_labels": len(datastore.datalist()), "synthetic_phantoms": request.get("phantoms", None)},
                settings=self.settings,
                metrics={k: stats.get(k) for k in ("best_metric", "best_metric_epoch", "train_mean_dice",
                                                   "total_time", "epochs") if isinstance(stats, dict)},
            )
        return stats
