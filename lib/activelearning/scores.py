"""A study's stored scores, in its image info (``GET /datastore/image/info`` shows them)::

    info["scores"] = {"epistemic": {"value": 0.031, "model_version": "2026-11-24T10:00:00+00:00", "ts": 1764000000,
                                    "details": {...}},
                      "grading_uncertainty": {...}}

A score is stale when ``model_version`` differs from the version its method would score with now. Written with a
read-modify-write under the datastore's lock (``modify_image_info``, lib/retraining/shared_index.py) when the
datastore has it, so two methods scoring the same study never erase each other's score.
"""
from __future__ import annotations

import time
from typing import Any, Mapping

SCORES_KEY = "scores"


def stored_score(info: Mapping[str, Any], method: str) -> dict | None:
    """The stored score of ``method`` in a study's info, or None."""
    record = (info.get(SCORES_KEY) or {}).get(method)
    return record if isinstance(record, dict) and isinstance(record.get("value"), (int, float)) else None


def score_record(value: float, model_version: str, details: Mapping[str, Any] | None = None) -> dict:
    return {"value": float(value), "model_version": model_version, "ts": int(time.time()),
            "details": dict(details or {})}


def write_score(datastore, image_id: str, method: str, record: Mapping[str, Any]) -> None:
    """Store ``record`` as ``info["scores"][method]`` of ``image_id``, leaving the other methods' scores alone."""
    def change(info: dict) -> dict:
        return {SCORES_KEY: {**(info.get(SCORES_KEY) or {}), method: dict(record)}}

    if hasattr(datastore, "modify_image_info"):
        datastore.modify_image_info(image_id, change)
    else:
        datastore.update_image_info(image_id, change(datastore.get_image_info(image_id)))
