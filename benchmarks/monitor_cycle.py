"""Benchmark of one monitoring cycle, and of the drift policy's error rates.

Seeded. Builds a workspace of ``--models`` models (default 20), each trained on
``--rows`` rows (default 10,000) of 20 features (15 numerical, 5 categorical,
:func:`zenops.app.demo.datagen.wide_frame` plus a logistic target), then runs the parts
``--only`` names (default ``cycle,policy``; ``all`` for every part):

- ``cycle``: runs a first cycle of the ``monitor-models`` flow over one new batch
  per model (``--rows`` rows each; it loads each champion and stores the HTML
  reports of a first verdict), then a steady cycle with one worker thread and
  another with two, each over new batches; runs bare Evidently ``DataDriftPreset``
  reports on the same batches against the same reference rows, in the same
  process, and sums their time; prints the cycle's wall time, the bare sum, their
  ratio (the orchestration overhead: MLflow runs, tickets, Prefect tasks, scoring,
  the HTML reports with their data summary and the label-free estimate are all
  inside the cycle), the speed-up with two threads, and peak memory (max RSS);
- ``dask``: on the same workspace, a cycle on a Dask local cluster of one worker
  and one of two workers, each over new batches, and the speed-up;
- ``scaling``: a second workspace of 50 models trained on ``--scaling-rows`` rows
  (default 2,000); after a first cycle over all of them, a cycle over 1, 10 and 50
  of them (``--scaling-models``) with two worker threads and with two Dask
  workers, each over new batches of ``--scaling-rows`` rows;
- ``sizes``: cold and warm cycles by size (``--sizes``, default 50x600,20x10000,3x100000:
  models × rows per batch) against bare Evidently and the exact-test floor, a cold
  one-model cycle, the growth over ``--growth`` models (default 1,10,50,200) of
  ``--growth-rows`` rows, and the fan-out on threads and Dask
  (``benchmarks/cycle_sizes.py``; its own workspaces and Prefect home);
- ``growth``: the growth alone, without the sizes, the one-model cycles and the fan-out
  (part of ``sizes`` otherwise);
- ``policy``: the drift policy on fitted models — false tickets, detection delay, the
  label-free estimate's accuracy, Evidently's default flag and the effect-floor
  sweep (``benchmarks/policy.py``, which runs it alone too; ``--cycles`` no-drift
  batches per size, ``--trials`` trials per change).

The runner is chosen as a user chooses it, by the ``monitoring:`` section of the
workspace's ``zenops.yaml``. A Dask local cluster lives for one cycle, so each
Dask cycle includes starting its worker processes, their imports and loading the
champions; the thread runner keeps the champions in memory between cycles.
Without ``PREFECT_API_URL`` it runs its own Prefect server as ``zenops server``
starts one (all of Prefect's services, SQLite in a temporary folder; its start is
not timed). Models are trained with one OpenMP thread (faster on a busy
machine; training is not measured).

    python benchmarks/monitor_cycle.py [--models 20] [--rows 10000] [--cycles 200] [--json]
    python benchmarks/monitor_cycle.py --only policy [--cycles 200] [--trials 8] [--json]
    python benchmarks/monitor_cycle.py --only dask,scaling [--scaling-rows 2000] [--scaling-models 1,10,50]
    python benchmarks/monitor_cycle.py --only sizes [--sizes 2x600] [--growth 1,2] [--json]
    python benchmarks/monitor_cycle.py --only growth [--growth 1,10,50,200] [--growth-rows 600] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cycle_sizes  # noqa: E402
from cycle_workspace import (  # noqa: E402
    N_CATEGORICAL,
    N_NUMERICAL,
    SEED,
    Days,
    build_workspace,
    drop_batches,
    measured_cycle,
    peak_rss_mb,
    timed_cycle,
)

PARTS = ("cycle", "dask", "scaling", "sizes", "growth", "policy")
DEFAULT_PARTS = ("cycle", "policy")


def bare_evidently(workspace: Any, batches: dict[str, Any]) -> float:
    """The same drift comparisons with nothing but Evidently's DataDriftPreset."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    from drift.measurement import sample_reference
    from registry.lineage import Lineage
    from registry.versions import CHAMPION

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


