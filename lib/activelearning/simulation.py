"""Simulated annotators from zero labels: how fast does each strategy make the models good?

For each strategy, a fresh app (the real ``main.py`` app, driven in-process through its REST API like OHIF and
Slicer drive it) serves a pool of phantom studies with no labels. Each round the simulated annotator asks
``POST /activelearning/{strategy}`` for the next study, "corrects" it with the phantom truth (``PUT /datastore/label``:
the truth mask, with the truth grades and landmarks in the label info), and after ``per_round`` studies the models are
retrained (``POST /train/{model}?run_sync=true``, through the promotion gate) and the studies scored again by the
method the strategy reads (``POST /scoring/{method}?run_sync=true``, so every round chooses with fresh scores).
After each round the served segmentation is measured on held-out phantom studies (Dice against their truth masks),
and the canal grades when the app serves a ``grading`` model (linearly weighted kappa against the truth).

``run_learning_curves(settings) -> dict`` returns (and ``write_outputs`` writes) the curves as JSON and PNG.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
SCORED_BY = {"epistemic": "epistemic", "grading_uncertainty": "grading_uncertainty"}


@dataclass(frozen=True)
class CurveSettings:
    out: Path
    work: Path
    strategies: tuple[str, ...] = ("random", "epistemic", "grading_uncertainty")
    pool: int = 8
    test: int = 3
    rounds: int = 3
    per_round: int = 2
    epochs: int = 4
    crop_px: int = 96
    crops_per_image: int = 4
    seed: int = 3
    max_matrix: int = 256
    epistemic_samples: int = 4
    epistemic_max_slices: int = 6
    val_fraction: float = 0.2
    gated: bool = True
    models: str = "segmentation"
    phantoms: Path | None = None

    def app_conf(self) -> dict[str, str]:
        return {
            "models": self.models,
            "segmentation_max_epochs": str(self.epochs),
            "segmentation_crop_px": str(self.crop_px),
            "segmentation_crops_per_image": str(self.crops_per_image),
            "segmentation_val_split": "0.0",
            "activelearning_epistemic_samples": str(self.epistemic_samples),
            "activelearning_epistemic_max_slices": str(self.epistemic_max_slices),
            "activelearning_score_batch": str(self.pool),
            "activelearning_score_every_minutes": "0",
            "retrain_labels": "0",
            "retrain_val_fraction": str(self.val_fraction),
            "retrain_gated": str(self.gated).lower(),
        }


# -- phantoms --------------------------------------------------------------------------------------------------------
def prepare_phantoms(s: CurveSettings) -> tuple[Path, Path]:
    """(pool folder, test folder) of phantom datasets (``dicom/``, ``truth/``), generated once under ``work``."""
    from lib.phantom import PhantomConfig, generate_dataset

    pool_dir, test_dir = s.work / "pool_phantoms", s.work / "test_phantoms"
    for folder, n, seed in ((pool_dir, s.pool, s.seed), (test_dir, s.test, s.seed + 1000)):
        if s.phantoms is None and not (folder / "done").exists():
            shutil.rmtree(folder, ignore_errors=True)
            generate_dataset(folder, n, seed, PhantomConfig(max_matrix=s.max_matrix))
            (folder / "done").write_text("ok")
    if s.phantoms is not None:
        return _split_given(s.phantoms, s, pool_dir, test_dir)
    return pool_dir, test_dir


def _split_given(source: Path, s: CurveSettings, pool_dir: Path, test_dir: Path) -> tuple[Path, Path]:
    """Use an existing phantom dataset: the first ``test`` studies are held out, the next ``pool`` form the pool."""
    ids = sorted(p.stem for p in (source / "truth").glob("*.json"))
    if len(ids) < s.test + s.pool:
        raise ValueError(f"{source} holds {len(ids)} phantom studies; --test {s.test} + --pool {s.pool} are needed")
    for folder, chosen in ((test_dir, ids[: s.test]), (pool_dir, ids[s.test: s.test + s.pool])):
        if not folder.exists():
            for study in chosen:
                shutil.copytree(source / "dicom" / study, folder / "dicom" / study)
                for f in (source / "truth").glob(f"{study}*"):
                    (folder / "truth").mkdir(parents=True, exist_ok=True)
                    shutil.copy(f, folder / "truth" / f.name)
    return pool_dir, test_dir


def truth_label_info(truth: dict) -> dict:
    """What an annotator's correction carries besides the mask: grades and landmarks per level (truth values)."""
    fields = ("central_canal", "foramen_left", "foramen_right", "facet_left", "facet_right")
    return {"source": "simulated annotator (phantom truth)",
            "grades": {lv: {k: v[k] for k in fields} for lv, v in truth["levels"].items()},
            "landmarks_lps_mm": {lv: v["landmarks_lps_mm"] for lv, v in truth["levels"].items()}}


