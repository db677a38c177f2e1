"""Learning curves of the active learning strategies on phantoms, from zero labels (lib/activelearning/simulation.py).

    .venv/bin/python scripts/learning_curve.py --out reports/learning_curve --pool 8 --test 3 --rounds 3 \
        --per-round 2 --epochs 4

writes ``learning_curve.json`` and ``learning_curve.png`` into ``--out``. Work files (phantoms, one app folder per
strategy) go to ``--work`` (default ``<out>/work``); phantoms there are reused by later runs.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("MONAI_LABEL_TRACKING_ENABLED", "false")  # before MONAI Label reads its settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lib.activelearning.simulation import CurveSettings, run_learning_curves, write_outputs


def parse_args(argv=None) -> CurveSettings:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("reports/learning_curve"))
    p.add_argument("--work", type=Path, default=None, help="work folder (default OUT/work)")
    p.add_argument("--strategies", default="random,epistemic,grading_uncertainty")
    p.add_argument("--pool", type=int, default=8, help="phantom studies the strategies choose from")
    p.add_argument("--test", type=int, default=3, help="held-out phantom studies the models are measured on")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--per-round", type=int, default=2, help="studies labelled per round")
    p.add_argument("--epochs", type=int, default=4, help="segmentation epochs per round")
    p.add_argument("--crop-px", type=int, default=96)
    p.add_argument("--crops-per-image", type=int, default=4)
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--epistemic-samples", type=int, default=4)
    p.add_argument("--epistemic-max-slices", type=int, default=6)
    p.add_argument("--val-fraction", type=float, default=0.2, help="fixed validation split of the promotion gate")
    p.add_argument("--no-gate", action="store_true", help="serve every newly trained model")
    p.add_argument("--models", default="segmentation", help="models the app serves and retrains (--conf models)")
    p.add_argument("--phantoms", type=Path, default=None, help="an existing phantom dataset (dicom/, truth/)")
    a = p.parse_args(argv)
    if a.rounds * a.per_round > a.pool:
        p.error(f"--rounds {a.rounds} x --per-round {a.per_round} labels more studies than --pool {a.pool}")
    return CurveSettings(
        out=a.out, work=a.work or a.out / "work", strategies=tuple(x.strip() for x in a.strategies.split(",") if x),
        pool=a.pool, test=a.test, rounds=a.rounds, per_round=a.per_round, epochs=a.epochs, crop_px=a.crop_px,
        crops_per_image=a.crops_per_image, seed=a.seed, epistemic_samples=a.epistemic_samples,
        epistemic_max_slices=a.epistemic_max_slices, val_fraction=a.val_fraction, gated=not a.no_gate,
        models=a.models, phantoms=a.phantoms)


def main(argv=None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("monailabel", "ignite", "monai", "uvicorn", "httpx", "lib.datastore", "lib.dicom"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = parse_args(argv)
    result = run_learning_curves(settings)
    json_path, png_path = write_outputs(result, settings.out)
    for strategy, points in result["curves"].items():
        dice = ", ".join(f"{p['labelled']}: {p['dice']:.3f}" if p["dice"] is not None else f"{p['labelled']}: -"
                         for p in points)
        print(f"{strategy:>20}  Dice by labelled studies  {dice}")
    print(f"wrote {json_path} and {png_path} in {result['total_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
