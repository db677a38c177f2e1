"""The stage 1 evaluation report: ``evaluation.json``, ``evaluation.md`` (tables beside the reference system) and
PNG overlays of the worst levels (matplotlib, Agg backend).

Overlay: the level's mid-disc slice around the dural sac (+-40 mm), stage 1's masks as contours (dural sac cyan,
disc yellow), the true points (green circles), the model's (red crosses), the rules' (blue pluses); image rows and
columns as stored (no reorientation), so a flipped row direction shows mirrored.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from lib.landmarks.heatmaps import TARGET_NAMES
from lib.pipeline.evaluation import REFERENCE, TARGETS
from lib.spine.geometry import SliceGeometry

OVERLAY_HALF_FIELD_MM = 40.0


@dataclass
class LevelView:
    """What an overlay needs of one level: the slice, its masks, geometry and the points to draw (LPS mm)."""

    study_id: str
    level: str
    pixels: np.ndarray
    labels: np.ndarray
    geometry: SliceGeometry
    truth: Mapping[str, list[float]]
    sources: Mapping[str, Mapping[str, list[float]]]
    score_mm: float


def write_json(path: Path, payload: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=1, default=float))
    os.replace(tmp, path)
    return path


def _fmt(value, digits=2, pct=False) -> str:
    if value is None:
        return "n/a"
    return f"{100 * value:.1f}%" if pct else f"{value:.{digits}f}"


def markdown(summary: dict, truth_masks: dict | None = None, stage2: dict | None = None) -> str:
    """Markdown tables of the summary (and of stage 1 on the truth masks, and stage 2 when given)."""
    d, lm = summary["dice"], summary["landmarks"]
    lines = [
        f"# Stage 1 on {summary['studies']} held-out phantom studies",
        "",
        "| figure | ours | reference (Bharadwaj 2023, real MRI) | issue 3 target |",
        "|---|---|---|---|",
        f"| Dice dural sac (mean) | {_fmt(d['dural_sac']['mean'], 3)} | {REFERENCE['dice_dural_sac']} | "
        f">= {TARGETS['dice']} |",
        f"| Dice disc (mean) | {_fmt(d['disc']['mean'], 3)} | {REFERENCE['dice_disc']} | >= {TARGETS['dice']} |",
        f"| level naming accuracy | {_fmt(summary['level_naming_accuracy'], pct=True)} | - | >= 99% |",
        f"| mid-disc slice = truth's | {_fmt(summary['mid_slice_exact_rate'], pct=True)} | - | - |",
        f"| dural sac area, median abs error | "
        f"{_fmt(summary['measurement_median_abs_pct']['dural_sac_area_mm2'], 1)}% | - | <= 5% |",
    ]
    for source in ("final", "model", "rules"):
        if source in lm:
            lines.append(f"| facet box IoU (16 mm), {source} | {_fmt(lm[source]['facet']['mean_iou'], 3)} | "
                         f"{REFERENCE['iou_facet']} | >= {TARGETS['iou']} |")
            lines.append(f"| foramen box IoU (16 mm), {source} | {_fmt(lm[source]['foramen']['mean_iou'], 3)} | "
                         f"{REFERENCE['iou_foramen']} | >= {TARGETS['iou']} |")
    lines += ["", "## Landmark error (mm, in-plane median; 3D median in brackets)", ""]
    sources = [s for s in ("final", "model", "rules") if s in lm]
    if sources:
        lines += ["| landmark | " + " | ".join(sources) + " |", "|---|" + "---|" * len(sources)]
        for kind in ("all", "facet", "foramen", *TARGET_NAMES):
            cells = [f"{_fmt(lm[s][kind]['median_inplane_mm'])} ({_fmt(lm[s][kind]['median_3d_mm'])})" for s in sources]
            lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    else:
        lines.append("(stage 1 found no level on these studies: is the segmentation model trained?)")
    lines += ["", "## Measurements (median error, % of truth)", "",
              "| measurement | absolute error | signed error (bias) |", "|---|---|---|"]
    signed = summary.get("measurement_median_signed_pct", {})
    lines += [f"| {m} | {_fmt(v, 1)}% | {_fmt(signed.get(m), 1)}% |"
              for m, v in summary["measurement_median_abs_pct"].items()]
    if truth_masks:
        lm_t = truth_masks["landmarks"]
        lines += ["", "## Stage 1 from the truth masks (segmentation errors removed)", "",
                  "| figure | " + " | ".join(s for s in ("model", "rules") if s in lm_t) + " |",
                  "|---|" + "---|" * len([s for s in ("model", "rules") if s in lm_t])]
        for kind in ("all", "facet", "foramen"):
            lines.append(f"| {kind} median in-plane error (mm) | " + " | ".join(
                _fmt(lm_t[s][kind]["median_inplane_mm"]) for s in ("model", "rules") if s in lm_t) + " |")
            lines.append(f"| {kind} box IoU | " + " | ".join(
                _fmt(lm_t[s][kind]["mean_iou"], 3) for s in ("model", "rules") if s in lm_t) + " |")
        lines.append(f"| dural sac area median abs error | "
                     f"{_fmt(truth_masks['measurement_median_abs_pct']['dural_sac_area_mm2'], 1)}% |")
    lines += ["", "## Stage 2", "", stage2.get("markdown", "") if stage2 else "(stage 2 metrics not added)", ""]
    return "\n".join(lines)


def overlay_png(view: LevelView, path: Path) -> Path:
    """Draw one level's overlay (module docstring) to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    g = view.geometry
    centre = g.lps_to_pixel(view.truth.get("dural_sac_centroid", g.centre_lps_mm))
    half_r, half_c = (int(OVERLAY_HALF_FIELD_MM / s) for s in g.pixel_spacing_mm)
    r0, c0 = max(0, int(centre[0]) - half_r), max(0, int(centre[1]) - half_c)
    window = (slice(r0, int(centre[0]) + half_r), slice(c0, int(centre[1]) + half_c))
    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    ax.imshow(view.pixels[window], cmap="gray", aspect=g.pixel_spacing_mm[0] / g.pixel_spacing_mm[1])
    for value, colour in ((1, "cyan"), (2, "yellow")):
        if (view.labels[window] == value).any():
            ax.contour(view.labels[window] == value, levels=[0.5], colors=colour, linewidths=0.8)
    styles = {"truth": ("o", "lime"), "model": ("x", "red"), "final": ("x", "red"), "rules": ("+", "deepskyblue")}
    for source, points in (("truth", view.truth), *view.sources.items()):
        marker, colour = styles.get(source, ("*", "white"))
        for name in TARGET_NAMES:
            if name in points:
                r, c, _ = g.lps_to_pixel(points[name])
                ax.plot(c - c0, r - r0, marker, color=colour, markersize=7, mfc="none", label=source)
    handles, names = ax.get_legend_handles_labels()
    unique = dict(zip(names, handles))
    ax.legend(unique.values(), unique.keys(), loc="lower right", fontsize=7)
    ax.set_title(f"{view.study_id} {view.level}: worst error {view.score_mm:.1f} mm", fontsize=9)
    ax.axis("off")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path
