"""The gate's segmentation Dice measures the network the way it is served: coarse to fine."""
import logging

import nibabel as nib
import numpy as np
import torch

from lib.retraining.evaluators import SegmentationDice
from lib.spine.levels import LABEL_NAMES
from lib.transforms.coarse_to_fine import CoarseToFineSettings
from tests.transforms.bright_square import BrightSquareNet


def test_segmentation_dice_runs_coarse_to_fine(tmp_path, caplog):
    image = np.zeros((160, 150, 6), np.float32)
    image[60:85, 70:95, :] = 900.0
    affine = np.diag([0.8, 0.8, 4.0, 1.0])
    nib.save(nib.Nifti1Image(image, affine), tmp_path / "image.nii.gz")
    nib.save(nib.Nifti1Image((image > 0).astype(np.uint8), affine), tmp_path / "label.nii.gz")
    torch.save(BrightSquareNet().state_dict(), tmp_path / "toy.pt")

    class Datastore:
        def get_image_uri(self, image_id):
            return str(tmp_path / "image.nii.gz")

        def get_label_uri(self, image_id, tag):
            return str(tmp_path / "label.nii.gz")

    evaluator = SegmentationDice(BrightSquareNet, "toy.pt", LABEL_NAMES, 1.0,
                                 coarse_to_fine=CoarseToFineSettings(margin_mm=8.0))
    with caplog.at_level(logging.INFO, logger="lib.transforms.coarse_to_fine"):
        metrics = evaluator.evaluate(tmp_path, ["toy.pt"], ["s"], Datastore())
    assert "fine pass on rows" in caplog.text
    assert metrics["dice_dural_sac"] > 0.9 and np.isnan(metrics["dice_disc"])
