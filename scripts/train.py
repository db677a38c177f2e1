"""Train the app's models into model/ from phantom studies: ``python scripts/train.py --data DIR``.

Generates the phantoms when DIR is empty, stores their truth as final labels in a datastore over DIR/dicom, and
runs each model's own MONAI Label train task on it, the same task ``POST /train/<model>`` runs in the server.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("MONAI_LABEL_TRACKING_ENABLED", "false")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", type=Path, required=True, help="phantom dataset folder (DIR/dicom, DIR/truth)")
    p.add_argument("--model-dir", type=Path, default=Path("model"))
    p.add_argument("--n", type=int, default=24, help="phantom studies to generate when --data is empty")
    p.add_argument("--seed", type=int, default=1000)
    p.add_argument("--models", default="all", help="comma-separated model names, or all")
    p.add_argument("--missing-only", action="store_true",
                   help="train only the models whose weights are not in --model-dir yet (make models)")
    p.add_argument("--conf", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"),
                   help="MONAI Label conf overrides, e.g. --conf segmentation_max_epochs 5")
    return p.parse_args(argv)


def main(argv=None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    from lib.training.phantom_datastore import ensure_phantoms, phantom_training_datastore
    from lib.training.train_all import train_models

    ensure_phantoms(args.data, args.n, args.seed)
    datastore = phantom_training_datastore(args.data)
    conf = {"models": args.models, **dict(args.conf)}
    start = time.time()
    results = train_models(datastore, args.model_dir, conf, skip_existing=args.missing_only)
    for name, stats in results.items():
        print(f"{name}: best {stats.get('best_metric')} ({stats.get('total_time')})")
    print(f"trained {len(results)} model(s) in {time.time() - start:.0f} s into {args.model_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
