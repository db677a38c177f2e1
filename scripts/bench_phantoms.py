#!/usr/bin/env python
"""Time the phantom generator: N studies written to a temporary folder, wall and CPU time.

Example:
    python scripts/bench_phantoms.py --n 30
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lib.phantom import PhantomConfig, generate_dataset  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=30, help="number of studies")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--acquisition", choices=("contiguous", "angled", "mixed"), default="mixed")
    return parser.parse_args(argv)


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = PhantomConfig(acquisition=args.acquisition, workers=args.workers)
    with tempfile.TemporaryDirectory() as out:
        cpu0, wall0 = _cpu_seconds(), time.perf_counter()
        ids = generate_dataset(out, args.n, args.seed, config)
        wall, cpu = time.perf_counter() - wall0, _cpu_seconds() - cpu0
        size_mb = sum(p.stat().st_size for p in Path(out).rglob("*") if p.is_file()) / 1e6
    print(f"{len(ids)} studies, {args.workers} workers: wall {wall:.1f} s ({wall / max(1, len(ids)):.2f} s/study), "
          f"CPU {cpu:.1f} s ({cpu / max(1, len(ids)):.2f} s/study), {size_mb:.0f} MB written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
