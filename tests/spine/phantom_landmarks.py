"""Calibrate the landmark rules (lib/spine/landmark_rules.py) against phantom truth, and measure their error.

    .venv/bin/python -m tests.spine.phantom_landmarks --phantoms /tmp/phantoms --calibrate 20 --seed 7

reads (or first generates, with ``lib.phantom.generate_dataset``) a phantom dataset, loads each study's axial series
with ``lib.dicom.load_axial_series`` (DICOM stays out of lib/spine), measures the truth masks of every level's
mid-disc slice with ``measure_level``, takes each level's disc width from ``name_levels_in_volume`` (as stage 1
should) and compares ``place_landmarks`` with the truth landmarks.

Calibration: every truth landmark is expressed in the anatomical frame of its level (origin dural sac centroid,
lateral to the patient's left, AP posterior; the right side mirrored onto the left). For each coordinate several
candidate rules ``base + c * scale`` are fitted with the median ``c`` over the calibration studies, and the one whose
residuals are smallest (median absolute value, mm) on held-out studies is listed first, so the constants can be
written into the module.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lib.spine.geometry import SliceGeometry
from lib.spine.landmark_rules import place_landmarks
from lib.spine.level_naming import name_levels_in_volume
from lib.spine.measurements import LevelMeasurements, MeasurementError, measure_level

RULE_LANDMARKS = ("facet_left", "facet_right", "foramen_left", "foramen_right")
ALL_LANDMARKS = RULE_LANDMARKS + ("dural_sac_centroid", "disc_centroid")


@dataclass(frozen=True, eq=False)
class LevelCase:
    """One level of one phantom study: its mid-disc slice measured, and the truth landmarks (LPS mm)."""

    study_id: str
    level: str
    geometry: SliceGeometry
    measurements: LevelMeasurements
    truth: dict[str, np.ndarray]
    disc_half_width_mm: float  # from level naming: half the widest disc section of the level


def ensure_dataset(root: Path, n: int, seed: int) -> Path:
    """Generate ``n`` phantom studies under ``root`` unless that many truth files are there already."""
    if len(list((root / "truth").glob("*.json"))) < n:
        from lib.phantom import PhantomConfig, generate_dataset

        generate_dataset(root, n=n, seed=seed, config=PhantomConfig(workers=1))
    return root


def load_cases(root: Path, study_ids: list[str] | None = None) -> tuple[list[LevelCase], list[str]]:
    """All measurable levels of the studies under ``root`` (default: every truth file), and the problems met."""
    import nibabel as nib

    from lib.dicom.loader import load_axial_series

    cases, problems = [], []
    paths = sorted((root / "truth").glob("*.json"))
    for path in paths if study_ids is None else [root / "truth" / f"{s}.json" for s in study_ids]:
        truth = json.loads(path.read_text())
        sid = truth["study_id"]
        series = load_axial_series(root / "dicom" / sid, sid)
        uids = [s.sop_instance_uid for s in series.slices]
        if uids != truth["slice_sop_uids"]:
            problems.append(f"{sid}: loader slice order differs from the truth's slice_sop_uids")
            continue
        labels = np.asarray(nib.load(str(root / "truth" / f"{sid}_labels.nii.gz")).dataobj).astype(np.uint8)
        widths = {
            str(n.level): n.disc_width_mm
            for n in name_levels_in_volume(labels, series.geometries(), [list(b) for b in series.blocks]).levels
        }
        for level, record in truth["levels"].items():
            k = uids.index(record["mid_disc_sop_uid"])
            geometry = series.slices[k].geometry
            try:
                m = measure_level(labels[:, :, k].T, geometry)
            except MeasurementError as e:
                problems.append(f"{sid} {level}: {e}")
                continue
            points = {n: np.asarray(p, float) for n, p in record["landmarks_lps_mm"].items()}
            half = widths[level] / 2 if level in widths else m.disc.half_width_mm
            cases.append(LevelCase(sid, level, geometry, m, points, half))
    return cases, problems


def frame_quantities(case: LevelCase) -> dict[str, float]:
    """The mask quantities the rules may use (mm), per side where they differ; see landmark_rules.py."""
    m = case.measurements
    gap = float(np.linalg.norm(np.subtract(m.dural_sac_centroid_lps_mm, m.disc_centroid_lps_mm)))
    return {
        "sac_half_left": m.dural_sac.lateral_extent_mm[1],
        "sac_half_right": m.dural_sac.lateral_extent_mm[0],
        "sac_post": m.dural_sac.ap_extent_mm[1],
        "sac_ant": m.dural_sac.ap_extent_mm[0],
        "disc_half": case.disc_half_width_mm,
        "disc_back": -gap + m.disc.ap_extent_mm[1],
    }


def truth_offsets(case: LevelCase) -> dict[str, np.ndarray]:
    """(lateral, AP) mm of each truth landmark from the sac centroid in the level's frame (right side mirrored)."""
    out = {}
    for name in RULE_LANDMARKS:
        lat, ap, _ = case.measurements.frame.from_lps(case.truth[name])
        out[name] = np.array([lat if name.endswith("left") else -lat, ap])
    return out


