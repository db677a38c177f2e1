"""The app's models by name: an explicit registry rather than discovery by class name."""
from __future__ import annotations

from monailabel.interfaces.config import TaskConfig

from lib.configs.canal_tree import CanalTree
from lib.configs.grading import Grading
from lib.configs.landmarks import Landmarks
from lib.configs.segmentation import Segmentation

MODEL_CONFIGS: dict[str, type[TaskConfig]] = {
    "segmentation": Segmentation,
    "landmarks": Landmarks,
    "grading": Grading,
    "canal_tree": CanalTree,
}
