"""The monitoring cycle by size: cold and warm cycles against bare Evidently and the exact-test floor.

The ``sizes`` part of ``benchmarks/monitor_cycle.py``. For each size MODELSxROWS
(``--sizes``, default ``50x600,20x10000,3x100000``) it builds a workspace of MODELS
models, each trained once on :func:`training_rows` rows (not measured), and runs, each
over new batches (one per model, ROWS rows):

- a first cycle of the ``monitor-models`` flow in this process: it loads the
  champions and, on the workspace's defaults, keeps each model's first report of the
  week (``monitoring.report_cadence``), so it runs Evidently for every model (timed,
  not judged);
- **warm**: a second cycle in this process, on the workspace's default runner (a
  long-lived process: ``zenops serve``, the demo);
- **bare**: Evidently's ``DataDriftPreset`` on the warm cycle's batches against each
  champion's reference sample (``load_champion(...).reference``), summed;
- **floor**: the exact scipy tests alone (``ScipyDriftEngine().measure``) on the same;
- **cold**: one new ``zenops monitor --json`` process, as a deployment or a schedule
  runs it, twice: with ``PREFECT_API_URL`` naming the benchmark's Prefect server, and
  without it (the command starts its own temporary server). Wall, CPU (the child and
  the processes it waited for: its temporary server) and peak RSS (the larger of the
  two), by ``os.wait4`` in a small launcher that forks it.

Then: cold cycles of a one-model workspace of 600-row batches; the growth of the warm
and cold cycle over ``--growth`` models (default 1,10,50,200) of one workspace with
``--growth-rows`` rows (a least-squares slope per model and its R²; its first cycle keeps
no report and the workspace no report cadence, which leaves the same steady state
without 200 first reports); and the fan-out of
the warm cycle of the size with the most models on 1 and 2 threads, 2 Dask workers and
2 warm worker processes (their first cycle, which starts them, and a second), and a
cold cycle on the warm processes' runner.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from cycle_process import Cold, check_cycle, figure
from cycle_workspace import Days, build_workspace, drop_batches, set_monitoring

DEFAULT_SIZES = "50x600,20x10000,3x100000"
DEFAULT_GROWTH = "1,10,50,200"
ONE_MODEL_ROWS = 600
COLD_MODES = {"server": "cold_with_server", "alone": "cold_own_server"}
FAN_OUT = (
    ("thread_1_worker", "thread", 1),
    ("thread_2_workers", "thread", 2),
    ("dask_2_workers", "dask", 2),
    # The warm worker pool: its first cycle starts the pool and loads the champions there.
    ("process_2_workers_first", "process", 2),
    ("process_2_workers", "process", 2),
)


def parse_size_list(value: str) -> list[tuple[int, int]]:
    """``50x600,20x10000``: (models, rows per batch) pairs."""
    sizes = []
    for item in value.split(","):
        models, sep, rows = item.strip().lower().partition("x")
        try:
            size = (int(models), int(rows))
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{item}' is not MODELSxROWS, such as 50x600") from None
        if not sep or min(size) < 1:
            raise argparse.ArgumentTypeError(f"'{item}' is not MODELSxROWS with both at least 1")
        sizes.append(size)
    return sizes


def training_rows(batch_rows: int) -> int:
    """Rows each model is trained on: its batches' size, at least 1,000 and at most 10,000."""
    return min(max(batch_rows, 1_000), 10_000)


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def pool_cpu() -> float:
    """CPU seconds of the warm monitoring workers and the server they fork from, so far.

    They are not this process's children to wait for until the process ends, so
    ``RUSAGE_CHILDREN`` does not count them; ``/proc`` does.
    """
    from multiprocessing import forkserver

    from flows import model_pool

    pool = model_pool._pool
    pids = [process.pid for process in (pool.executor._processes or {}).values()] if pool else []
    server = getattr(forkserver._forkserver, "_forkserver_pid", None)
    total = 0.0
    for pid in [*pids, *([server] if server else [])]:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def reset_peak() -> None:
    """Start this process's peak RSS afresh (Linux: ``clear_refs`` 5), where allowed."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_mb() -> float:
    """This process's peak RSS since :func:`reset_peak` (else since it started)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 0)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0)


def first_cycle(workspace: Any, rows: int) -> dict[str, Any]:
    """The cycle that loads every champion and keeps each model's first report of the week.

    Not a figure of the goals: it brings the process and the workspace to the steady
    state a schedule runs in, where this week's reports are kept already, so a later
    cycle builds an Evidently report only for a verdict that changes.
    """
    return warm_cycle(workspace, rows)


