"""Which studies a strategy may hand out: not labelled, and not held by another annotator (unless asked).

MONAI Label records each hand-out in the study's image info: ``info["strategy"][<strategy>] = {"ts", "client_id"}``
(``POST /activelearning/{strategy}`` with ``{"client_id": ...}``; without one, the user name). A client holds the study
it was handed last, for ``hold_seconds``: asking for the next study lets the previous one go, and saving its final
label ends the hold (it is labelled).

Request flags (JSON body of ``POST /activelearning/{strategy}``): ``include_labeled`` also offers studies that have a
final label (to review them), ``include_held`` also offers studies another annotator holds.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Mapping

_TRUE = {"1", "true", "yes", "on"}


def flag(request: Mapping[str, Any], name: str) -> bool:
    value = request.get(name, False)
    return value if isinstance(value, bool) else str(value).strip().lower() in _TRUE


def latest_hand_out(info: Mapping[str, Any]) -> dict | None:
    """The latest ``{"ts", "client_id"}`` hand-out of a study by any strategy, or None."""
    served = [s for s in (info.get("strategy") or {}).values() if isinstance(s, dict) and s.get("ts")]
    return max(served, key=lambda s: s["ts"]) if served else None


def holders(infos: Mapping[str, Mapping[str, Any]], now: float, hold_seconds: float) -> dict[str, str]:
    """``{study: client}`` for the studies held now: each client holds only the study it was handed last, and only
    for ``hold_seconds`` (asking for the next study lets the previous one go)."""
    latest: dict[str, tuple[float, str]] = {}
    for image_id, info in infos.items():
        hand_out = latest_hand_out(info)
        if hand_out and now - float(hand_out["ts"]) < hold_seconds:
            client = str(hand_out.get("client_id"))
            latest[client] = max(latest.get(client, (0.0, "")), (float(hand_out["ts"]), image_id))
    return {image_id: client for client, (_, image_id) in latest.items()}


@dataclass(frozen=True)
class Pool:
    """The studies a strategy may choose from, their infos, and what was left out and why."""

    ids: tuple[str, ...]
    infos: dict[str, dict] = field(repr=False)
    held: dict[str, str]
    labeled_excluded: int

    def summary(self) -> dict:
        return {"candidates": len(self.ids), "held_by_others": len(self.held),
                "labeled_excluded": self.labeled_excluded}


def candidate_pool(request: Mapping[str, Any], datastore, hold_seconds: float, now: float | None = None) -> Pool:
    """Unlabelled studies (all, with ``include_labeled``) not held by another client (all, with ``include_held``)."""
    now = time.time() if now is None else now
    me = request.get("client_id")
    all_ids = datastore.list_images()
    infos = {i: datastore.get_image_info(i) for i in all_ids}
    unlabeled = set(datastore.get_unlabeled_images())
    with_labeled = flag(request, "include_labeled")
    ids = sorted(all_ids) if with_labeled else sorted(unlabeled)
    held = {} if flag(request, "include_held") else {
        i: c for i, c in holders(infos, now, hold_seconds).items() if c != me and i in ids}
    kept = tuple(i for i in ids if i not in held)
    return Pool(kept, {i: infos[i] for i in kept}, held, 0 if with_labeled else len(all_ids) - len(unlabeled))
