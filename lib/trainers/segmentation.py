"""Train task of the stage 1 V-Net from the ``final`` labels in the datastore (what OHIF and Slicer save).

The recipe (settings, transforms, loss, optimiser) lives in lib/training/segmentation_recipe.py, shared with the
offline trainer for GPU nodes. Validation runs the whole slices the way inference does.
"""
from __future__ import annotations

import torch
from monai.handlers import from_engine
from monai.inferers import SliceInferer
from monai.transforms import Activationsd, AsDiscreted

from monailabel.tasks.train.basic_train import BasicTrainTask, Context

from lib.model_card import write_model_card
from lib.training import segmentation_recipe as recipe
from lib.training.segmentation_recipe import SegmentationTrainSettings

__all__ = ["Segmentation", "SegmentationTrainSettings"]


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
        return recipe.optimizer(context.network, self.settings)

    def loss_function(self, context: Context):
        return recipe.loss_function()

    def train_pre_transforms(self, context: Context):
        return recipe.train_transforms(self.settings)

    def train_post_transforms(self, context: Context):
        return [
            Activationsd(keys="pred", softmax=True),
            AsDiscreted(keys=("pred", "label"), argmax=(True, False), to_onehot=3),
        ]

    def val_pre_transforms(self, context: Context):
        return recipe.val_transforms(self.settings)

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