# -- the app ---------------------------------------------------------------------------------------------------------
def app_client(studies: Path, model_dir: Path, conf: dict[str, str]):
    """A TestClient over a fresh instance of the app (MONAI Label caches app instances by folder)."""
    from fastapi.testclient import TestClient
    from monailabel.config import settings
    from monailabel.interfaces.utils.app import clear_cache

    os.environ.setdefault("MONAI_LABEL_TRACKING_ENABLED", "false")
    settings.MONAI_LABEL_TRACKING_ENABLED = False
    clear_cache()
    settings.MONAI_LABEL_APP_DIR = str(REPO)
    settings.MONAI_LABEL_STUDIES = str(studies)
    settings.MONAI_LABEL_APP_CONF = {**conf, "model_dir": str(model_dir)}
    settings.MONAI_LABEL_AUTO_UPDATE_SCORING = False  # the simulation scores synchronously, once per round
    from monailabel.app import app

    return TestClient(app, raise_server_exceptions=False)


def _ok(response, what: str) -> Any:
    if response.status_code != 200:
        raise RuntimeError(f"{what}: HTTP {response.status_code}: {response.text[:500]}")
    return response.json()


def label_next(client, strategy: str, truth_dir: Path) -> dict:
    """One annotator step: ask the strategy, save the truth of the study it chose. Returns the choice."""
    choice = _ok(client.post(f"/activelearning/{strategy}", json={"client_id": "simulated-annotator"}), strategy)
    if not choice.get("id"):
        raise RuntimeError(f"{strategy} handed out no study: {choice}")
    study = choice["id"]
    truth = json.loads((truth_dir / f"{study}.json").read_text())
    with open(truth_dir / f"{study}_labels.nii.gz", "rb") as f:
        _ok(client.put(f"/datastore/label?image={study}&tag=final", files={"label": (f"{study}.nii.gz", f)},
                       data={"params": json.dumps(truth_label_info(truth))}), f"save label {study}")
    return {"id": study, "fallback": choice.get("fallback"), "score": choice.get("score")}


# -- measuring -------------------------------------------------------------------------------------------------------
class TestSet:
    """The held-out phantom studies as a datastore with their truth masks as final labels."""

    def __init__(self, test_dir: Path):
        from lib.training.phantom_datastore import phantom_training_datastore

        self.dir = test_dir
        self.datastore = phantom_training_datastore(test_dir)
        self.ids = sorted(self.datastore.get_labeled_images())

    def dice(self, model_dir: Path, spacing_mm: float = 1.0) -> dict | None:
        from lib.networks import segmentation_vnet
        from lib.retraining.evaluators import SegmentationDice
        from lib.spine.levels import LABEL_NAMES

        return SegmentationDice(segmentation_vnet, "segmentation.pt", LABEL_NAMES, spacing_mm).evaluate(
            model_dir, [], self.ids, self.datastore)

    def canal_kappa(self, app) -> tuple[float | None, str]:
        """Kappa of the served grading's canal grades against the truth, when the app serves a grading model."""
        if "grading" not in getattr(app, "_infers", {}):
            return None, "the app serves no 'grading' model"
        from lib.grading.evaluation import canal_agreement

        truth, predicted = [], []
        try:
            for image_id in self.ids:
                _, result = app.infer({"model": "grading", "image": self.datastore.get_image_uri(image_id)})
                levels = (result.get("grades") or {}).get("levels", {})
                expected = json.loads((self.dir / "truth" / f"{image_id}.json").read_text())["levels"]
                for level, entry in levels.items():
                    truth.append(expected[level]["central_canal"])
                    predicted.append(entry["central_canal"]["grade"])
        except Exception as e:  # noqa: BLE001 - stage 2 not trained yet, or not wired: the Dice curve still stands
            return None, f"grading failed: {e!r}"
        if not truth:
            return None, "no level graded"
        return canal_agreement(truth, predicted)["kappa_linear"], f"{len(truth)} levels"


