"""Big Transfer (BiT) classifiers from timm: creation with or without pre-trained weights, saving, loading, inference.

Input: float32 tensors (N, 3, S, S) from ``lib.grading.crops`` (3 neighbouring slices as channels, already normalised).
Output: softmax probabilities (N, K).

Pre-trained weights: ``pretrained`` is a path to a local weight file (timm's ``pretrained_cfg_overlay=dict(file=...)``),
``"hub"`` (the model hub, used only if it answers within a few seconds), or empty (random initialisation). When the
weights cannot be had the module says so once in the log and starts from random initialisation.
"""
from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

import numpy as np
import timm
import torch

logger = logging.getLogger(__name__)

HUB_HOST = "huggingface.co"
_warned: set[str] = set()


def _say_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        logger.warning(message)


def hub_reachable(timeout_s: float = 3.0) -> bool:
    """True when the model hub answers a TCP connection within ``timeout_s`` (and HF_HUB_OFFLINE is not set)."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    try:
        with socket.create_connection((HUB_HOST, 443), timeout=timeout_s):
            return True
    except OSError:
        return False


def create_classifier(arch: str, num_classes: int, pretrained: str = "") -> torch.nn.Module:
    """A timm classifier with ``num_classes`` outputs and 3 input channels.

    >>> model = create_classifier("resnetv2_50x1_bit", 4, pretrained="/models/bit_m_r50x1.safetensors")
    """
    if pretrained and pretrained != "hub":
        if Path(pretrained).is_file():
            return timm.create_model(
                arch, pretrained=True, pretrained_cfg_overlay=dict(file=str(pretrained)), num_classes=num_classes
            )
        _say_once(f"file:{pretrained}", f"pre-trained weights {pretrained} not found: {arch} starts from random init")
    elif pretrained == "hub":
        if hub_reachable():
            try:
                return timm.create_model(arch, pretrained=True, num_classes=num_classes)
            except Exception as err:  # hub answered but the download failed
                _say_once(f"hub:{arch}", f"{arch}: pre-trained download failed ({err}); starting from random init")
        else:
            _say_once(f"hub:{arch}", f"{arch}: model hub unreachable; starting from random init (no pre-training)")
    else:
        _say_once(f"none:{arch}", f"{arch}: no pre-trained weights configured; starting from random init")
    return timm.create_model(arch, pretrained=False, num_classes=num_classes)


def save_state_dict(model: torch.nn.Module, path: str | Path) -> Path:
    """Plain state dict (loads with torch.load's weights_only=True default); written atomically."""
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, tmp)
    os.replace(tmp, path)
    return path


def load_classifier(arch: str, num_classes: int, path: str | Path) -> torch.nn.Module:
    """A classifier with trained weights from ``path``, in eval mode."""
    model = timm.create_model(arch, pretrained=False, num_classes=num_classes)
    model.load_state_dict(torch.load(path, map_location="cpu"))
    return model.eval()


@torch.no_grad()
def predict_proba(model: torch.nn.Module, crops: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """Softmax probabilities (N, K) for crops (N, 3, S, S)."""
    model.eval()
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(crops), batch_size):
        x = torch.from_numpy(np.ascontiguousarray(crops[start : start + batch_size], dtype=np.float32))
        out.append(torch.softmax(model(x.to(device)), dim=1).cpu().numpy())
    return np.concatenate(out).astype(float) if out else np.zeros((0, 0))
