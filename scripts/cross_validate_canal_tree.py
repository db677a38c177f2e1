"""Cross-validate the canal tree by study on phantoms, from stage 1 as served: ``python
scripts/cross_validate_canal_tree.py --data datasets/tree_phantoms``.

Runs the shipped V-Net's stage 1 on every study (as ``make canal-tree`` does; about 3 s per study on 2 CPU cores),
then prints the pooled kappa of 5-fold cross-validation by study (ten shuffles; their mean and spread), the per-fold
spread, and the kappa of a tree fit and scored on all levels. ``--measurements final_mask`` uses the truth masks
instead.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("MONAI_LABEL_TRACKING_ENABLED", "false")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", type=Path, required=True, help="phantom dataset folder (DIR/dicom, DIR/truth)")
    p.add_argument("--model-dir", type=Path, default=Path("model"))
    p.add_argument("--n", type=int, default=200, help="phantom studies to generate when --data is empty")
    p.add_argument("--seed", type=int, default=9000)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--shuffles", type=int, default=10,
                   help="cross-validation repeats, each with the studies reshuffled")
    p.add_argument("--measurements", choices=("served", "final_mask"), default="served")
    p.add_argument("--conf", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"),
                   help="grading settings, e.g. --conf grading_tree_tune_for_kappa false")
    return p.parse_args(argv)


def main(argv=None) -> int:
    logging.basicConfig(level=logging.WARNING)
    args = parse_args(argv)
    from lib.configs.registry import MODEL_CONFIGS
    from lib.grading.datastore_samples import datastore_samples
    from lib.grading.fit import cross_validate_canal_tree
    from lib.training.phantom_datastore import ensure_phantoms, phantom_training_datastore

    ensure_phantoms(args.data, args.n, args.seed)
    datastore = phantom_training_datastore(args.data)
    config = MODEL_CONFIGS["canal_tree"]()
    config.init("canal_tree", str(args.model_dir), {**dict(args.conf), "grading_tree_measurements": args.measurements},
                None)
    served = config.served_stage1()
    if args.measurements == "served" and served is None:
        print(f"no segmentation weights in {args.model_dir}: cannot serve stage 1", file=sys.stderr)
        return 2
    samples = list(datastore_samples(datastore, with_pixels=False, served=served))
    result = cross_validate_canal_tree(samples, config.settings, folds=args.folds, shuffles=args.shuffles)
    result["measurements"] = served.describe() if served else "final masks"
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