# -- the curves ------------------------------------------------------------------------------------------------------
def run_strategy(s: CurveSettings, strategy: str, pool_dir: Path, test: TestSet) -> list[dict]:
    from monailabel.interfaces.utils.app import app_instance

    work = s.work / "runs" / strategy
    shutil.rmtree(work, ignore_errors=True)
    studies, model_dir = work / "studies", work / "model"
    shutil.copytree(pool_dir / "dicom", studies)
    points = []
    with app_client(studies, model_dir, s.app_conf()) as client:
        app = app_instance()
        points.append(measure(0, 0, [], None, model_dir, test, app, 0.0))
        for rnd in range(1, s.rounds + 1):
            start = time.time()
            chosen = [label_next(client, strategy, pool_dir / "truth") for _ in range(s.per_round)]
            gate = {}
            for model in app._trainers:
                result = _ok(client.post(f"/train/{model}?run_sync=true", json={"device": "cpu"}), f"train {model}")
                gate[model] = (result or {}).get("gate", {})
            method = SCORED_BY.get(strategy)  # only the scores this strategy reads
            if method in app._scoring_methods:
                _ok(client.post(f"/scoring/{method}?run_sync=true", json={}), f"scoring {method}")
            points.append(measure(rnd, rnd * s.per_round, chosen, gate, model_dir, test, app, time.time() - start))
            logger.info(f"{strategy} round {rnd}: {points[-1]}")
    return points


def measure(rnd: int, labelled: int, chosen: list, gate: dict | None, model_dir: Path, test: TestSet, app,
            seconds: float) -> dict:
    dice = test.dice(model_dir) if (model_dir / "segmentation.pt").exists() else None
    kappa, kappa_note = test.canal_kappa(app)
    seg_gate = (gate or {}).get("segmentation", {})
    return {"round": rnd, "labelled": labelled, "chosen": chosen, "dice": (dice or {}).get("dice"),
            "dice_per_label": {k: v for k, v in (dice or {}).items() if k != "dice"}, "canal_kappa": kappa,
            "canal_kappa_note": kappa_note, "promoted": seg_gate.get("promoted"), "gate_reason": seg_gate.get("reason"),
            "round_seconds": round(seconds, 1)}


def run_learning_curves(s: CurveSettings) -> dict:
    start = time.time()
    pool_dir, test_dir = prepare_phantoms(s)
    test = TestSet(test_dir)
    curves = {strategy: run_strategy(s, strategy, pool_dir, test) for strategy in s.strategies}
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(s).items()}
    return {"settings": settings, "test_studies": test.ids, "curves": curves,
            "total_seconds": round(time.time() - start, 1)}


def write_outputs(result: dict, out: Path) -> tuple[Path, Path]:
    """``learning_curve.json`` and ``learning_curve.png`` (Dice, and canal kappa when measured, vs labelled studies)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    json_path, png_path = out / "learning_curve.json", out / "learning_curve.png"
    json_path.write_text(json.dumps(result, indent=1, default=str))
    with_kappa = any(p["canal_kappa"] is not None for c in result["curves"].values() for p in c)
    fig, axes = plt.subplots(1, 2 if with_kappa else 1, figsize=(11 if with_kappa else 6, 4.2), squeeze=False)
    panels = [("dice", "Dice (dural sac, disc) on held-out phantoms")]
    panels += [("canal_kappa", "Canal grade kappa (linear) on held-out phantoms")] if with_kappa else []
    for ax, (key, title) in zip(axes[0], panels):
        for strategy, points in result["curves"].items():
            xs = [p["labelled"] for p in points if p[key] is not None]
            ax.plot(xs, [p[key] for p in points if p[key] is not None], marker="o", label=strategy)
        ax.set_xlabel("labelled studies")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend()
    s = result["settings"]
    fig.suptitle(f"Learning curves: pool {s['pool']}, {s['per_round']} labels/round, {s['epochs']} epochs/round, "
                 f"test {s['test']} studies", fontsize=10)
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
    return json_path, png_path