def cycle_part(workspace: Any, args: argparse.Namespace, days: Days, figures: dict[str, Any]) -> None:
    """The thread runner's cycles against bare Evidently runs on the same batches."""
    cold = drop_batches(workspace, args.rows, *days.next())
    figures["cold_cycle_1_worker_seconds"] = round(timed_cycle(workspace, 1), 2)
    figures["cold_bare_evidently_seconds"] = round(bare_evidently(workspace, cold), 2)
    warm = drop_batches(workspace, args.rows, *days.next())
    figures["cycle_1_worker_seconds"] = round(timed_cycle(workspace, 1), 2)
    figures["bare_evidently_seconds"] = round(bare_evidently(workspace, warm), 2)
    drop_batches(workspace, args.rows, *days.next())
    figures["cycle_2_workers_seconds"] = round(timed_cycle(workspace, 2), 2)
    ratio = figures["cold_cycle_1_worker_seconds"] / figures["cold_bare_evidently_seconds"]
    figures["cold_overhead_ratio"] = round(ratio, 2)
    ratio = figures["cycle_1_worker_seconds"] / figures["bare_evidently_seconds"]
    figures["overhead_ratio_1_worker"] = round(ratio, 2)
    figures["speedup_2_workers"] = round(
        figures["cycle_1_worker_seconds"] / figures["cycle_2_workers_seconds"], 2
    )
    figures["peak_rss_mb"] = round(peak_rss_mb(), 0)


def dask_part(workspace: Any, args: argparse.Namespace, days: Days, figures: dict[str, Any]) -> None:
    """A cycle on a Dask local cluster of one worker, then of two, each over new batches."""
    if days.count == 0:  # past the first verdicts' HTML reports, as in the steady cycles
        drop_batches(workspace, args.rows, *days.next())
        timed_cycle(workspace, 2)
    dask: dict[str, Any] = {"models": args.models, "rows": args.rows}
    for key, workers in (("cycle_1_worker", 1), ("cycle_2_workers", 2)):
        drop_batches(workspace, args.rows, *days.next())
        dask[key] = measured_cycle(workspace, workers, "dask")
    one, two = dask["cycle_1_worker"]["seconds"], dask["cycle_2_workers"]["seconds"]
    dask["speedup_2_workers"] = round(one / two, 2)
    dask["worker_peak_rss_mb"] = round(peak_rss_mb(resource.RUSAGE_CHILDREN), 0)
    figures["dask"] = dask


def scaling_part(root: Path, args: argparse.Namespace, figures: dict[str, Any], log: Any) -> None:
    """Cycle time over 1, 10 and 50 models: two worker threads against two Dask workers."""
    sizes = sorted(args.scaling_models)
    rows = args.scaling_rows
    log(f"building {sizes[-1]} trained models of {rows} rows × 20 features …")
    started = time.perf_counter()
    workspace = build_workspace(root, sizes[-1], rows)
    scaling: dict[str, Any] = {"rows": rows, "setup_seconds": round(time.perf_counter() - started, 1)}
    days = Days()
    drop_batches(workspace, rows, *days.next())
    scaling["first_cycle_thread_2_workers_seconds"] = round(timed_cycle(workspace, 2), 2)
    names = [spec.name for spec in workspace.config.models]
    scaling["cycles"] = []
    for size in sizes:
        log(f"  {size} model(s) …")
        chosen = names[:size]
        drop_batches(workspace, rows, *days.next(), names=chosen)
        thread = measured_cycle(workspace, 2, "thread", chosen)
        drop_batches(workspace, rows, *days.next(), names=chosen)
        dask = measured_cycle(workspace, 2, "dask", chosen)
        scaling["cycles"].append(
            {
                "models": size,
                "thread_2_workers": thread,
                "dask_2_workers": dask,
                "dask_to_thread": round(dask["seconds"] / thread["seconds"], 2),
            }
        )
    figures["scaling"] = scaling


