"""Run the train task of every selected model, in dependency order, on a datastore."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from lib.configs.registry import MODEL_CONFIGS

logger = logging.getLogger(__name__)


def train_models(datastore, model_dir: Path, conf: dict[str, str], skip_existing: bool = False) -> dict[str, dict]:
    """Train each model named in ``conf['models']`` (or all) in registry order; returns each one's stats.

    ``skip_existing`` leaves alone every model whose weight files are all there (the shipped segmentation
    weights, or a model trained earlier), so ``make models`` only fills what is missing.
    """
    asked = [m.strip() for m in conf.get("models", "all").split(",")]
    names = list(MODEL_CONFIGS) if "all" in asked else [m for m in MODEL_CONFIGS if m in asked]
    model_dir.mkdir(parents=True, exist_ok=True)
    results = {}
    for name in names:
        config = MODEL_CONFIGS[name]()
        config.init(name, str(model_dir), conf, None)
        weights = [config.path] if isinstance(config.path, str) else list(config.path or [])
        if skip_existing and weights and all(os.path.exists(p) for p in weights):
            logger.info(f"{name}: weights present ({', '.join(weights)}), not retrained")
            continue
        task = config.trainer()
        if task is None:
            continue
        logger.info(f"Training {name} ...")
        request = {"name": "train_01", "device": "cpu", "multi_gpu": False, "dataset": "CacheDataset",
                   "dataloader": "ThreadDataLoader"}
        results[name] = task(request, datastore) or {}
    return results