def candidate_rules(kind: str, side: str):
    """(name, base(q), scale(q)) of the candidate rules for one coordinate: value = base + c * scale."""
    half = f"sac_half_{side}"
    one = lambda q: 1.0  # noqa: E731
    if kind == "lateral":
        return [
            ("c mm", lambda q: 0.0, one),
            ("c * disc_half", lambda q: 0.0, lambda q: q["disc_half"]),
            ("sac_half + c mm", lambda q: q[half], one),
            ("sac_half + c * disc_half", lambda q: q[half], lambda q: q["disc_half"]),
        ]
    return [
        ("c mm", lambda q: 0.0, one),
        ("c * disc_half", lambda q: 0.0, lambda q: q["disc_half"]),
        ("disc_back + c mm", lambda q: q["disc_back"], one),
        ("-sac_ant + c mm", lambda q: -q["sac_ant"], one),
        ("sac_post + c mm", lambda q: q["sac_post"], one),
        ("c * sac_post", lambda q: 0.0, lambda q: q["sac_post"]),
    ]


def calibrate(cases: list[LevelCase], held_out: list[LevelCase] = ()) -> dict[str, list[tuple]]:
    """Per landmark kind and coordinate: candidate rules as (name, median c, median |residual| mm on ``cases``,
    the same on ``held_out`` with that c), best first by the held-out residual when there is one."""
    report = {}
    for kind in ("foramen", "facet"):
        for axis, coord in (("lateral", 0), ("ap", 1)):
            fits = []
            for i, (rule, _, _) in enumerate(candidate_rules(axis, "left")):
                bases, scales, values = _terms(cases, kind, axis, coord, i)
                c = float(np.median((values - bases) / scales))
                residual = [float(np.median(np.abs(values - bases - c * scales)))]
                if held_out:
                    b, sc, v = _terms(held_out, kind, axis, coord, i)
                    residual.append(float(np.median(np.abs(v - b - c * sc))))
                fits.append((rule, c, residual[0], residual[-1]))
            report[f"{kind} {axis}"] = sorted(fits, key=lambda f: f[3])
    return report


def _terms(cases: list[LevelCase], kind: str, axis: str, coord: int, rule: int):
    """Arrays (base, scale, truth value) of candidate rule ``rule`` over both sides of every case."""
    rows = []
    for case in cases:
        q, off = frame_quantities(case), truth_offsets(case)
        for side in ("left", "right"):
            _, base, scale = candidate_rules(axis, side)[rule]
            rows.append((base(q), scale(q), off[f"{kind}_{side}"][coord]))
    return tuple(np.asarray(col, float) for col in zip(*rows))


def rule_errors(cases: list[LevelCase]) -> dict[str, np.ndarray]:
    """Distance (mm) between the rules' point and the truth, per landmark, over all cases."""
    errors: dict[str, list[float]] = {n: [] for n in ALL_LANDMARKS}
    for case in cases:
        points = place_landmarks(case.measurements, case.disc_half_width_mm).as_dict()
        for name in ALL_LANDMARKS:
            errors[name].append(float(np.linalg.norm(np.asarray(points[name]) - case.truth[name])))
    return {n: np.asarray(v) for n, v in errors.items()}


def summary(errors: dict[str, np.ndarray]) -> str:
    lines = [f"{'landmark':20s} {'median':>7s} {'p90':>7s} {'max':>7s}  (mm, n={len(next(iter(errors.values())))})"]
    for name, e in errors.items():
        lines.append(f"{name:20s} {np.median(e):7.2f} {np.percentile(e, 90):7.2f} {e.max():7.2f}")
    rules = np.concatenate([errors[n] for n in RULE_LANDMARKS])
    lines.append(f"{'facets+foramina':20s} {np.median(rules):7.2f} {np.percentile(rules, 90):7.2f} {rules.max():7.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phantoms", type=Path, required=True, help="phantom dataset folder (generated if empty)")
    parser.add_argument("--calibrate", type=int, default=20, help="studies 0..N-1 calibrate, the rest test")
    parser.add_argument("--test", type=int, default=10, help="held-out studies after the calibration ones")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    root = ensure_dataset(args.phantoms, args.calibrate + args.test, args.seed)
    ids = sorted(p.stem for p in (root / "truth").glob("*.json"))
    calib, problems = load_cases(root, ids[: args.calibrate])
    held_out, more = load_cases(root, ids[args.calibrate : args.calibrate + args.test])
    for p in problems + more:
        print("skipped:", p)
    print("candidate rules, c fitted on the calibration studies; median |residual| (mm) there and held out")
    for coordinate, fits in calibrate(calib, held_out).items():
        print(coordinate)
        for rule, c, mad, held in fits:
            print(f"    {rule:28s} c = {c:8.3f}   calibration {mad:5.2f}   held out {held:5.2f}")
    print(f"\nrules as in landmark_rules.py, calibration studies ({len(calib)} levels):\n{summary(rule_errors(calib))}")
    if held_out:
        print(f"\nheld-out studies ({len(held_out)} levels):\n{summary(rule_errors(held_out))}")


if __name__ == "__main__":
    main()
