"""Coarse-to-fine slice-by-slice inference of the 2D segmentation network (issue 3: stage 1 in <= 5 s on 2 cores).

Why: the V-Net's cost grows with the pixels it sees (~28 GFLOP per 256 x 256 slice at 1 mm), and on a lumbar axial
slice the dural sac and the disc fill a few square centimetres of a ~25 cm field of view; most of the work of a
whole-slice pass goes into labelling fat, muscle and bowel as background. The speed-up here is *less work*, not
faster kernels:

1. coarse pass: the same network on every ``coarse_slice_step``-th slice resampled in-plane to
   ``coarse_spacing_mm`` (2 mm: a quarter of the pixels), only to find *where* the spine is: the union over slices
   of the pixels whose arg-max is not background gives a bounding box in the fine grid, grown by ``margin_mm`` so
   that anatomy the coarse view misses or clips still lies inside, and snapped outwards to the network's stride
   (16 px) so the crop's down-sampling grid coincides with the whole slice's;
2. fine pass: the network at the input's spacing (1 mm) on that crop of every slice, batched like MONAI's
   SliceInferer;
3. paste: the crop's logits go into a full-size output whose pixels outside the box say "background" (a large
   background logit, zeros for the other classes), so the output has the input's shape and everything downstream
   (inverse padding and spacing, softmax, arg-max, writer) is unchanged.

It falls back to the whole-slice pass (logged) when the coarse pass finds no foreground (untrained weights, a series
without a spine: nothing is cut away on a guess) or when the box covers most of the slice (nothing to save). A slice
whose crop has foreground on an edge of the box inside the image (something the coarse pass missed, e.g. on a slice
it skipped, runs past the box) is run again whole (``check_border``).

The coarse pass needs weights that find the spine at ``coarse_spacing_mm``: the training recipe includes 1.5-2 mm
views (lib/training/segmentation_recipe.py, RandZoomd). Weights trained only at 1 mm +-20 % found the wrong box at
2 mm on phantoms (anatomy cut away); ``--conf segmentation_c2f_enabled false`` or a finer coarse spacing for those.

Inside the box the fine logits are the whole-slice ones up to the network's receptive field reaching past the crop
edge, which moves a few boundary pixels: on 5 phantom studies (the shipped V-Net, card date 2026-11-24T09:24) the
labels of the two passes agree with Dice 0.991 (0.981-0.997) and score the same against the truth (0.976 coarse to
fine, 0.974 whole slices); segmentation of a 45-slice 384 x 384 series took 4.1 s instead of 10.5 s on 2 cores.

Imports torch and MONAI only (no MONAI Label): the infer task, epistemic scoring and the gate's Dice share it.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Callable

import torch
import torch.nn.functional as F
from monai.data import MetaTensor
from monai.inferers import Inferer, SliceInferer
from monai.utils import convert_to_dst_type

logger = logging.getLogger(__name__)

#: Logit of the background class outside the box (the other classes get 0): softmax ~1 for background there.
BACKGROUND_LOGIT = 100.0
#: Foreground this close (px) to an edge of the box inside the image means the box cut something.
BORDER_PX = 2


@dataclass(frozen=True)
class CoarseToFineSettings:
    """``--conf segmentation_c2f_<field> VALUE``.

    ``enabled``: false runs the whole-slice pass only. ``coarse_spacing_mm``: in-plane spacing of the coarse pass.
    ``coarse_slice_step``: the coarse pass sees every n-th slice (the first and the last always); 3 agreed with the
    whole slices as well as 2 on 5 phantoms (label Dice 0.991 both) for ~0.35 s less on 45 slices.
    ``margin_mm``: how far the box is grown around the coarse foreground. ``max_box_fraction``: a box covering more
    than this fraction of the slice area runs the whole slice instead. ``check_border``: slices whose fine pass has
    foreground on an edge of the box (inside the image) are run again on the whole slice.
    """

    enabled: bool = True
    coarse_spacing_mm: float = 2.0
    coarse_slice_step: int = 3
    margin_mm: float = 12.0
    max_box_fraction: float = 0.8
    check_border: bool = True

    def __post_init__(self):
        if self.coarse_spacing_mm <= 0 or self.margin_mm < 0:
            raise ValueError(f"--conf segmentation_c2f_coarse_spacing_mm must be > 0 and segmentation_c2f_margin_mm "
                             f">= 0, got {self.coarse_spacing_mm} and {self.margin_mm}")
        if self.coarse_slice_step < 1:
            raise ValueError(f"--conf segmentation_c2f_coarse_slice_step must be >= 1, got {self.coarse_slice_step}")
        if not 0.0 < self.max_box_fraction <= 1.0:
            raise ValueError(f"--conf segmentation_c2f_max_box_fraction must be in (0, 1], got {self.max_box_fraction}")


@dataclass(frozen=True)
class Box:
    """In-plane crop ``[rows, cols]`` (axes H, W of ``[B, C, H, W, S]``) of a ``height`` x ``width`` slice."""

    rows: slice
    cols: slice
    height: int
    width: int

    @property
    def fraction(self) -> float:
        return (self.rows.stop - self.rows.start) * (self.cols.stop - self.cols.start) / (self.height * self.width)

    def __str__(self) -> str:
        return (f"rows {self.rows.start}:{self.rows.stop}, cols {self.cols.start}:{self.cols.stop} of "
                f"{self.height}x{self.width} ({100 * self.fraction:.0f}% of the slice)")


def _span(first: int, last: int, coarse_size: int, fine_size: int, margin_px: int, stride: int) -> slice:
    """Coarse pixels ``first..last`` -> the fine pixels they cover, grown by ``margin_px``, snapped to ``stride``."""
    scale = fine_size / coarse_size
    start = math.floor(first * scale) - margin_px
    stop = math.ceil((last + 1) * scale) + margin_px
    start = max(0, (start // stride) * stride)
    stop = min(fine_size, -(-stop // stride) * stride)
    return slice(start, stop)


def _on_inner_border(crop_foreground: torch.Tensor, box: Box, width: int = BORDER_PX) -> torch.Tensor:
    """``crop_foreground[B, h, w, S]`` (on the box) -> ``[B, S]``: foreground within ``width`` px of an edge of the
    box that is not the image's own edge."""
    band = torch.zeros(crop_foreground.shape[1:3], dtype=torch.bool, device=crop_foreground.device)
    if box.rows.start > 0:
        band[:width] = True
    if box.rows.stop < box.height:
        band[-width:] = True
    if box.cols.start > 0:
        band[:, :width] = True
    if box.cols.stop < box.width:
        band[:, -width:] = True
    return (crop_foreground & band[None, :, :, None]).any(dim=1).any(dim=1)


