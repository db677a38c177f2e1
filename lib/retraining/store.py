"""What the retraining loop keeps on disk beside the weights, shared by the server and its training processes.

    <model_dir>/retraining/<model>.history.json    every training of the model: version, date, labels, validation
                                                   metrics of the candidate and the served model, promoted or not, why
    <model_dir>/retraining/<model>.labels.json     label fingerprints of the training running now (with its pid) and of
                                                   the last finished one: the baseline "new labels" are counted from
    <model_dir>/retraining/validation_split.json   the fixed validation split (lib/retraining/split.py)
    <model_dir>/candidates/<model>-<date>/          a trained model that was not served, with ``reason.json``

Every file is read and written under its own file lock and replaced atomically, so a reader never sees half a file.
"""
from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any, Callable, Mapping

from filelock import FileLock

RETRAINING_DIR = "retraining"
CANDIDATES_DIR = "candidates"


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def read_json(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return default


def update_json(path: Path, change: Callable[[Any], Any], default: Any) -> Any:
    """Read-modify-write of a JSON file under its lock; ``change(value)`` returns the new value, which is returned."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        value = change(read_json(path, default))
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(value, indent=1, default=str))
        os.replace(tmp, path)
    return value


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RetrainStore:
    """Paths and files of the retraining loop under one model folder."""

    def __init__(self, model_dir: str | Path):
        self.model_dir = Path(model_dir)
        self.dir = self.model_dir / RETRAINING_DIR
        self.candidates_dir = self.model_dir / CANDIDATES_DIR

    # -- history --------------------------------------------------------------------------------------------------
    def history_path(self, model: str) -> Path:
        return self.dir / f"{model}.history.json"

    def history(self, model: str) -> list[dict]:
        return read_json(self.history_path(model), [])

    def append_history(self, model: str, entry: Mapping[str, Any]) -> None:
        update_json(self.history_path(model), lambda entries: [*entries, dict(entry)], [])

    def all_histories(self) -> dict[str, list[dict]]:
        if not self.dir.is_dir():
            return {}
        return {p.name[: -len(".history.json")]: read_json(p, []) for p in sorted(self.dir.glob("*.history.json"))}

    # -- label snapshots ------------------------------------------------------------------------------------------
    def labels_path(self, model: str) -> Path:
        return self.dir / f"{model}.labels.json"

    def training_started(self, model: str, fingerprints: Mapping[str, str]) -> None:
        """Record the labels a training that starts now reads (this process's pid marks it as running)."""
        def change(state: dict) -> dict:
            return {**state, "running": {"pid": os.getpid(), "started": now_iso(), "labels": dict(fingerprints)}}

        update_json(self.labels_path(model), change, {})

    def training_finished(self, model: str, used: bool) -> None:
        """The running training ended: its labels become the baseline when ``used``, else they count again."""
        def change(state: dict) -> dict:
            running = state.pop("running", None)
            if used and running:
                state["finished"] = {**running, "finished": now_iso()}
            return state

        update_json(self.labels_path(model), change, {})

    def baseline(self, model: str) -> dict[str, str]:
        """Labels of the training running now (if its process lives), else of the last finished one, else none."""
        state = read_json(self.labels_path(model), {})
        running = state.get("running")
        if running and pid_alive(running.get("pid")):
            return dict(running.get("labels", {}))
        return dict(state.get("finished", {}).get("labels", {}))
