"""The landmark network: a small 2D MONAI ``BasicUNet`` from the crop channels to one heatmap per landmark.

Input ``(B, C, S, S)`` float32 crops (channels: :data:`lib.landmarks.inputs.INPUT_CHANNELS`), output ``(B, 4, S, S)``
logits (one map per landmark, in the order of :data:`lib.landmarks.heatmaps.TARGET_NAMES`; a spatial softmax turns
each into a probability map). ``S`` must be divisible by 16. At 64 x 64 px (the default crop: 64 mm at 1 mm) a
training step of 16 crops takes about 0.1 s on 2 idle CPU cores, and the 5 levels of a study infer in ~0.05 s.
"""
from __future__ import annotations

from monai.networks.nets import BasicUNet

from lib.landmarks.heatmaps import TARGET_NAMES

#: Feature widths of the BasicUNet (encoder x5, decoder output).
DEFAULT_FEATURES: tuple[int, ...] = (16, 16, 32, 64, 128, 16)


def landmark_unet(in_channels: int, features: tuple[int, ...] = DEFAULT_FEATURES) -> BasicUNet:
    """BasicUNet(2D) with instance norm and leaky ReLU; ``len(TARGET_NAMES)`` output heatmaps."""
    if len(features) != 6:
        raise ValueError(f"features must hold 6 widths (BasicUNet), got {features}")
    return BasicUNet(
        spatial_dims=2,
        in_channels=int(in_channels),
        out_channels=len(TARGET_NAMES),
        features=tuple(int(f) for f in features),
        act=("LeakyReLU", {"negative_slope": 0.1, "inplace": True}),
        norm=("instance", {"affine": True}),
        dropout=0.0,
    )
