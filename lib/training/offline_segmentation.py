"""Offline training of the stage 1 V-Net on a GPU node (or CPUs), alone or under torch.distributed.

The MONAI Label train task (``POST /train/segmentation``) is the annotator loop's trainer; it runs inside the
server on whatever the server has. Bulk training on a large labelled archive belongs on a GPU node instead, where
the server and its dependencies need not be installed. This module trains the same network with the same recipe
(lib/training/segmentation_recipe.py) from (work image, label) pairs and writes the same ``model/segmentation.pt``
(a plain state dict) and model card, so the server loads it unchanged.

It imports torch and MONAI only. Under ``torchrun`` (WORLD_SIZE > 1) each rank trains on its share of the
studies with DistributedDataParallel and rank 0 validates and writes the weights.
"""
from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from lib.model_card import read_model_card, write_model_card
from lib.networks import SEGMENTATION_CLASSES, segmentation_vnet
from lib.training import segmentation_recipe as recipe
from lib.training.segmentation_recipe import SegmentationTrainSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OfflineRunSettings:
    """How long and how wide one offline run trains (the recipe itself is SegmentationTrainSettings)."""

    batch_images: int = 8          # volumes per step; each gives ``crops_per_image`` crops
    workers: int = 4               # data loader processes (augmentation runs on the CPU)
    max_minutes: float = 10.0      # wall-clock budget; the learning rate follows a cosine over it
    warmup_steps: int = 100
    val_every_steps: int = 400
    val_fraction: float = 0.1
    seed: int = 0
    save_half: bool = False        # write fp16 weights (half the size; loaded into fp32 networks unchanged)


def phantom_datalist(data_dir: Path, work_dir: Path, workers: int = 1) -> list[dict]:
    """(work image, truth label) pairs of a phantom dataset (``DIR/dicom/<id>``, ``DIR/truth/<id>_labels.nii.gz``).

    Each study goes through the same ingestion as the server (lib/datastore/work_images.py), so the network is
    trained on exactly the stacked volumes it will be served; studies that cannot be read are logged and skipped.
    """
    from concurrent.futures import ProcessPoolExecutor

    studies = [(p, data_dir / "truth" / f"{p.name}_labels.nii.gz", work_dir)
               for p in sorted((data_dir / "dicom").iterdir()) if p.is_dir()]
    studies = [s for s in studies if s[1].exists()]
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            pairs = list(pool.map(_ingest_pair, studies))
    else:
        pairs = [_ingest_pair(s) for s in studies]
    return [p for p in pairs if p is not None]


def _ingest_pair(job: tuple[Path, Path, Path]) -> dict | None:
    """One study's work image and label, or None (logged) when the study cannot be read."""
    from lib.datastore.work_images import StudyError, ingest_study

    study_dir, label, work_dir = job
    try:
        work = ingest_study(study_dir, study_dir.name, work_dir / "images", work_dir / "geometry")
    except StudyError as e:
        logger.warning(f"skipped {study_dir.name}: {e}")
        return None
    return {"image": str(work.image_path), "label": str(label), "study_id": study_dir.name}


