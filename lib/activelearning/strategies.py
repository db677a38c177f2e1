"""Active learning strategies (``POST /activelearning/{name}``) that respect labels and holds.

- ``HoldAware(WeightedRandom())``, ``HoldAware(First())``: MONAI Label's ``random`` (fixed for a pool served within
  one second) and ``first``, choosing among the candidate pool (lib/activelearning/candidates.py) instead of all
  unlabelled studies.
- ``ScoredStrategy("epistemic")``, ``ScoredStrategy("grading_uncertainty")``: the candidate with the highest stored
  score (lib/activelearning/scores.py). Serving only reads scores; they are computed in the background. When no
  candidate has one yet, a random candidate is served and the response says so (``"fallback"``).

Every response carries the pool summary (``candidates``, ``held_by_others``, ``labeled_excluded``).
"""
from __future__ import annotations

import logging
import random
import time
from typing import Any

from monailabel.interfaces.tasks.strategy import Strategy

from lib.activelearning.candidates import Pool, candidate_pool
from lib.activelearning.scores import stored_score

logger = logging.getLogger(__name__)


class PoolView:
    """A datastore whose unlabelled images are the pool's studies (what MONAI Label's strategies choose among)."""

    def __init__(self, datastore, pool: Pool):
        self._datastore = datastore
        self._pool = pool

    def __getattr__(self, name: str) -> Any:
        return getattr(self._datastore, name)

    def get_unlabeled_images(self, *args, **kwargs) -> list[str]:
        return list(self._pool.ids)

    def get_image_info(self, image_id: str) -> dict:
        return self._pool.infos.get(image_id) or self._datastore.get_image_info(image_id)


class WeightedRandom(Strategy):
    """MONAI Label's ``random``: weighted by the seconds since this strategy last served each study, plus one second
    (MONAI Label's raises "Total of weights must be greater than zero" when every candidate was served this second)."""

    def __init__(self):
        super().__init__("Random, least recently served first")

    def __call__(self, request, datastore):
        images = datastore.get_unlabeled_images()
        if not images:
            return None
        now = int(time.time())
        strategy = request.get("strategy", "random")
        weights = [now - datastore.get_image_info(i).get("strategy", {}).get(strategy, {}).get("ts", 0) + 1
                   for i in images]
        index = random.choices(range(len(images)), weights=weights)[0]
        return {"id": images[index], "weight": weights[index]}


class HoldAware(Strategy):
    """A MONAI Label strategy run on the candidate pool: never a labelled or held study unless the request asks."""

    def __init__(self, inner: Strategy, hold_seconds: float):
        super().__init__(f"{inner.description} (not labelled, not held by another annotator)")
        self.inner = inner
        self.hold_seconds = hold_seconds

    def __call__(self, request, datastore):
        pool = candidate_pool(request, datastore, self.hold_seconds)
        if not pool.ids:
            logger.info(f"{request.get('strategy')}: no study to hand out: {pool.summary()}")
            return None
        result = self.inner(request, PoolView(datastore, pool))
        return {**result, **pool.summary()} if result else None


class ScoredStrategy(Strategy):
    """The candidate with the highest stored ``method`` score; random among candidates when none is scored."""

    def __init__(self, method: str, hold_seconds: float, description: str):
        super().__init__(description)
        self.method = method
        self.hold_seconds = hold_seconds

    def __call__(self, request, datastore):
        pool = candidate_pool(request, datastore, self.hold_seconds)
        if not pool.ids:
            logger.info(f"{self.method}: no study to hand out: {pool.summary()}")
            return None
        scored = {i: s for i in pool.ids if (s := stored_score(pool.infos[i], self.method))}
        if not scored:
            image_id = random.choice(pool.ids)
            return {"id": image_id, "fallback": "random", **pool.summary(),
                    "reason": f"no candidate study has a stored '{self.method}' score yet (scores are computed in "
                              f"the background); chose one at random"}
        image_id = max(scored, key=lambda i: (scored[i]["value"], -scored[i].get("ts", 0), i))
        best = scored[image_id]
        return {"id": image_id, "score": best["value"], "score_method": self.method,
                "score_model_version": best.get("model_version"), "score_ts": best.get("ts"),
                "scored_candidates": len(scored), "unscored_candidates": len(pool.ids) - len(scored),
                **pool.summary()}
