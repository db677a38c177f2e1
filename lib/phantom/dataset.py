"""Generate a whole phantom dataset on disk, in worker processes, with optional preview sheets."""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from lib.phantom.config import PhantomConfig
from lib.phantom.study import generate_study
from lib.phantom.truth import PreviewItem
from lib.phantom.writer import write_study


def _generate_and_write(args: tuple[int, int, PhantomConfig, str]) -> tuple[str, list[PreviewItem]]:
    index, seed, config, out_dir = args
    study = generate_study(index, seed, config)
    write_study(study, out_dir)
    return study.study_id, list(study.previews)


def generate_dataset(out_dir: Path | str, n: int, seed: int, config: PhantomConfig = PhantomConfig(),
                     preview: bool = False) -> list[str]:
    """Generate studies 0..n-1 under ``out_dir`` (dicom/, truth/, and preview/ if asked); returns their ids.

    Example:
        >>> generate_dataset("/tmp/phantoms", n=2, seed=0, config=PhantomConfig(workers=1))
        ['phantom_0000', 'phantom_0001']
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(i, seed, config, str(out)) for i in range(n)]
    workers = min(config.workers, max(1, n), os.cpu_count() or 1)
    if workers <= 1:
        results = [_generate_and_write(job) for job in jobs]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(_generate_and_write, jobs))
    if preview:
        from lib.phantom.preview import write_previews

        write_previews([item for _, items in results for item in items], out / "preview")
    return [study_id for study_id, _ in results]
