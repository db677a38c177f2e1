#!/usr/bin/env python
"""Generate a synthetic lumbar spine MRI dataset with known truth (DICOM + truth JSON + truth labels).

Example:
    python scripts/make_phantoms.py --out datasets/phantoms --n 20 --seed 0 --preview
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lib.phantom import PhantomConfig, generate_dataset  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path, help="dataset folder (dicom/, truth/, preview/)")
    parser.add_argument("--n", type=int, default=10, help="number of studies")
    parser.add_argument("--seed", type=int, default=0, help="dataset seed; same seed, same studies")
    parser.add_argument("--preview", action="store_true", help="write preview PNGs per canal grade")
    parser.add_argument("--acquisition", choices=("contiguous", "angled", "mixed"), default="mixed")
    parser.add_argument("--max-matrix", type=int, default=512, help="largest image matrix drawn (256..512)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = PhantomConfig(acquisition=args.acquisition, max_matrix=args.max_matrix, workers=args.workers)
    start = time.perf_counter()
    ids = generate_dataset(args.out, args.n, args.seed, config, preview=args.preview)
    print(f"wrote {len(ids)} studies to {args.out} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
