"""A tiny in-memory stand-in for the parts of a MONAI Label datastore the grading code uses."""
from __future__ import annotations

import copy


class FakeDatastore:
    def __init__(self, images: dict[str, dict] | None = None):
        self.images = {k: dict(v) for k, v in (images or {}).items()}
        self.labels: dict[str, dict] = {}  # image_id -> final label info
        self.writes = 0

    def list_images(self):
        return list(self.images)

    def get_image_info(self, image_id):
        return copy.deepcopy(self.images.get(image_id, {}))

    def update_image_info(self, image_id, info):
        if image_id not in self.images:
            raise KeyError(image_id)
        self.images[image_id].update(copy.deepcopy(info))
        self.writes += 1

    def get_label_by_image_id(self, image_id, tag):
        return image_id if image_id in self.labels and tag == "final" else ""

    def get_label_info(self, label_id, tag):
        return copy.deepcopy(self.labels.get(label_id, {}))

    def save_final_label_info(self, image_id, info):
        self.labels[image_id] = copy.deepcopy(info)
