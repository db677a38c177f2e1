"""The learned landmark model of stage 1: facet joints and neural foramina by heatmap regression on the mid-disc slice.

Modules (data flows top to bottom):
    crop       CropGrid: a millimetre grid in the slice plane along the anatomical frame (lateral = patient left,
               AP = disc -> dural sac), resampling a slice onto it, LPS <-> crop pixels
    heatmaps   Gaussian heatmap encode / decode (arg-max + windowed centroid), left/right mirroring
    inputs     CropSpec, LevelSlice and the network's input channels (image, sac, disc, rule-point priors)
    network    the small 2D MONAI BasicUNet
    dataset    training examples from annotated levels; augmentation (geometric, mirror, masks, intensity)
    training   the torch loop, the fixed split, model-vs-rules validation
    model      LandmarkModel (inference), weights file, the card-based decision to use the model
    exports    label map of small discs (OHIF), 3D Slicer markups JSON and back
    settings   LandmarksSettings (``--conf landmarks_<field>``)
"""
from lib.landmarks.crop import CropGrid
from lib.landmarks.heatmaps import MIRROR_ORDER, TARGET_NAMES, decode, decode_lps, encode, encode_lps, mirror
from lib.landmarks.inputs import CropSpec, LevelSlice, make_inputs, make_targets

__all__ = [
    "CropGrid", "CropSpec", "LevelSlice", "MIRROR_ORDER", "TARGET_NAMES", "decode", "decode_lps", "encode",
    "encode_lps", "make_inputs", "make_targets", "mirror",
]
