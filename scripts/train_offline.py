"""Train the stage 1 V-Net offline (GPU node, or torchrun for several): ``python scripts/train_offline.py --data DIR``.

Generates phantom studies into DIR when it has none, then trains with the server's recipe and writes
``MODEL_DIR/segmentation.pt`` and its card, which the server loads unchanged. Needs torch, MONAI, pydicom and
nibabel only (no MONAI Label). Example on one GPU for 8 minutes:

    python scripts/train_offline.py --data /data/phantoms --n 200 --minutes 8 --workers 14 --batch-images 16
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True, help="phantom dataset folder (DIR/dicom, DIR/truth)")
    p.add_argument("--work", type=Path, help="where work images go (default DIR/work)")
    p.add_argument("--model-dir", type=Path, default=Path("model"))
    p.add_argument("--n", type=int, default=200, help="phantom studies to generate when DIR has none")
    p.add_argument("--seed", type=int, default=5000, help="phantom seed (keep it apart from evaluation seeds)")
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--batch-images", type=int, default=8)
    p.add_argument("--val-every", type=int, default=400, help="validate every N steps")
    p.add_argument("--init", type=Path, help="start from these weights")
    p.add_argument("--half", action="store_true", help="write fp16 weights")
    p.add_argument("--conf", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"),
                   help="recipe settings as the server reads them, e.g. --conf segmentation_learning_rate 1e-3")
    return p.parse_args(argv)


def main(argv=None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    from lib.conf import from_conf
    from lib.training.offline_segmentation import OfflineRunSettings, phantom_datalist, train_segmentation_offline
    from lib.training.segmentation_recipe import SegmentationTrainSettings

    if not any((args.data / "truth").glob("*_labels.nii.gz")):
        from lib.phantom import PhantomConfig, generate_dataset

        logging.info(f"generating {args.n} synthetic phantom studies into {args.data} (seed {args.seed})")
        generate_dataset(args.data, args.n, args.seed, PhantomConfig(workers=max(1, args.workers)))
    datalist = phantom_datalist(args.data, args.work or args.data / "work", workers=args.workers)
    settings = from_conf(SegmentationTrainSettings, dict(args.conf), prefix="segmentation_")
    run = OfflineRunSettings(batch_images=args.batch_images, workers=args.workers, max_minutes=args.minutes,
                             val_every_steps=args.val_every, save_half=args.half)
    best = train_segmentation_offline(datalist, args.model_dir / "segmentation.pt", settings, run, args.init)
    print(f"best validation {best} -> {args.model_dir / 'segmentation.pt'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
