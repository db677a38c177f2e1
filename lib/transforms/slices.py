"""Pre-processing of stacked axial work images for 2D models: in-plane resampling to millimetres, intensity
normalisation robust to vendor scales, and padding the slices to the network's stride.

Work images are ``[col, row, slice]`` (docs/CONTRACTS.md); axis 2 (slices) is never resampled, so slice k of every
output is slice k of the series, contiguous or angled.
"""
from __future__ import annotations

from monai.transforms import (
    DivisiblePadd,
    EnsureChannelFirstd,
    EnsureTyped,
    LoadImaged,
    ScaleIntensityRangePercentilesd,
    Spacingd,
)

#: Percentiles of each volume mapped to 0 and 1: vendors scale T2 intensities differently (GE ~3000, Siemens ~1000).
INTENSITY_PERCENTILES = (1.0, 99.5)


def load_and_resample(keys: tuple[str, ...], spacing_mm: float, label_keys: tuple[str, ...] = ()) -> list:
    """Load NIfTI, channel first, resample in-plane to ``spacing_mm`` (slice axis untouched), normalise images."""
    image_keys = tuple(k for k in keys if k not in label_keys)
    modes = tuple("nearest" if k in label_keys else "bilinear" for k in keys)
    return [
        LoadImaged(keys=keys, image_only=True),
        EnsureChannelFirstd(keys=keys),
        EnsureTyped(keys=keys, dtype=None),
        Spacingd(keys=keys, pixdim=(spacing_mm, spacing_mm, -1.0), mode=modes, allow_missing_keys=True),
        ScaleIntensityRangePercentilesd(
            keys=image_keys, lower=INTENSITY_PERCENTILES[0], upper=INTENSITY_PERCENTILES[1], b_min=0.0, b_max=1.0,
            clip=True,
        ),
    ]


def pad_to_stride(keys: tuple[str, ...], stride: int = 16) -> list:
    """Pad height and width to a multiple of the network's total stride (slices untouched)."""
    return [DivisiblePadd(keys=keys, k=(stride, stride, 1))]


class RestoreSeriesAffined:
    """Give the writer the work image's own affine, read from its NIfTI header.

    MONAI Label's Writer reads the affine from ``<label key>_meta_dict`` (else the label tensor); after inverting
    spacing and padding the prediction lies on the work image's own grid, so that image's affine is the right one.
    """

    def __init__(self, image_path_key: str = "image_path", ref_image: str = "pred"):
        self.image_path_key = image_path_key
        self.ref_image = ref_image

    def __call__(self, data):
        import nibabel as nib

        d = dict(data)
        d[f"{self.ref_image}_meta_dict"] = {"affine": nib.load(d[self.image_path_key]).affine}
        return d
