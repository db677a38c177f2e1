"""From tissue maps to relative MR signal (before coil sensitivity, blur and noise)."""
from __future__ import annotations

import numpy as np

from lib.phantom.tissues import Contrast, Tissue

#: A point's ``mix`` blends its tissue towards this partner (nucleus -> annulus as the disc dries out,
#: CSF -> rootlet signal as the sac fills with crowded roots).
_PARTNER = np.arange(len(Tissue), dtype=np.uint8)
_PARTNER[Tissue.NUCLEUS] = Tissue.ANNULUS
_PARTNER[Tissue.CSF] = Tissue.ROOTLET
_PARTNER[Tissue.MUSCLE] = Tissue.INTERMUSCULAR_FAT

_FATTY = np.zeros(len(Tissue), bool)
for _t in (Tissue.SUBCUTANEOUS_FAT, Tissue.RETROPERITONEAL_FAT, Tissue.EPIDURAL_FAT, Tissue.INTERMUSCULAR_FAT,
           Tissue.FORAMEN_FAT_LEFT, Tissue.FORAMEN_FAT_RIGHT, Tissue.MARROW):
    _FATTY[_t] = True


def tissue_signal(tissue: np.ndarray, mix: np.ndarray, tex: np.ndarray, contrast: Contrast,
                  muscle_fat_fraction: float) -> np.ndarray:
    """Relative signal of each point: tissue value, blended with its partner, modulated by texture.

    Muscles take fatty streaks where the coarse texture is high (more with age); fat and marrow vary a
    few percent; viscera vary more.
    """
    table = contrast.table()
    muscle = tissue == Tissue.MUSCLE
    mix = mix.copy()
    streaks = np.clip(muscle_fat_fraction * (1.0 + 1.8 * tex[1][muscle]) - 0.05, 0.0, 0.8)
    mix[muscle] = np.maximum(mix[muscle], streaks)
    signal = table[tissue] * (1.0 - mix) + table[_PARTNER[tissue]] * mix
    fatty = _FATTY[tissue]
    signal[fatty] *= 1.0 + 0.06 * tex[0][fatty]
    signal[muscle] *= 1.0 + 0.08 * tex[0][muscle]
    viscera = tissue == Tissue.VISCERA
    signal[viscera] *= 1.0 + 0.25 * tex[1][viscera]
    return signal.astype(np.float32)
