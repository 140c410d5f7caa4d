"""Benchmark of one monitoring cycle, and of the drift policy's error rates.

Seeded. Builds a workspace of ``--models`` models (default 20), each trained on
``--rows`` rows (default 10,000) of 20 features (15 numerical, 5 categorical,
:func:`zenops.datagen.wide_frame` plus a logistic target), then:

1. runs a first cycle of the ``monitor-models`` flow over one new batch per model
   (``--rows`` rows each; it loads each champion and stores the HTML reports of a
   first verdict), then a steady cycle with one worker and another with two, each
   over new batches;
2. runs bare Evidently ``DataDriftPreset`` reports on the same batches against the
   same reference rows, in the same process, and sums their time;
3. prints the cycle's wall time, the bare sum, their ratio (the orchestration
   overhead: MLflow runs, tickets, Prefect tasks, scoring, the data summary and
   the label-free estimate are all inside the cycle), the speed-up with two
   workers, and peak memory (max RSS);
4. measures the policy's false-alarm rate over ``--cycles`` no-drift batches and
   its detection rate on seeded shifts (:func:`drift.evaluation.evaluate_policy`).

    python benchmarks/monitor_cycle.py [--models 20] [--rows 10000] [--cycles 200] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

SEED = 11
N_NUMERICAL, N_CATEGORICAL = 15, 5


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def labelled_frame(rows: int, seed: int, start: str):
    """A wide frame with id, timestamp and a logistic target of a few columns."""
    import pandas as pd

    from zenops.datagen import wide_frame

    frame = wide_frame(rows, N_NUMERICAL, N_CATEGORICAL, seed=seed)
    rng = np.random.default_rng(seed)
    z = (frame["num_00"] - frame["num_00"].mean()) / frame["num_00"].std()
    z += 0.8 * (frame["cat_00"] == "A") - 0.5 * (frame["num_04"] > frame["num_04"].median())
    frame["target"] = (rng.random(rows) < 1 / (1 + np.exp(-z))).astype(int)
    frame.insert(0, "ts", pd.Timestamp(start) + pd.to_timedelta(np.arange(rows) % 86_400, unit="s"))
    frame.insert(0, "id", [f"{start}-{seed}-{i}" for i in range(rows)])
    return frame


def build_workspace(root: Path, models: int, rows: int) -> Any:
    """A workspace of ``models`` trained wide models."""
    from flows.train import train_model
    from zenops.datagen import wide_columns
    from zenops.init import init_workspace
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
    for i, spec in enumerate(workspace.config.models):
        path = workspace.path(spec.training_data)
        path.parent.mkdir(parents=True, exist_ok=True)
        labelled_frame(rows, SEED * 1000 + i, "2024-06-01").to_parquet(path, index=False)
        train_model(model=spec.name, workspace=str(root))
    return workspace


def drop_batches(workspace: Any, rows: int, day: str, salt: int) -> dict[str, Any]:
    """One new batch (features only) per model; returns them for the bare runs."""
    batches = {}
    for i, spec in enumerate(workspace.config.models):
        frame = labelled_frame(rows, SEED * 1000 + 500 + salt * 100 + i, day).drop(columns=["target"])
        folder = workspace.path(spec.batches)
        folder.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(folder / f"{day}.parquet", index=False)
        batches[spec.name] = frame
    return batches


def timed_cycle(workspace: Any, workers: int) -> float:
    from prefect.task_runners import ThreadPoolTaskRunner

    from flows.monitor import monitor_models

    runner = monitor_models.with_options(task_runner=ThreadPoolTaskRunner(max_workers=workers))
    started = time.perf_counter()
    result = runner(workspace=str(workspace.root), workspace_name=f"benchmark-{workers}w")
    elapsed = time.perf_counter() - started
    assert len(result["models"]) == len(workspace.config.models)
    return elapsed


def bare_evidently(workspace: Any, batches: dict[str, Any]) -> float:
    """The same drift comparisons with nothing but Evidently's DataDriftPreset."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    from drift.engine import sample_reference
    from registry.lineage import Lineage
    from registry.models import CHAMPION

    total = 0.0
    registry, store = workspace.registry(), workspace.data_store()
    for spec in workspace.config.models:
        info = registry.alias(spec.name, CHAMPION)
        reference = sample_reference(store.read_frame(Lineage.from_tags(info.tags, spec.name).data), spec)
        definition = DataDefinition(
            numerical_columns=spec.features.numerical, categorical_columns=spec.features.categorical
        )
        columns = spec.features.all
        started = time.perf_counter()
        Report([DataDriftPreset()]).run(
            Dataset.from_pandas(batches[spec.name][columns], data_definition=definition),
            Dataset.from_pandas(reference[columns], data_definition=definition),
        )
        total += time.perf_counter() - started
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--cycles", type=int, default=200, help="no-drift cycles for the false-alarm rate")
    parser.add_argument("--trials", type=int, default=20, help="trials per shift scenario")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()

    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
    from zenops.offline import stay_offline

    stay_offline()
    import logging

    for noisy in ("mlflow", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    log = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    figures: dict[str, Any] = {
        "models": args.models,
        "rows": args.rows,
        "features": N_NUMERICAL + N_CATEGORICAL,
    }
    with tempfile.TemporaryDirectory() as scratch:
        log(f"building {args.models} trained models of {args.rows} rows × 20 features …")
        started = time.perf_counter()
        workspace = build_workspace(Path(scratch) / "ws", args.models, args.rows)
        figures["setup_seconds"] = round(time.perf_counter() - started, 1)
        from zenops import monitoring

        monitoring.warm_up()
        cold = drop_batches(workspace, args.rows, "2024-07-01", 1)
        figures["cold_cycle_1_worker_seconds"] = round(timed_cycle(workspace, 1), 2)
        figures["cold_bare_evidently_seconds"] = round(bare_evidently(workspace, cold), 2)
        warm = drop_batches(workspace, args.rows, "2024-07-02", 2)
        figures["cycle_1_worker_seconds"] = round(timed_cycle(workspace, 1), 2)
        figures["bare_evidently_seconds"] = round(bare_evidently(workspace, warm), 2)
        drop_batches(workspace, args.rows, "2024-07-03", 3)
        figures["cycle_2_workers_seconds"] = round(timed_cycle(workspace, 2), 2)
    ratio = figures["cold_cycle_1_worker_seconds"] / figures["cold_bare_evidently_seconds"]
    figures["cold_overhead_ratio"] = round(ratio, 2)
    ratio = figures["cycle_1_worker_seconds"] / figures["bare_evidently_seconds"]
    figures["overhead_ratio_1_worker"] = round(ratio, 2)
    figures["speedup_2_workers"] = round(
        figures["cycle_1_worker_seconds"] / figures["cycle_2_workers_seconds"], 2
    )
    figures["peak_rss_mb"] = round(peak_rss_mb(), 0)

    from drift.evaluation import evaluate_policy

    log(f"policy: {args.cycles} no-drift cycles and {args.trials} trials per shift …")
    evaluation = evaluate_policy(cycles=args.cycles, trials=args.trials, seed=SEED)
    figures["policy"] = evaluation.to_dict()
    if args.json:
        print(json.dumps(figures, indent=2, default=str))
        return
    print(f"\nmonitoring cycle: {args.models} models × {args.rows:,} rows × 20 features")
    print(
        "  first cycle (loads the champions, stores HTML reports) "
        f"{figures['cold_cycle_1_worker_seconds']:.2f} s, "
        f"bare {figures['cold_bare_evidently_seconds']:.2f} s, ratio {figures['cold_overhead_ratio']:.2f}"
    )
    print(f"  cycle, 1 worker       {figures['cycle_1_worker_seconds']:8.2f} s")
    print(f"  bare DataDriftPreset  {figures['bare_evidently_seconds']:8.2f} s (sum over the same batches)")
    print(f"  ratio                 {figures['overhead_ratio_1_worker']:8.2f}")
    speedup = figures["speedup_2_workers"]
    print(f"  cycle, 2 workers      {figures['cycle_2_workers_seconds']:8.2f} s  (speed-up {speedup:.2f})")
    print(f"  peak memory (RSS)     {figures['peak_rss_mb']:8.0f} MB")
    print()
    print(evaluation.to_markdown())


if __name__ == "__main__":
    main()
