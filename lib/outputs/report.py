"""A per-study HTML report a person can open: one section per level with a PNG overlay of the mid-disc slice (masks,
landmarks, grades) and the decision tree's rule, a table of grades and measurements, and the levels that are missing.

    write_report(out_dir, grades, series, labels=None) -> out_dir / "report.html" (PNGs beside it)

``labels`` is the stage 1 label volume as stacked in the contracts: ``labels[i, j, k]``, i = column, j = row,
k = slice in canonical order (the order of ``series.slices``); values 1 dural sac, 2 disc. Without it the overlay
shows landmarks and grades only.
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np

from lib.spine.levels import LABEL_DISC, LABEL_DURAL_SAC

MARKERS = {"facet": ("#ff9f1c", "s"), "foramen": ("#2ec4b6", "^"), "dural": ("#e71d36", "+"), "disc": ("#3a86ff", "x")}
VIEW_MARGIN_MM = 25.0


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


#: What a level without grades says (stage 1 only: the stage 2 models are not trained where it ran).
NOT_GRADED = "not graded (stage 2 models not trained)"


def _graded(entry: dict) -> bool:
    return "central_canal" in entry


def _summary(entry: dict) -> str:
    if not _graded(entry):
        return NOT_GRADED
    c = entry["central_canal"]

    def side(region: str, finding: str) -> str:
        left, right = (("yes" if entry[f"{region}_{s}"][finding] else "no") for s in ("left", "right"))
        return f"L {left}, R {right}"

    return (f"canal {c['grade']} (BiT), {c['tree_grade']} (tree) | foraminal stenosis {side('foramen', 'stenosis')}"
            f" | facet arthropathy {side('facet', 'arthropathy')}")


def _view_box(points_px: np.ndarray, spacing: tuple[float, float], shape) -> tuple[int, int, int, int]:
    margin = np.array([VIEW_MARGIN_MM / spacing[0], VIEW_MARGIN_MM / spacing[1]])
    lo = np.floor(points_px.min(0) - margin).astype(int)
    hi = np.ceil(points_px.max(0) + margin).astype(int)
    return max(lo[0], 0), min(hi[0], shape[0]), max(lo[1], 0), min(hi[1], shape[1])


def level_figure(path: Path, level: str, entry: dict, pixels: np.ndarray, geometry, mask: np.ndarray | None) -> Path:
    """PNG of one level: the mid-disc slice around the spine, mask outlines, landmarks, grades and the tree rule."""
    plt = _pyplot()
    points = {n: geometry.lps_to_pixel(p)[:2] for n, p in entry["landmarks_lps_mm"].items()}
    r0, r1, c0, c1 = _view_box(np.array(list(points.values())), geometry.pixel_spacing_mm, pixels.shape)
    view = pixels[r0:r1, c0:c1]
    lo, hi = np.percentile(view, [1, 99.5])
    aspect = geometry.pixel_spacing_mm[0] / geometry.pixel_spacing_mm[1]
    fig, ax = plt.subplots(figsize=(6.4, 6.4 * (r1 - r0) * aspect / max(c1 - c0, 1)), dpi=100)
    ax.imshow(view, cmap="gray", vmin=lo, vmax=hi, aspect=aspect, extent=(c0 - 0.5, c1 - 0.5, r1 - 0.5, r0 - 0.5))
    if mask is not None:
        for value, colour in ((LABEL_DURAL_SAC, "#e71d36"), (LABEL_DISC, "#fdca40")):
            if (mask[r0:r1, c0:c1] == value).any():
                ax.contour(np.arange(c0, c1), np.arange(r0, r1), (mask[r0:r1, c0:c1] == value).astype(float),
                           levels=[0.5], colors=colour, linewidths=1.2)
    for name, (row, col) in points.items():
        colour, marker = MARKERS[name.split("_")[0]]
        ax.plot(col, row, marker=marker, color=colour, markersize=8, markeredgewidth=2, linestyle="none")
        ax.annotate(name.replace("_", " "), (col, row), xytext=(4, -6), textcoords="offset points", color=colour,
                    fontsize=7)
    left_on_right = geometry.row_direction[0] >= 0  # columns run towards the patient's left
    for x, text in ((0.01, "R" if left_on_right else "L"), (0.99, "L" if left_on_right else "R")):
        ax.text(x, 0.01, text, transform=ax.transAxes, color="yellow", fontsize=11, va="bottom",
                ha="left" if x < 0.5 else "right")
    ax.set_axis_off()
    ax.set_title(f"{level}: {_summary(entry)}", fontsize=8)
    if _graded(entry):
        ax.text(0.0, -0.01, "tree: " + entry["central_canal"]["tree_rule"], transform=ax.transAxes, fontsize=7,
                va="top", wrap=True)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path


def _grade_rows(entry: dict) -> list[tuple[str, str]]:
    c = entry["central_canal"]
    probs = ", ".join(f"{g} {p:.2f}" for g, p in c["probabilities"].items())
    rows = [("Central canal (BiT)", f"{c['grade']} ({probs})"), ("Central canal (decision tree)", c["tree_grade"]),
            ("Tree rule", c["tree_rule"])]
    for region, finding in (("foramen_left", "stenosis"), ("foramen_right", "stenosis"),
                            ("facet_left", "arthropathy"), ("facet_right", "arthropathy")):
        r = entry[region]
        call = finding if r[finding] else "normal"
        rows.append((region.replace("_", " ").capitalize(), f"{call} (p = {r['probability']:.2f})"))
    return rows


def _level_html(level: str, entry: dict, image_name: str | None) -> str:
    e = html.escape
    rows = [("Grades", NOT_GRADED)] if not _graded(entry) else _grade_rows(entry)
    rows += [(k, f"{v:.3f}" if isinstance(v, float) else str(v)) for k, v in entry["measurements"].items()]
    table = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows)
    img = f'<img src="{e(image_name)}" alt="{e(level)} mid-disc slice">' if image_name else ""
    return f'<section><h2>{e(level)}</h2><div class="row">{img}<table>{table}</table></div></section>'


def write_report(out_dir: str | Path, grades: dict, series: Any, labels: np.ndarray | None = None) -> Path:
    """Write report.html and one PNG per graded level into ``out_dir``; returns the HTML path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    by_sop = {str(s.sop_instance_uid): k for k, s in enumerate(series.slices)}
    sections = []
    for level, entry in grades["levels"].items():
        k = by_sop.get(entry["slice_sop_uid"])
        image = None
        if k is not None:
            mask = labels[:, :, k].T if labels is not None else None
            image = f"{level}.png"
            level_figure(out / image, level, entry, series.slices[k].pixels, series.slices[k].geometry, mask)
        sections.append(_level_html(level, entry, image))
    e = html.escape
    missing = "".join(f"<li>{e(lv)}: {e(why)}</li>" for lv, why in grades.get("missing_levels", {}).items())
    models = ", ".join(f"{e(k)} {e(str(v))}" for k, v in grades.get("models", {}).items())
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Lumbar spine grades</title><style>
body{{font-family:sans-serif;margin:1.5em;max-width:1200px}} .row{{display:flex;gap:1.5em;align-items:flex-start}}
img{{max-width:640px;border:1px solid #ccc}} th{{text-align:left;padding-right:1em;font-weight:normal;color:#555}}
td{{font-weight:bold}} .note{{color:#a00}}</style></head><body>
<h1>Lumbar spine stenosis grades</h1>
<p>Study {e(str(grades.get('study_uid')))}, series {e(str(grades.get('series_uid')))}</p>
<p class="note">Automated grades for review by a radiologist; not a diagnosis.</p>
<p>Models: {models}</p>
{''.join(sections)}
<h2>Levels not graded</h2><ul>{missing or '<li>none</li>'}</ul>
</body></html>"""
    path = out / "report.html"
    path.write_text(page)
    return path