def print_figures(figures: dict[str, Any], args: argparse.Namespace, policy: str | None) -> None:
    if "cycle_1_worker_seconds" in figures:
        print(f"\nmonitoring cycle: {args.models} models × {args.rows:,} rows × 20 features")
        print(
            "  first cycle (loads the champions, stores HTML reports) "
            f"{figures['cold_cycle_1_worker_seconds']:.2f} s, "
            f"bare {figures['cold_bare_evidently_seconds']:.2f} s, ratio {figures['cold_overhead_ratio']:.2f}"
        )
        print(f"  cycle, 1 worker       {figures['cycle_1_worker_seconds']:8.2f} s")
        print(
            f"  bare DataDriftPreset  {figures['bare_evidently_seconds']:8.2f} s (sum over the same batches)"
        )
        print(f"  ratio                 {figures['overhead_ratio_1_worker']:8.2f}")
        speedup = figures["speedup_2_workers"]
        print(
            f"  cycle, 2 workers      {figures['cycle_2_workers_seconds']:8.2f} s  (speed-up {speedup:.2f})"
        )
        print(f"  peak memory (RSS)     {figures['peak_rss_mb']:8.0f} MB")
    if "dask" in figures:
        dask = figures["dask"]
        print(f"\nDask local cluster: {dask['models']} models × {dask['rows']:,} rows × 20 features")
        print("  (CPU: seconds of the flow's process / of the worker processes)")
        for label, key in (("1 worker ", "cycle_1_worker"), ("2 workers", "cycle_2_workers")):
            cycle = dask[key]
            print(
                f"  cycle, {label}     {cycle['seconds']:8.2f} s  CPU {cycle['cpu_flow_process_seconds']:.0f}"
                f" / {cycle['cpu_worker_processes_seconds']:.0f} s"
            )
        print(f"  speed-up, 2 workers   {dask['speedup_2_workers']:8.2f}")
        print(f"  peak worker memory    {dask['worker_peak_rss_mb']:8.0f} MB (largest child process)")
    if "scaling" in figures:
        scaling = figures["scaling"]
        print(f"\nscaling: new batches of {scaling['rows']:,} rows × 20 features, 2 workers")
        print("  models   threads (s)   dask (s)   dask / threads   dask workers' CPU (s)")
        for cycle in scaling["cycles"]:
            print(
                f"  {cycle['models']:6d}   {cycle['thread_2_workers']['seconds']:11.2f}"
                f"   {cycle['dask_2_workers']['seconds']:8.2f}   {cycle['dask_to_thread']:14.2f}"
                f"   {cycle['dask_2_workers']['cpu_worker_processes_seconds']:21.0f}"
            )
    if "sizes" in figures:
        from cycle_sizes_report import report

        print()
        print(report(figures["sizes"]))
    elif "growth" in figures:
        from cycle_sizes_report import growth_report

        print()
        print(growth_report(figures["growth"]))
    if policy is not None:
        print()
        print(policy)


