"""Preview sheets (PNG, matplotlib Agg) of mid-disc slices with truth contours, landmarks and grades."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from lib.phantom.truth import PreviewItem
from lib.spine.levels import CANAL_GRADES, LABEL_DISC, LABEL_DURAL_SAC

MAX_PER_SHEET = 16
LANDMARK_STYLE = {
    "facet_left": ("x", "orange"), "facet_right": ("x", "orange"),
    "foramen_left": ("+", "lime"), "foramen_right": ("+", "lime"),
    "dural_sac_centroid": (".", "cyan"), "disc_centroid": (".", "yellow"),
}


def write_previews(items: list[PreviewItem], out_dir: Path | str) -> list[Path]:
    """One sheet per canal grade (``<grade>.png``) and one of foramina and facets (``foramen_facet.png``)."""
    import matplotlib

    matplotlib.use("Agg")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for grade in CANAL_GRADES:
        chosen = [i for i in items if i.level.central_canal == grade.value][:MAX_PER_SHEET]
        written.append(_sheet(chosen, out / f"{grade.value}.png", f"central canal: {grade.value}", _canal_title))
    written.append(_sheet(_foramen_facet_pick(items), out / "foramen_facet.png",
                          "foramina (green +) and facets (orange x): truth per side", _side_title))
    return written


def _foramen_facet_pick(items: list[PreviewItem]) -> list[PreviewItem]:
    """Half with some stenosis or arthropathy, half without."""
    positive = [i for i in items if i.level.foramen_left or i.level.foramen_right or i.level.facet_left or i.level.facet_right]
    negative = [i for i in items if i not in positive]
    half = MAX_PER_SHEET // 2
    return positive[:half] + negative[: MAX_PER_SHEET - min(half, len(positive))]


def _canal_title(item: PreviewItem) -> str:
    lv = item.level
    ratio = lv.dural_sac_area_mm2 / max(lv.disc_area_mm2, 1.0)
    return f"{item.study_id[-4:]} {lv.level} {lv.central_canal}\nCSA {lv.dural_sac_area_mm2:.0f} mm2  ratio {ratio:.3f}"


def _side_title(item: PreviewItem) -> str:
    lv = item.level

    def yn(flag: bool) -> str:
        return "Y" if flag else "n"

    return (f"{item.study_id[-4:]} {lv.level}\nforamen R:{yn(lv.foramen_right)} L:{yn(lv.foramen_left)}"
            f"  facet R:{yn(lv.facet_right)} L:{yn(lv.facet_left)}")


def _sheet(items: list[PreviewItem], path: Path, title: str, caption) -> Path:
    import matplotlib.pyplot as plt

    cols = 4
    rows = max(1, int(np.ceil(len(items) / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(4.0 * cols, 4.3 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, item in zip(axes.ravel(), items):
        _panel(ax, item, caption(item))
    if not items:
        axes[0, 0].text(0.5, 0.5, "no level with this grade", ha="center", va="center", transform=axes[0, 0].transAxes)
    fig.suptitle(f"{title}  (synthetic phantom, R on image left)", fontsize=12)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def _panel(ax, item: PreviewItem, caption: str) -> None:
    image = item.image
    hi = float(np.percentile(image, 99.5)) or 1.0
    ax.imshow(image, cmap="gray", vmin=0.0, vmax=hi, interpolation="bilinear")
    for label, colour in ((LABEL_DURAL_SAC, "cyan"), (LABEL_DISC, "yellow")):
        if np.any(item.labels == label):
            ax.contour(item.labels == label, [0.5], colors=colour, linewidths=0.6)
    for name, (row, col) in item.landmarks_px.items():
        marker, colour = LANDMARK_STYLE[name]
        ax.plot(col, row, marker, color=colour, markersize=6, mew=1.2)
    ax.set_title(caption, fontsize=8)
    ax.set_xlim(0, image.shape[1] - 1)
    ax.set_ylim(image.shape[0] - 1, 0)