def first_cycle_without_reports(workspace: Any, rows: int) -> dict[str, Any]:
    """A first cycle that keeps no report (``html_reports: never``), then no report cadence.

    For the growth part: its steady state is the same as on the defaults (a report only
    for a verdict that changes) without a first cycle of 200 Evidently reports; the
    workspace keeps ``report_cadence: none`` afterwards, so a week's first cycle keeps none.
    """
    config = yaml.safe_load(workspace.config_path.read_text())
    monitoring = config.get("monitoring") or {}
    config["monitoring"] = {**monitoring, "html_reports": "never", "report_cadence": "none"}
    workspace.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    try:
        return warm_cycle(workspace, rows)
    finally:
        config["monitoring"] = {**monitoring, "report_cadence": "none"}
        workspace.config_path.write_text(yaml.safe_dump(config, sort_keys=False))


def warm_cycle(workspace: Any, rows: int, names: list[str] | None = None) -> dict[str, Any]:
    """One cycle of the ``monitor-models`` flow in this process: wall and CPU seconds."""
    from flows.monitor import monitor_models

    cpu, started = own_cpu(), time.perf_counter()
    result = monitor_models(workspace=str(workspace.root), models=names, workspace_name=workspace.root.name)
    wall, cpu = time.perf_counter() - started, own_cpu() - cpu
    check_cycle(result, names or [spec.name for spec in workspace.config.models], rows)
    return figure(wall, cpu)


def references(workspace: Any) -> dict[str, Any]:
    """Each champion's reference sample, as the cycle compares batches against it."""
    from zenops.services.monitor.cycle import load_champion

    return {spec.name: load_champion(workspace, spec).reference for spec in workspace.config.models}


def bare_evidently(workspace: Any, refs: dict[str, Any], batches: dict[str, Any]) -> dict[str, Any]:
    """Evidently's ``DataDriftPreset`` on each batch against its reference, summed."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    wall = cpu = 0.0
    for spec in workspace.config.models:
        definition = DataDefinition(
            numerical_columns=spec.features.numerical, categorical_columns=spec.features.categorical
        )
        columns = spec.features.all
        spent, started = own_cpu(), time.perf_counter()
        Report([DataDriftPreset()]).run(
            Dataset.from_pandas(batches[spec.name][columns], data_definition=definition),
            Dataset.from_pandas(refs[spec.name][columns], data_definition=definition),
        )
        wall, cpu = wall + time.perf_counter() - started, cpu + own_cpu() - spent
    return figure(wall, cpu)


def floor(workspace: Any, refs: dict[str, Any], batches: dict[str, Any]) -> dict[str, Any]:
    """The exact tests alone (``ScipyDriftEngine``) on each batch against its reference, summed."""
    from drift.stattests import ScipyDriftEngine

    engine, wall, cpu = ScipyDriftEngine(), 0.0, 0.0
    for spec in workspace.config.models:
        spent, started = own_cpu(), time.perf_counter()
        engine.measure(refs[spec.name], batches[spec.name], spec)
        wall, cpu = wall + time.perf_counter() - started, cpu + own_cpu() - spent
    return figure(wall, cpu)


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b > 0 else None


def derived(size: dict[str, Any]) -> dict[str, Any]:
    """Ratios, fixed costs and the goals of one size, from its measured figures."""
    n, warm, bare, low = size["models"], size["warm"], size["bare_evidently"], size["floor"]
    out: dict[str, Any] = {"model_batches": n}
    for measure in ("wall_s", "cpu_s"):
        kind = measure[:-2]
        out[f"warm_to_bare_{kind}"] = ratio(warm[measure], bare[measure])
        out[f"warm_to_floor_{kind}"] = ratio(warm[measure], low[measure])
        out[f"fixed_per_model_batch_{measure}"] = round((warm[measure] - low[measure]) / n, 3)
        for key in COLD_MODES.values():
            if key in size:
                out[f"{key}_to_bare_{kind}"] = ratio(size[key][measure], bare[measure])
                out[f"fixed_per_process_{key}_{measure}"] = round(size[key][measure] - warm[measure], 3)
    out["warm_cores_used"] = ratio(warm["cpu_s"], warm["wall_s"])
    out["goal_warm_half_of_bare"] = warm["wall_s"] <= 0.5 * bare["wall_s"]
    out["goal_warm_near_floor"] = warm["wall_s"] <= 3 * low["wall_s"] + 0.1 * n
    out["goal_warm_near_floor_limit_s"] = round(3 * low["wall_s"] + 0.1 * n, 3)
    return out


@dataclass
class Context:
    cold: Cold
    log: Any
    scratch: Path

    def done(self, what: str, figures: dict[str, Any]) -> None:
        """Log a finished measurement's figures as one JSON line: a run cut short keeps them."""
        print(f"    {what}: {json.dumps(figures, default=str)}", file=sys.stderr, flush=True)


