"""The fixed validation split: once a labelled study is put in training or validation, it stays there.

Studies are assigned in the order their labels arrived. A study goes to validation when that keeps the validation
share at most ``fraction`` of the assigned studies (fraction 0.2: the 5th, 10th, 15th ... labelled studies), so the
first labelled studies always train a model, and the validation studies never enter any training of a gated model.
The assignment is kept in ``<model_dir>/retraining/validation_split.json`` and shared by every model and process.

Example::

    split = FixedValidationSplit(store.dir / "validation_split.json", fraction=0.2)
    train_ids, val_ids = split.assign(["s1", "s2", "s3", "s4", "s5"])   # -> ["s1".."s4"], ["s5"]
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable

from lib.retraining.store import update_json

TRAIN = "train"
VALIDATION = "validation"


class FixedValidationSplit:
    def __init__(self, path: str | Path, fraction: float):
        if not 0.0 <= fraction < 1.0:
            raise ValueError(f"validation fraction must be in [0, 1), got {fraction!r}")
        self.path = Path(path)
        self.fraction = fraction

    def assign(self, labelled_in_order: Iterable[str]) -> tuple[list[str], list[str]]:
        """Assign the studies not yet assigned (in the given order); returns (train, validation) among the given."""
        wanted = list(labelled_in_order)

        def change(state: dict) -> dict:
            assigned: dict[str, str] = state.get("assigned", {})
            n_val = sum(1 for v in assigned.values() if v == VALIDATION)
            for image_id in wanted:
                if image_id in assigned:
                    continue
                to_val = n_val < math.floor(self.fraction * (len(assigned) + 1) + 1e-9)
                assigned[image_id] = VALIDATION if to_val else TRAIN
                n_val += to_val
            return {"fraction": self.fraction, "assigned": assigned}

        assigned = update_json(self.path, change, {})["assigned"]
        return ([i for i in wanted if assigned[i] == TRAIN], [i for i in wanted if assigned[i] == VALIDATION])
