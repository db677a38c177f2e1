"""The segmentation infer task runs coarse to fine and still answers on the series' own grid."""
import logging

import nibabel as nib
import numpy as np
import torch

from lib.infers.segmentation import Segmentation
from lib.spine.levels import LABEL_NAMES
from lib.transforms.coarse_to_fine import CoarseToFineSettings
from tests.transforms.bright_square import BrightSquareNet


def infer_task(tmp_path, **settings):
    weights = tmp_path / "toy.pt"
    torch.save(BrightSquareNet().state_dict(), weights)
    return Segmentation(path=[str(weights)], network=BrightSquareNet(), labels=dict(LABEL_NAMES), spacing_mm=1.0,
                        coarse_to_fine=CoarseToFineSettings(margin_mm=8.0, **settings))


def test_coarse_to_fine_labels_equal_the_whole_slice_labels_on_the_series_grid(tmp_path, caplog):
    # [col, row, k] at 0.8 mm in-plane: 160 x 150 px -> 128 x 120 at 1 mm -> padded to 128 x 128
    image = np.zeros((160, 150, 6), np.float32)
    image[60:85, 70:95, :] = 900.0
    path = tmp_path / "image.nii.gz"
    nib.save(nib.Nifti1Image(image, np.diag([0.8, 0.8, 4.0, 1.0])), path)
    request = {"image": str(path), "skip_writer": True, "device": "cpu"}
    with caplog.at_level(logging.INFO, logger="lib.transforms.coarse_to_fine"):
        _, fine = infer_task(tmp_path)(dict(request))
    assert "fine pass on rows" in caplog.text  # a crop, not the whole-slice fallback
    _, whole = infer_task(tmp_path, enabled=False)(dict(request))
    labels = np.asarray(fine["pred"])
    assert labels.shape == image.shape and labels.dtype == np.uint8
    assert np.array_equal(labels, np.asarray(whole["pred"]))
    assert (labels[65:80, 75:90] == 1).all() and (labels[:40] == 0).all() and set(np.unique(labels)) == {0, 1}
