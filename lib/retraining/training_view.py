"""The datastore as a gated trainer sees it: the same studies and labels, less the fixed validation studies."""
from __future__ import annotations

import os
from typing import Any, Iterable


class TrainingView:
    """Forwards everything to ``datastore`` but leaves ``excluded`` studies out of every listing and of ``datalist``."""

    def __init__(self, datastore, excluded: Iterable[str]):
        self._datastore = datastore
        self.excluded = frozenset(excluded)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._datastore, name)

    def _keep(self, ids: list[str]) -> list[str]:
        return [i for i in ids if i not in self.excluded]

    def list_images(self) -> list[str]:
        return self._keep(self._datastore.list_images())

    def get_labeled_images(self, *args, **kwargs) -> list[str]:
        return self._keep(self._datastore.get_labeled_images(*args, **kwargs))

    def get_unlabeled_images(self, *args, **kwargs) -> list[str]:
        return self._keep(self._datastore.get_unlabeled_images(*args, **kwargs))

    def datalist(self, full_path: bool = True) -> list[dict]:
        held_out = {os.path.basename(self._datastore.get_image_uri(i)) for i in self.excluded}
        return [d for d in self._datastore.datalist(full_path) if os.path.basename(d["image"]) not in held_out]
