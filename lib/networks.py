"""The networks of the product, built in one place so infer tasks, trainers and scoring agree on them."""
from __future__ import annotations

from monai.networks.nets import VNet

#: Output channels of the segmentation V-Net: background, dural sac (1), disc (2).
SEGMENTATION_CLASSES = 3


def segmentation_vnet(dropout: float = 0.0) -> VNet:
    """2D V-Net over single axial slices (1 channel in, background / dural sac / disc out).

    Inputs must have height and width divisible by 16 (four down-sampling steps).
    ``dropout`` > 0 keeps dropout layers in the down and up transitions (Monte Carlo dropout for epistemic scoring).
    """
    p = float(dropout)
    return VNet(
        spatial_dims=2,
        in_channels=1,
        out_channels=SEGMENTATION_CLASSES,
        dropout_prob=p,
        dropout_prob_down=p,
        dropout_prob_up=(p, p),
        dropout_dim=2,
    )