def paste(crop: torch.Tensor, box: Box, background_value: float, channel_dim: int = 1,
          spatial_dims: tuple[int, int] = (2, 3)) -> torch.Tensor:
    """``crop`` (network outputs on the box) into a full-size tensor: outside the box channel 0 holds
    ``background_value`` and the other channels 0."""
    shape = list(crop.shape)
    shape[spatial_dims[0]], shape[spatial_dims[1]] = box.height, box.width
    out = crop.new_zeros(shape)
    out.select(channel_dim, 0).fill_(background_value)
    index = [slice(None)] * crop.ndim
    index[spatial_dims[0]], index[spatial_dims[1]] = box.rows, box.cols
    out[tuple(index)] = crop
    return out


class CoarseToFineInferer(Inferer):
    """Slice-by-slice inference of a 2D network over ``[B, C, H, W, S]`` (slices last) on a crop found by a coarse
    pass (see module docstring). ``spacing_mm``: the input's in-plane spacing; H and W must be multiples of
    ``stride``. The box is the union over the whole batch (B is 1 in the infer task)."""

    def __init__(self, spacing_mm: float, settings: CoarseToFineSettings | None = None, sw_batch_size: int = 8,
                 stride: int = 16):
        super().__init__()
        self.spacing_mm = float(spacing_mm)
        self.settings = settings or CoarseToFineSettings()
        self.sw_batch_size = int(sw_batch_size)
        self.stride = int(stride)
        self.last_box: Box | None = None  # the box of the last call (None: whole slices), for logs and tests
        self.last_rerun: tuple[int, ...] = ()  # slices of the last call run whole because the box cut them

    def __call__(self, inputs: torch.Tensor, network: Callable[..., torch.Tensor], *args: Any,
                 **kwargs: Any) -> torch.Tensor:
        x = inputs.as_tensor() if isinstance(inputs, MetaTensor) else inputs
        box = self.find_box(x, network) if self.settings.enabled else None
        out = self.run(x, network, box)
        if isinstance(inputs, MetaTensor):  # keep the input's meta (applied operations) for the inverse transforms
            out = convert_to_dst_type(out, MetaTensor([]).copy_meta_from(inputs, copy_attr=False))[0]
        return out

    def run(self, x: torch.Tensor, network: Callable[..., torch.Tensor], box: Box | None,
            background_value: float = BACKGROUND_LOGIT) -> torch.Tensor:
        """The network on every slice of ``x`` ``[B, C, H, W, S]``: on ``box`` pasted into the full size with
        ``background_value`` outside, or on the whole slices when ``box`` is None. With ``check_border``, slices whose
        crop has foreground on an edge of the box inside the image (the box cut something) are run whole."""
        self.last_box, self.last_rerun = box, ()
        slices = SliceInferer(roi_size=(-1, -1), spatial_dim=2, sw_batch_size=self.sw_batch_size, progress=False)
        if box is None:
            return slices(x, network)
        crop = slices(x[:, :, box.rows, box.cols], network)
        out = paste(crop, box, background_value)
        if self.settings.check_border:
            cut = torch.nonzero(_on_inner_border(crop.argmax(dim=1) != 0, box).any(dim=0)).flatten()
            if len(cut):
                self.last_rerun = tuple(int(k) for k in cut)
                logger.info(f"coarse-to-fine: {len(cut)} of {x.shape[-1]} slices have foreground on the box's edge; "
                            f"running them whole")
                out[..., cut] = slices(x[..., cut], network).to(out.dtype)
        return out

    def find_box(self, x: torch.Tensor, network: Callable[..., torch.Tensor]) -> Box | None:
        """The coarse pass: the crop to run at full resolution, or None for the whole slices (and why, logged)."""
        if self.settings.coarse_spacing_mm <= self.spacing_mm:
            logger.info(f"coarse-to-fine: the input is at {self.spacing_mm:g} mm, not finer than the coarse pass's "
                        f"{self.settings.coarse_spacing_mm:g} mm; running the whole slices")
            return None
        start = time.perf_counter()
        height, width = int(x.shape[2]), int(x.shape[3])
        foreground, coarse_slices = self.coarse_foreground(x, network)
        seconds = time.perf_counter() - start
        if not foreground.any():
            logger.info(f"coarse-to-fine: the coarse pass ({coarse_slices} slices at "
                        f"{self.settings.coarse_spacing_mm:g} mm, {seconds:.2f} s) found no foreground; "
                        f"running the whole slices")
            return None
        rows = torch.nonzero(foreground.any(dim=1)).flatten()
        cols = torch.nonzero(foreground.any(dim=0)).flatten()
        margin_px = math.ceil(self.settings.margin_mm / self.spacing_mm)
        box = Box(_span(int(rows[0]), int(rows[-1]), foreground.shape[0], height, margin_px, self.stride),
                  _span(int(cols[0]), int(cols[-1]), foreground.shape[1], width, margin_px, self.stride),
                  height, width)
        if box.fraction > self.settings.max_box_fraction:
            logger.info(f"coarse-to-fine: box {box} is more than {100 * self.settings.max_box_fraction:.0f}% of the "
                        f"slice; running the whole slices")
            return None
        logger.info(f"coarse-to-fine: coarse pass on {coarse_slices} slices at {self.settings.coarse_spacing_mm:g} mm "
                    f"in {seconds:.2f} s; fine pass on {box}")
        return box

    def coarse_foreground(self, x: torch.Tensor, network: Callable[..., torch.Tensor]) -> tuple[torch.Tensor, int]:
        """Union over the batch and every ``coarse_slice_step``-th slice of the network's foreground (arg-max not
        background; the arg-max of the logits is that of the softmax) on the slices resampled to
        ``coarse_spacing_mm``: a bool ``[h, w]`` map on the coarse grid, and how many slices it looked at."""
        b, c, height, width, depth = x.shape
        index = sorted(set(range(0, depth, self.settings.coarse_slice_step)) | {depth - 1})
        slices = x[..., index].permute(0, 4, 1, 2, 3).reshape(b * len(index), c, height, width)
        scale = self.spacing_mm / self.settings.coarse_spacing_mm
        h, w = max(1, round(height * scale)), max(1, round(width * scale))
        coarse = F.interpolate(slices, size=(h, w), mode="bilinear", antialias=scale < 1.0, align_corners=False)
        coarse = F.pad(coarse, (0, -w % self.stride, 0, -h % self.stride))
        foreground = torch.zeros((h, w), dtype=torch.bool, device=x.device)
        with torch.no_grad():
            for chunk in coarse.split(self.sw_batch_size):
                foreground |= (network(chunk).argmax(dim=1) != 0).any(dim=0)[:h, :w]
        return foreground, len(index)
