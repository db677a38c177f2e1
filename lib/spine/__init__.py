"""The framework-free spine core: geometry, levels, measurements, level naming, landmark and canal rules.

numpy and scipy only: nothing here imports torch, MONAI, MONAI Label or pydicom. Millimetres and LPS at every
function boundary (see geometry.py for the conventions).
"""
from .canal_rules import (
    ABSOLUTE_STENOSIS_CSA_MM2,
    CANAL_FEATURES,
    RELATIVE_STENOSIS_CSA_MM2,
    DecisionStep,
    FeatureSpec,
    TreeExplanation,
    csa_reference_text,
    explain_decision,
    tree_as_text,
)
from .geometry import SliceGeometry, canonical_order, group_into_blocks, stacked_affine_ras
from .landmark_rules import LandmarkSet, landmarks_from_labels, place_landmarks
from .level_naming import (
    ConfirmationResult,
    LevelNaming,
    NamedLevel,
    confirm_with_sagittal,
    name_levels,
    name_levels_in_volume,
    slices_from_volume,
)
from .levels import (
    CANAL_GRADES,
    LABEL_DISC,
    LABEL_DURAL_SAC,
    LABEL_NAMES,
    LANDMARK_NAMES,
    LEVELS,
    LEVELS_FROM_SACRUM,
    CanalGrade,
    Level,
    Side,
)
from .measurements import (
    AnatomicalFrame,
    LevelMeasurements,
    MeasurementError,
    StructureMeasurement,
    measure_level,
    measure_structure,
)
from .sagittal import find_sagittal_disc_centres

__all__ = [
    "ABSOLUTE_STENOSIS_CSA_MM2",
    "AnatomicalFrame",
    "CANAL_FEATURES",
    "CANAL_GRADES",
    "CanalGrade",
    "ConfirmationResult",
    "DecisionStep",
    "FeatureSpec",
    "LABEL_DISC",
    "LABEL_DURAL_SAC",
    "LABEL_NAMES",
    "LANDMARK_NAMES",
    "LEVELS",
    "LEVELS_FROM_SACRUM",
    "LandmarkSet",
    "Level",
    "LevelMeasurements",
    "LevelNaming",
    "MeasurementError",
    "NamedLevel",
    "RELATIVE_STENOSIS_CSA_MM2",
    "Side",
    "SliceGeometry",
    "StructureMeasurement",
    "TreeExplanation",
    "canonical_order",
    "confirm_with_sagittal",
    "csa_reference_text",
    "explain_decision",
    "find_sagittal_disc_centres",
    "group_into_blocks",
    "landmarks_from_labels",
    "measure_level",
    "measure_structure",
    "name_levels",
    "name_levels_in_volume",
    "place_landmarks",
    "slices_from_volume",
    "stacked_affine_ras",
    "tree_as_text",
]