def measure_size(ctx: Context, models: int, rows: int) -> tuple[Any, Days, dict[str, Any]]:
    """Every figure of one size; the workspace and its days, for the fan-out."""
    train = training_rows(rows)
    ctx.log(f"  {models} model(s) × {rows:,} rows (trained on {train:,}) …")
    started = time.perf_counter()
    workspace = build_workspace(ctx.scratch / f"size-{models}x{rows}", models, train)
    size: dict[str, Any] = {"models": models, "rows": rows, "training_rows": train}
    size["setup_s"] = round(time.perf_counter() - started, 1)
    days = Days()
    drop_batches(workspace, rows, *days.next())
    size["first_cycle"] = first_cycle(workspace, rows)
    refs = references(workspace)
    size["reference_rows"] = sorted({len(frame) for frame in refs.values()})
    batches = drop_batches(workspace, rows, *days.next())
    reset_peak()
    size["warm"] = {**warm_cycle(workspace, rows), "peak_rss_mb": peak_mb()}
    size["bare_evidently"] = bare_evidently(workspace, refs, batches)
    size["floor"] = floor(workspace, refs, batches)
    ctx.cold.prime(workspace)
    for mode, key in COLD_MODES.items():
        drop_batches(workspace, rows, *days.next())
        size[key] = ctx.cold.run(workspace, mode, rows)
    size.update(derived(size))
    ctx.done(f"size {models}x{rows}", size)
    return workspace, days, size


def fan_out(workspace: Any, days: Days, rows: int, cold: Cold) -> dict[str, Any]:
    """The warm cycle on 1 and 2 threads, 2 Dask workers and 2 warm processes: seconds and cores used.

    Then one cold ``zenops monitor`` process on the warm processes' runner, beside the
    cold cycle on threads of :func:`measure_size`.
    """
    original = workspace.config_path.read_text()
    figures: dict[str, Any] = {"models": len(workspace.config.models), "rows": rows}
    try:
        for key, runner, workers in FAN_OUT:
            drop_batches(workspace, rows, *days.next())
            set_monitoring(workspace, runner, workers)
            own, children = own_cpu(), children_cpu() + pool_cpu()
            cycle = warm_cycle(workspace, rows)
            cpu_own, cpu_children = own_cpu() - own, children_cpu() + pool_cpu() - children
            cycle = figure(cycle["wall_s"], cpu_own + cpu_children, cpu_flow_process_s=round(cpu_own, 3))
            cycle["cores_used"] = ratio(cycle["cpu_s"], cycle["wall_s"])
            figures[key] = cycle
        drop_batches(workspace, rows, *days.next())
        figures["cold_process_2_workers"] = cold.run(workspace, "server", rows)
    finally:
        workspace.config_path.write_text(original)
    return figures


def linear_fit(xs: list[int], ys: list[float]) -> dict[str, float | None]:
    """Least-squares line through (models, seconds): slope per model, intercept and R²."""
    if len(set(xs)) < 2:
        return {"slope_s_per_model": None, "intercept_s": None, "r2": None}
    x, y = np.asarray(xs, float), np.asarray(ys, float)
    slope, intercept = np.polyfit(x, y, 1)
    residual, total = float(((y - (slope * x + intercept)) ** 2).sum()), float(((y - y.mean()) ** 2).sum())
    r2 = 1 - residual / total if total > 0 else 1.0
    return {
        "slope_s_per_model": round(float(slope), 4),
        "intercept_s": round(float(intercept), 3),
        "r2": round(r2, 4),
    }


