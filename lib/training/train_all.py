"""Run the train task of every selected model, in dependency order, on a datastore."""
from __future__ import annotations

import logging
from pathlib import Path

from lib.configs.registry import MODEL_CONFIGS

logger = logging.getLogger(__name__)


def train_models(datastore, model_dir: Path, conf: dict[str, str]) -> dict[str, dict]:
    """Train each model named in ``conf['models']`` (or all) in registry order; returns each one's stats."""
    asked = [m.strip() for m in conf.get("models", "all").split(",")]
    names = list(MODEL_CONFIGS) if "all" in asked else [m for m in MODEL_CONFIGS if m in asked]
    model_dir.mkdir(parents=True, exist_ok=True)
    results = {}
    for name in names:
        config = MODEL_CONFIGS[name]()
        config.init(name, str(model_dir), conf, None)
        task = config.trainer()
        if task is None:
            continue
        logger.info(f"Training {name} ...")
        request = {"name": "train_01", "device": "cpu", "multi_gpu": False, "dataset": "CacheDataset",
                   "dataloader": "ThreadDataLoader"}
        results[name] = task(request, datastore) or {}
    return results
