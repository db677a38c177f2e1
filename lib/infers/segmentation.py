"""Infer task of the stage 1 V-Net: dural sac (1) and disc (2) on every slice of the axial series."""
from __future__ import annotations

from typing import Callable, Sequence

from monai.inferers import Inferer
from monai.transforms import Activationsd, AsDiscreted, EnsureTyped, SqueezeDimd

from monailabel.interfaces.tasks.infer_v2 import InferType
from monailabel.tasks.infer.basic_infer import BasicInferTask
from monailabel.transform.writer import Writer

from lib.transforms.coarse_to_fine import CoarseToFineInferer, CoarseToFineSettings
from lib.transforms.slices import RestoreSeriesAffined, load_and_resample, pad_to_stride


class Segmentation(BasicInferTask):
    """2D V-Net run slice by slice over the stacked work image; the label lines up with the series.

    The network works at ``spacing_mm`` in-plane; probabilities are resampled back to the series' own pixel grid
    (inverting the padding and spacing) before the arg-max, so boundaries are not blocky.
    The network runs coarse to fine (lib/transforms/coarse_to_fine.py): a cheap coarse pass finds the spine's box and
    the 1 mm pass runs on that crop only (``coarse_to_fine.enabled`` false: whole slices).
    """

    def __init__(self, path, network, labels: dict[str, int], spacing_mm: float, sw_batch_size: int = 8,
                 coarse_to_fine: CoarseToFineSettings | None = None, **kwargs):
        super().__init__(
            path=path,
            network=network,
            type=InferType.SEGMENTATION,
            labels=labels,
            dimension=3,
            description="2D V-Net: dural sac and intervertebral disc on lumbar axial T2",
            load_strict=True,
            **kwargs,
        )
        self.spacing_mm = spacing_mm
        self.sw_batch_size = sw_batch_size
        self.coarse_to_fine = coarse_to_fine or CoarseToFineSettings()

    def pre_transforms(self, data=None) -> Sequence[Callable]:
        return [*load_and_resample(("image",), self.spacing_mm), *pad_to_stride(("image",))]

    def inferer(self, data=None) -> Inferer:
        # the output has the whole (padded) slices' shape: outside the coarse pass's box it says background
        return CoarseToFineInferer(self.spacing_mm, self.coarse_to_fine, self.sw_batch_size)

    def inverse_transforms(self, data=None):
        return []  # undo padding and spacing on the logits

    def post_transforms(self, data=None) -> Sequence[Callable]:
        return [
            EnsureTyped(keys="pred", device="cpu"),
            Activationsd(keys="pred", softmax=True),
            AsDiscreted(keys="pred", argmax=True),
            SqueezeDimd(keys="pred", dim=0),
            EnsureTyped(keys="pred", dtype="uint8", data_type="numpy"),
            RestoreSeriesAffined(),
        ]

    def writer(self, data, extension=None, dtype=None):
        """MONAI Label's writer, through nibabel so the series' affine is written exactly (ITK re-orthogonalises)."""
        if extension is not None:
            data["result_extension"] = extension
        if dtype is not None:
            data["result_dtype"] = dtype
        data["labels"] = self.labels
        return Writer(label=self.output_label_key, json=self.output_json_key, nibabel=True)(data)
