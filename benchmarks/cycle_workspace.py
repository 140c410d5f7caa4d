"""The benchmark workspace of the monitoring-cycle benchmarks, and the timing of a cycle.

Seeded wide models (15 numerical and 5 categorical features of
:func:`zenops.app.demo.datagen.wide_frame` plus a logistic target), trained with one
OpenMP thread; new production batches per cycle, one production day each; the
runner chosen as a user chooses it, by the ``monitoring:`` section of zenops.yaml.
"""

from __future__ import annotations

import resource
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import yaml

SEED = 11
N_NUMERICAL, N_CATEGORICAL = 15, 5
FIRST_DAY = date(2024, 7, 1)


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Max RSS of this process, or (``RUSAGE_CHILDREN``) of its largest ended child."""
    return resource.getrusage(who).ru_maxrss / 1024


def labelled_frame(rows: int, seed: int, start: str):
    """A wide frame with id, timestamp and a logistic target of a few columns."""
    import pandas as pd

    from zenops.app.demo.datagen import wide_frame

    frame = wide_frame(rows, N_NUMERICAL, N_CATEGORICAL, seed=seed)
    rng = np.random.default_rng(seed)
    z = (frame["num_00"] - frame["num_00"].mean()) / frame["num_00"].std()
    z += 0.8 * (frame["cat_00"] == "A") - 0.5 * (frame["num_04"] > frame["num_04"].median())
    frame["target"] = (rng.random(rows) < 1 / (1 + np.exp(-z))).astype(int)
    frame.insert(0, "ts", pd.Timestamp(start) + pd.to_timedelta(np.arange(rows) % 86_400, unit="s"))
    frame.insert(0, "id", [f"{start}-{seed}-{i}" for i in range(rows)])
    return frame


def build_workspace(root: Path, models: int, rows: int, through_flow: bool = True) -> Any:
    """A workspace of ``models`` trained wide models.

    ``through_flow`` False: each model is trained by the training service's own steps,
    called in this process (:func:`zenops.services.train.run.train`, then the champion's
    profile), as the ``train-model`` flow calls them, without the flow and task runs
    around them. The registered versions, their lineage and their profiles are the same;
    the set-up of hundreds of models costs less on a busy machine.
    """
    from zenops.app.demo.datagen import wide_columns
    from zenops.app.init import init_workspace
    from zenops.workspace import Workspace

    numerical, categorical = wide_columns(N_NUMERICAL, N_CATEGORICAL)
    config = yaml.safe_load(
        (Path(__file__).resolve().parents[1] / "zenops/templates/zenops.yaml").read_text()
    )
    config["models"] = [
        {
            "name": f"wide-{i:02d}",
            "task": "classification",
            "target": "target",
            "id_column": "id",
            "timestamp_column": "ts",
            "features": {"numerical": numerical, "categorical": categorical},
            "training_data": f"data/wide-{i:02d}/train.parquet",
            "batches": f"data/wide-{i:02d}/batches",
            "labels": f"data/wide-{i:02d}/labels",
            "trainer": {
                "estimator": "sklearn.ensemble.HistGradientBoostingClassifier",
                "params": {"max_iter": 30, "random_state": 0},
            },
            "metric": "roc_auc",
            "sla": "silver",
        }
        for i in range(models)
    ]
    root.mkdir(parents=True)
    (root / "zenops.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    workspace = Workspace(root)
    init_workspace(workspace)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        for i, spec in enumerate(workspace.config.models):
            path = workspace.path(spec.training_data)
            path.parent.mkdir(parents=True, exist_ok=True)
            labelled_frame(rows, SEED * 1000 + i, "2024-06-01").to_parquet(path, index=False)
            train(workspace, spec.name, through_flow)
    return workspace


def train(workspace: Any, model: str, through_flow: bool) -> None:
    """Train ``model`` by the ``train-model`` flow, or by the service steps it runs."""
    from flows.train import train_model, train_ports
    from registry.versions import CHAMPION
    from zenops.services.champion_profile import profile_champion
    from zenops.services.train import run

    if through_flow:
        train_model(model=model, workspace=str(workspace.root))
        return
    spec = workspace.config.model(model)
    outcome = run.train(train_ports(workspace), spec)
    if outcome.alias == CHAMPION:
        profile_champion(workspace, spec, outcome.version)


class Days:
    """The production days of the benchmark's batches, one per cycle, in order."""

    def __init__(self) -> None:
        self.count = 0

    def next(self) -> tuple[str, int]:
        """The next day (``YYYY-MM-DD``) and its salt for the seeded rows."""
        self.count += 1
        return (FIRST_DAY + timedelta(days=self.count - 1)).isoformat(), self.count


def drop_batches(
    workspace: Any, rows: int, day: str, salt: int, names: list[str] | None = None
) -> dict[str, Any]:
    """One new batch (features only) per model (or those named); returns them for the bare runs."""
    batches = {}
    for i, spec in enumerate(workspace.config.models):
        if names is not None and spec.name not in names:
            continue
        frame = labelled_frame(rows, SEED * 1000 + 500 + salt * 100 + i, day).drop(columns=["target"])
        folder = workspace.path(spec.batches)
        folder.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(folder / f"{day}.parquet", index=False)
        batches[spec.name] = frame
    return batches


def set_monitoring(workspace: Any, runner: str, workers: int) -> None:
    """Choose the cycle's runner as a user does: the ``monitoring:`` section of zenops.yaml."""
    config = yaml.safe_load(workspace.config_path.read_text())
    config["monitoring"] = {**(config.get("monitoring") or {}), "runner": runner, "workers": workers}
    workspace.config_path.write_text(yaml.safe_dump(config, sort_keys=False))


def timed_cycle(
    workspace: Any, workers: int, runner: str = "thread", names: list[str] | None = None
) -> float:
    """Seconds of one cycle over every model (or those named) on ``runner`` × ``workers``."""
    from flows.monitor import monitor_models

    set_monitoring(workspace, runner, workers)
    started = time.perf_counter()
    result = monitor_models(
        workspace=str(workspace.root), models=names, workspace_name=f"benchmark-{runner}-{workers}w"
    )
    elapsed = time.perf_counter() - started
    assert len(result["models"]) == len(names or workspace.config.models)
    return elapsed


def cpu_seconds() -> tuple[float, float]:
    """CPU seconds used so far by this process, and by its ended children (Dask workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def measured_cycle(
    workspace: Any, workers: int, runner: str, names: list[str] | None = None
) -> dict[str, float]:
    """A cycle's wall seconds, and the CPU seconds of this process and of its worker processes."""
    own, children = cpu_seconds()
    wall = timed_cycle(workspace, workers, runner, names)
    own_after, children_after = cpu_seconds()
    return {
        "seconds": round(wall, 2),
        "cpu_flow_process_seconds": round(own_after - own, 1),
        "cpu_worker_processes_seconds": round(children_after - children, 1),
    }
