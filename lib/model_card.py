"""Model cards: what each weight file in ``model/`` was trained on, with which settings, how well, and when."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any


def card_path(weights_path: str | Path) -> Path:
    """``model/segmentation.pt`` -> ``model/segmentation.card.json``."""
    p = Path(weights_path)
    return p.with_name(p.name.split(".")[0] + ".card.json")


def write_model_card(weights_path: str | Path, *, model: str, data: dict, settings: Any, metrics: dict,
                     notes: str = "") -> Path:
    """Write the JSON model card beside ``weights_path`` (atomically) and return its path."""
    path = card_path(weights_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    card = {
        "model": model,
        "weights": Path(weights_path).name,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "data": data,
        "settings": dataclasses.asdict(settings) if dataclasses.is_dataclass(settings) else settings,
        "validation": metrics,
        "notes": notes,
    }
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(card, indent=1, default=str))
    os.replace(tmp, path)
    return path


def read_model_card(weights_path: str | Path) -> dict:
    """The card beside a weight file, or {} when there is none."""
    path = card_path(weights_path)
    return json.loads(path.read_text()) if path.exists() else {}


def model_version(weights_path: str | Path) -> str:
    """A short version string for results: the card's date, or the file's modification time, or 'untrained'."""
    p = Path(weights_path)
    if not p.exists():
        return "untrained"
    card = read_model_card(p)
    if card.get("date"):
        return card["date"]
    return dt.datetime.fromtimestamp(p.stat().st_mtime, dt.timezone.utc).isoformat(timespec="seconds")