def _distributed() -> tuple[int, int]:
    """(rank, world size), initialising the process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (torch.distributed.get_rank() if world > 1 else 0), world


def _learning_rate(base: float, step: int, elapsed_s: float, run: OfflineRunSettings) -> float:
    """Linear warm-up, then a cosine over the wall-clock budget (the number of steps is not known in advance)."""
    if step < run.warmup_steps:
        return base * (step + 1) / run.warmup_steps
    progress = min(1.0, elapsed_s / (run.max_minutes * 60.0))
    return base * 0.5 * (1.0 + math.cos(math.pi * progress))


@torch.no_grad()
def validate(network: torch.nn.Module, loader, device: torch.device) -> dict[str, float]:
    """Mean Dice per label over whole validation volumes, run slice by slice the way inference runs."""
    from monai.inferers import SliceInferer
    from monai.metrics import DiceMetric
    from monai.networks.utils import one_hot

    network.eval()
    inferer = SliceInferer(roi_size=(-1, -1), spatial_dim=2, sw_batch_size=32, progress=False)
    metric = DiceMetric(include_background=False, reduction="mean_batch")
    for batch in loader:
        image, label = batch["image"].to(device), batch["label"].to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            logits = inferer(image, network)
        pred = one_hot(logits.float().argmax(1, keepdim=True), SEGMENTATION_CLASSES)
        metric(pred, one_hot(label.long(), SEGMENTATION_CLASSES))
    dice = metric.aggregate().cpu().numpy()
    network.train()
    return {"dice_dural_sac": float(dice[0]), "dice_disc": float(dice[1]), "mean_dice": float(np.mean(dice))}


def train_segmentation_offline(datalist: list[dict], model_path: Path, settings: SegmentationTrainSettings,
                               run: OfflineRunSettings, init_path: Path | None = None) -> dict:
    """Train the V-Net on ``datalist`` and write the best validated weights (and card) to ``model_path``."""
    from monai.data import CacheDataset, DataLoader, partition_dataset
    from monai.transforms import Compose
    from monai.utils import set_determinism

    rank, world = _distributed()
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu")
    set_determinism(seed=run.seed + rank)
    rng = np.random.default_rng(run.seed)
    order = rng.permutation(len(datalist))
    n_val = max(1, int(round(run.val_fraction * len(datalist))))
    val_list = [datalist[i] for i in order[:n_val]]
    train_list = [datalist[i] for i in order[n_val:]]
    if world > 1:
        train_list = partition_dataset(train_list, num_partitions=world, shuffle=True, seed=run.seed)[rank]

    train_ds = CacheDataset(train_list, Compose(recipe.train_transforms(settings)), num_workers=run.workers)
    train_loader = DataLoader(train_ds, batch_size=run.batch_images, shuffle=True, num_workers=run.workers,
                              persistent_workers=run.workers > 0, drop_last=True)
    val_loader = DataLoader(CacheDataset(val_list, Compose(recipe.val_transforms(settings)), num_workers=run.workers),
                            batch_size=1, num_workers=0)

    network = segmentation_vnet().to(device)
    if init_path and Path(init_path).exists():
        network.load_state_dict(torch.load(init_path, map_location=device, weights_only=True))
        logger.info(f"starting from {init_path}")
    model = torch.nn.parallel.DistributedDataParallel(network, device_ids=[device.index]) if world > 1 else network
    optimizer = recipe.optimizer(network, settings)
    loss_fn = recipe.loss_function()

    start, step, best, history = time.time(), 0, {"mean_dice": -1.0}, []
    budget_s = run.max_minutes * 60.0

    def validate_and_keep_best(**record) -> dict[str, float]:
        """Validate, log to the history, and write the weights when they are the best so far (rank 0 only)."""
        nonlocal best
        scores = validate(network, val_loader, device)
        history.append({"step": step, "minutes": round((time.time() - start) / 60, 2), **record, **scores})
        if scores["mean_dice"] > best["mean_dice"]:
            best = {"step": step, **scores}
            _save(network, model_path, run.save_half)
        return scores
    while time.time() - start < budget_s:
        for batch in train_loader:
            elapsed = time.time() - start
            if elapsed >= budget_s:
                break
            for group in optimizer.param_groups:
                group["lr"] = _learning_rate(settings.learning_rate, step, elapsed, run)
            image, label = batch["image"].to(device, non_blocking=True), batch["label"].to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                loss = loss_fn(model(image).float(), label)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            if rank == 0 and step % run.val_every_steps == 0:
                scores = validate_and_keep_best(loss=float(loss))
                logger.info(f"step {step} ({elapsed:.0f} s) loss {float(loss):.4f} val {scores}")
    if rank == 0:
        validate_and_keep_best()
        write_model_card(
            model_path, model="segmentation",
            data={"train_studies": len(train_list) * world, "val_studies": len(val_list),
                  "source": "synthetic phantoms (lib/phantom)",
                  "initialised_from": read_model_card(init_path) if init_path and Path(init_path).exists() else None},
            settings={**asdict(settings), "offline": asdict(run), "device": str(device), "world_size": world},
            metrics={"best_metric": best["mean_dice"], **best, "steps": step, "history": history},
            notes="offline trainer (lib/training/offline_segmentation.py); Dice on whole validation volumes at "
                  f"{settings.spacing_mm} mm",
        )
    if world > 1:
        torch.distributed.destroy_process_group()
    return best


def _save(network: torch.nn.Module, model_path: Path, half: bool) -> None:
    """Write the state dict atomically (fp16 when asked: load_state_dict casts it back into fp32 parameters)."""
    state = {k: (v.half() if half and v.is_floating_point() else v).detach().cpu()
             for k, v in network.state_dict().items()}
    model_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = model_path.with_name(f".{model_path.name}.tmp")
    torch.save(state, tmp)
    os.replace(tmp, model_path)
