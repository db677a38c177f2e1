"""MONAI Label's string conf parsed once into typed settings."""
from dataclasses import dataclass

import pytest

from lib.conf import from_conf


@dataclass(frozen=True)
class Settings:
    epochs: int = 3
    rate: float = 0.1
    flag: bool = False
    sizes: tuple[int, ...] = (1, 2)
    name: str = "x"


def test_reads_prefixed_keys_with_types_and_keeps_defaults():
    s = from_conf(Settings, {"seg_epochs": "7", "seg_flag": "true", "seg_sizes": "[4, 5]", "other": "1"}, "seg_")
    assert s == Settings(epochs=7, flag=True, sizes=(4, 5))


def test_bad_value_names_the_key_and_value():
    with pytest.raises(ValueError, match="seg_epochs 'many'"):
        from_conf(Settings, {"seg_epochs": "many"}, "seg_")
    with pytest.raises(ValueError, match="seg_flag"):
        from_conf(Settings, {"seg_flag": "maybe"}, "seg_")
