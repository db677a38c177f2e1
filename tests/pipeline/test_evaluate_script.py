"""scripts/evaluate.py writes its report (JSON, Markdown, PNG overlays) on phantom studies with truth."""
import json
import subprocess
import sys
from pathlib import Path

from lib.landmarks.inputs import CropSpec
from lib.landmarks.model import save_weights
from lib.landmarks.network import landmark_unet

ROOT = Path(__file__).resolve().parents[2]


def test_evaluate_writes_json_markdown_and_overlays(contiguous_phantom, tmp_path):
    model_dir = tmp_path / "model"
    spec = CropSpec(size_px=32)
    save_weights(model_dir / "landmarks.pt", landmark_unet(spec.in_channels), spec)  # untrained: a "model" column
    out = tmp_path / "report"
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "evaluate.py"), "--data", str(contiguous_phantom),
                          "--out", str(out), "--model-dir", str(model_dir), "--worst", "2", "--threads", "1",
                          "--conf", "segmentation_spacing_mm", "3.0"],
                         cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads((out / "evaluation.json").read_text())
    summary = report["summary"]
    assert summary["studies"] == 1 and report["failed"] == {}
    assert set(summary["dice"]) == {"dural_sac", "disc"}
    assert summary["reference"] == {"dice_dural_sac": 0.93, "dice_disc": 0.94, "iou_facet": 0.83, "iou_foramen": 0.72}
    truth_masks = report["on_truth_masks"]
    assert truth_masks["dice"]["disc"]["mean"] == 1.0 and truth_masks["level_naming_accuracy"] == 1.0
    assert set(truth_masks["landmarks"]) == {"model", "rules", "final"}
    for source in ("model", "rules"):
        for kind in ("facet", "foramen", "all"):
            row = truth_masks["landmarks"][source][kind]
            assert row["n"] > 0 and 0.0 <= row["mean_iou"] <= 1.0 and row["median_inplane_mm"] >= 0.0
    assert truth_masks["landmarks"]["rules"]["facet"]["mean_iou"] > 0.5
    assert "stage2" in report
    markdown = (out / "evaluation.md").read_text()
    assert "| Dice dural sac (mean) |" in markdown and "0.93" in markdown and "facet box IoU" in markdown
    assert len(list(out.glob("worst_truth_masks_*.png"))) == 2
    assert len(list(out.glob("worst_[0-9]*.png"))) == min(2, summary["levels_found"])