def parse_parts(value: str) -> list[str]:
    if value.strip() == "all":
        return list(PARTS)
    parts = [part.strip() for part in value.split(",") if part.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown or not parts:
        raise argparse.ArgumentTypeError(f"parts are {', '.join(PARTS)} or all, not '{value}'")
    return parts


def parse_sizes(value: str) -> list[int]:
    try:
        sizes = [int(size) for size in value.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a list of model counts such as 1,10,50") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"model counts must be at least 1, not '{value}'")
    return sizes


def run(args: argparse.Namespace, log: Any) -> tuple[dict[str, Any], str | None]:
    """The figures of the parts asked for, and the policy's report (when asked for)."""
    figures: dict[str, Any] = {"parts": args.only}
    policy = None
    with tempfile.TemporaryDirectory() as scratch:
        if {"cycle", "dask"} & set(args.only):
            figures.update(models=args.models, rows=args.rows, features=N_NUMERICAL + N_CATEGORICAL)
            log(f"building {args.models} trained models of {args.rows} rows × 20 features …")
            started = time.perf_counter()
            workspace = build_workspace(Path(scratch) / "ws", args.models, args.rows)
            figures["setup_seconds"] = round(time.perf_counter() - started, 1)
            from flows.runners import warm_up

            warm_up()
            days = Days()
            if "cycle" in args.only:
                log("cycles on threads, and bare Evidently …")
                cycle_part(workspace, args, days, figures)
            if "dask" in args.only:
                log("cycles on a Dask local cluster of 1, then 2 workers …")
                dask_part(workspace, args, days, figures)
        if "scaling" in args.only:
            scaling_part(Path(scratch) / "scaling", args, figures, log)
        if "sizes" in args.only:
            figures["sizes"] = cycle_sizes.run(args, Path(scratch) / "sizes", log)
        elif "growth" in args.only:
            figures["growth"] = cycle_sizes.run_growth(args, Path(scratch) / "growth", log)
    if "policy" in args.only:
        policy_benchmark = _policy_benchmark()
        options = policy_benchmark.parser().parse_args([])
        options.seed, options.cycles = SEED, args.cycles
        options.trials = args.trials if args.trials is not None else options.trials
        result = policy_benchmark.run(options, log)
        figures["policy"], policy = result, policy_benchmark.report(result)
    return figures, policy


def _policy_benchmark() -> Any:
    """``benchmarks/policy.py``, loaded from beside this file."""
    import importlib.util

    path = Path(__file__).resolve().parent / "policy.py"
    spec = importlib.util.spec_from_file_location("policy_benchmark", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def prefect_server(folder: Path) -> Iterator[str]:
    """A Prefect server as ``zenops server`` starts it (all its services, SQLite in ``folder``).

    This process, its threads and the processes it starts talk to it while it runs.
    """
    from types import SimpleNamespace

    from zenops.app.servers import start_prefect, wait_healthy
    from zenops.app.temporary_server import pointed_at

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = start_prefect(SimpleNamespace(root=folder), port=port)
    try:
        wait_healthy(server)
        with pointed_at(f"{server.url}/api"):
            yield f"{server.url}/api"
    finally:
        server.stop()


def main() -> None:
    environment = dict(os.environ)  # the ``zenops`` processes of the sizes part get it as it was
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--cycles", type=int, default=200, help="no-drift cycles for the false-alarm rate")
    parser.add_argument(
        "--trials", type=int, default=None, help="policy: trials per change (default: the policy benchmark's)"
    )
    parser.add_argument(
        "--only",
        type=parse_parts,
        default=list(DEFAULT_PARTS),
        help=f"the parts to run, comma-separated, of {', '.join(PARTS)}, or all "
        f"(default {','.join(DEFAULT_PARTS)})",
    )
    parser.add_argument("--scaling-rows", type=int, default=2_000, help="rows per model in the scaling part")
    parser.add_argument(
        "--scaling-models", type=parse_sizes, default=[1, 10, 50], help="model counts of the scaling part"
    )
    parser.add_argument(
        "--sizes",
        type=cycle_sizes.parse_size_list,
        default=cycle_sizes.parse_size_list(cycle_sizes.DEFAULT_SIZES),
        help=f"sizes part: MODELSxROWS per batch, comma-separated (default {cycle_sizes.DEFAULT_SIZES})",
    )
    parser.add_argument(
        "--growth",
        type=parse_sizes,
        default=parse_sizes(cycle_sizes.DEFAULT_GROWTH),
        help=f"sizes part: model counts of the linear-growth cycles (default {cycle_sizes.DEFAULT_GROWTH})",
    )
    parser.add_argument("--growth-rows", type=int, default=600, help="sizes part: rows per growth batch")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()
    args.child_environment = environment

    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
    from zenops.kernel.offline import stay_offline

    stay_offline()
    import logging

    for noisy in ("mlflow", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    log = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    from zenops.app.flow_runs import without_heartbeats

    with without_heartbeats():  # as a zenops command runs its own flows
        figures, policy = run_with_server(args, log)
    if args.json:
        print(json.dumps(figures, indent=2, default=str))
        return
    print_figures(figures, args, policy)


def run_with_server(args: argparse.Namespace, log: Any) -> tuple[dict[str, Any], Any]:
    """Every part asked for, with the Prefect API of the environment or a server of its own."""
    if os.environ.get("PREFECT_API_URL") or set(args.only) == {"policy"}:  # the policy needs no server
        figures, policy = run(args, log)
    else:  # Dask workers report to the same API as the flow: a server, not the in-process one
        with tempfile.TemporaryDirectory(prefix="zenops-bench-") as folder, prefect_server(Path(folder)):
            figures, policy = run(args, log)
    return figures, policy


if __name__ == "__main__":
    main()
