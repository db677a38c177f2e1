"""MONAI Label's string ``--conf KEY VALUE`` pairs parsed once, at the edge, into typed frozen dataclasses.

Every model keeps its settings in a dataclass with defaults; ``from_conf(Settings, conf, prefix="segmentation_")``
reads ``--conf segmentation_max_epochs 5`` into ``Settings.max_epochs: int``. Unknown keys are ignored, bad values
raise ``ValueError`` naming the key and the value.
"""
from __future__ import annotations

import dataclasses
import json
import typing
from typing import Any, Mapping, TypeVar

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _convert(key: str, raw: Any, kind: Any) -> Any:
    """Convert one conf string to the field's declared type."""
    if not isinstance(raw, str):
        return raw
    origin = typing.get_origin(kind)
    try:
        if kind is bool:
            low = raw.strip().lower()
            if low not in _TRUE | _FALSE:
                raise ValueError("expected true or false")
            return low in _TRUE
        if kind in (int, float, str):
            return kind(raw)
        if origin in (tuple, list):
            value = json.loads(raw) if raw.strip().startswith("[") else [v for v in raw.split(",") if v.strip()]
            args = [a for a in typing.get_args(kind) if a is not Ellipsis]
            item = args[0] if args else str
            return tuple(_convert(key, v if not isinstance(v, str) else v.strip(), item) for v in value)
    except ValueError as e:
        raise ValueError(f"--conf {key} {raw!r}: {e}") from None
    return raw


def from_conf(cls: type[T], conf: Mapping[str, Any] | None, prefix: str = "", **overrides: Any) -> T:
    """Build the settings dataclass ``cls`` from conf keys ``prefix + field_name`` (defaults for the rest)."""
    conf = conf or {}
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        key = prefix + f.name
        if key in conf and conf[key] is not None:
            values[f.name] = _convert(key, conf[key], hints[f.name])
    values.update(overrides)
    return cls(**values)