def growth(ctx: Context, counts: list[int], rows: int) -> dict[str, Any]:
    """Warm and cold cycles over the first 1, 10, … models of one workspace; the linear fit."""
    counts, train = sorted(set(counts)), training_rows(rows)
    ctx.log(f"  growth: {counts[-1]} models × {rows:,} rows (trained on {train:,}) …")
    started = time.perf_counter()
    workspace = build_workspace(ctx.scratch / "growth", counts[-1], train, through_flow=False)
    figures: dict[str, Any] = {
        "rows": rows,
        "training_rows": train,
        "setup_s": round(time.perf_counter() - started, 1),
    }
    days = Days()
    drop_batches(workspace, rows, *days.next())
    figures["first_cycle"] = first_cycle_without_reports(workspace, rows)
    ctx.done("growth set-up and first cycle", figures)
    ctx.cold.prime(workspace)
    names = [spec.name for spec in workspace.config.models]
    figures["points"] = []
    for count in counts:
        ctx.log(f"    {count} model(s) …")
        chosen = names[:count]
        drop_batches(workspace, rows, *days.next(), names=chosen)
        warm = warm_cycle(workspace, rows, chosen)
        drop_batches(workspace, rows, *days.next(), names=chosen)
        cold = ctx.cold.run(workspace, "server", rows, chosen)
        figures["points"].append(
            {"models": count, "warm": warm, "cold_with_server": cold, "load_average": os.getloadavg()}
        )
        ctx.done(f"growth {count}", figures["points"][-1])
    for kind in ("warm", "cold_with_server"):
        for measure in ("wall_s", "cpu_s"):
            ys = [point[kind][measure] for point in figures["points"]]
            figures[f"fit_{kind}_{measure}"] = linear_fit(counts, ys)
    workspace.profiles.clear()
    return figures


def one_model(ctx: Context) -> dict[str, Any]:
    """Cold cycles of a one-model workspace of 600-row batches, after a first cycle."""
    rows = ONE_MODEL_ROWS
    ctx.log(f"  one model × {rows} rows …")
    workspace = build_workspace(ctx.scratch / "one-model", 1, training_rows(rows))
    days = Days()
    drop_batches(workspace, rows, *days.next())
    figures: dict[str, Any] = {"rows": rows, "first_cycle": first_cycle(workspace, rows)}
    ctx.cold.prime(workspace)
    for mode, key in COLD_MODES.items():
        drop_batches(workspace, rows, *days.next())
        figures[key] = ctx.cold.run(workspace, mode, rows)
        figures[f"goal_{key}_under_10_cpu_s"] = figures[key]["cpu_s"] < 10
    workspace.profiles.clear()
    ctx.done("one model", figures)
    return figures


def context(args: argparse.Namespace, scratch: Path, log: Any) -> Context:
    """The cold processes' launcher and the log, for the Prefect API this process uses."""
    from prefect.settings import PREFECT_API_URL

    cold = Cold(str(PREFECT_API_URL.value()), args.child_environment, scratch / "prefect-home")
    return Context(cold, log, scratch)


def run_growth(args: argparse.Namespace, scratch: Path, log: Any) -> dict[str, Any]:
    """The growth alone (the ``growth`` part): its figures and the machine's load around them."""
    started = time.perf_counter()
    figures: dict[str, Any] = {"cpu_count": os.cpu_count(), "load_average_start": os.getloadavg()}
    log("monitoring cycle, growth with the models …")
    figures.update(growth(context(args, scratch, log), args.growth, args.growth_rows))
    figures["load_average_end"] = os.getloadavg()
    figures["seconds"] = round(time.perf_counter() - started, 1)
    return figures


def run(args: argparse.Namespace, scratch: Path, log: Any) -> dict[str, Any]:
    """Every figure of the ``sizes`` part; needs the Prefect API this process uses."""
    started = time.perf_counter()
    figures: dict[str, Any] = {"cpu_count": os.cpu_count(), "load_average_start": os.getloadavg()}
    ctx = context(args, scratch, log)
    log("monitoring cycle by size …")
    figures["one_model"] = one_model(ctx)
    figures["sizes"] = []
    widest = max(args.sizes, key=lambda size: size[0])
    for models, rows in args.sizes:
        workspace, days, size = measure_size(ctx, models, rows)
        figures["sizes"].append(size)
        if (models, rows) == widest and "fan_out" not in figures:
            log(f"  fan-out over {models} model(s): 1 and 2 threads, 2 Dask workers, 2 warm processes …")
            figures["fan_out"] = fan_out(workspace, days, rows, ctx.cold)
            ctx.done("fan-out", figures["fan_out"])
        workspace.profiles.clear()
    if args.growth:
        figures["growth"] = growth(ctx, args.growth, args.growth_rows)
    figures["goals"] = {
        "warm_half_of_bare_every_size": all(s["goal_warm_half_of_bare"] for s in figures["sizes"]),
        "warm_near_floor_every_size": all(s["goal_warm_near_floor"] for s in figures["sizes"]),
        "cold_one_model_under_10_cpu_s": figures["one_model"]["goal_cold_with_server_under_10_cpu_s"],
        "cold_one_model_own_server_under_10_cpu_s": figures["one_model"][
            "goal_cold_own_server_under_10_cpu_s"
        ],
    }
    figures["load_average_end"] = os.getloadavg()
    figures["seconds"] = round(time.perf_counter() - started, 1)
    return figures
