"""Benchmark of the refresh: time from ticket to decision, split by step.

Builds a demo workspace in a temporary folder (``zenops init``, seeded demo
training data, one training per model), replays covariate-drifted production
days through one monitoring cycle so that monitoring opens the refresh tickets
(a shift into a region the training data covers thinly, ``covariate_kind="beyond"``:
under performance first, only a shift that hurts the champion asks for a refresh),
then runs the refresh flow once per demo model and reads the duration of each of
its task runs back from the Prefect API. It prints, per model, the decision, the
seconds per step, and the share of the time spent outside training (the
``retrain`` task) and evaluation (the ``compare-champion-challenger`` task);
the goal is under 20%.

    python benchmarks/refresh.py                 # a table per model
    python benchmarks/refresh.py --json          # the same figures as one JSON document
    python benchmarks/refresh.py --training-rows 12000 --rows-per-day 600 --days 14

Without ``PREFECT_API_URL`` it runs its own temporary Prefect server (its start
is not timed).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zenops.kernel.offline import stay_offline  # noqa: E402

TRAINING_STEPS = ("retrain",)
EVALUATION_STEPS = ("compare-champion-challenger",)
SCHEDULES = ("covariate", "default")


def build_workspace(root: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Init, train every demo model, replay drifted days through one monitoring cycle."""
    from flows.monitor import monitor_models
    from flows.train import train_model
    from zenops.app.demo.datagen import DriftSchedule, production_stream, training_frame, write_stream
    from zenops.app.init import init_workspace
    from zenops.workspace import Workspace

    ws = Workspace(root)
    init_workspace(ws)
    ws = Workspace(root)
    if args.schedule == "covariate":
        schedule = DriftSchedule(
            covariate_start=0, covariate_ramp_days=args.ramp, concept_start=None, covariate_kind="beyond"
        )
    else:
        schedule = DriftSchedule()
    setup: dict[str, Any] = {"models": {}}
    last_day = None
    for spec in ws.config.models:
        path = ws.path(spec.training_data)
        path.parent.mkdir(parents=True, exist_ok=True)
        training_frame(spec.name, rows=args.training_rows, seed=args.seed).to_parquet(path)
        started = time.perf_counter()
        trained = train_model(model=spec.name, workspace=str(root))
        stream = production_stream(
            spec.name, days=args.days, rows_per_day=args.rows_per_day, seed=args.seed, schedule=schedule
        )
        write_stream(stream, ws.path(spec.batches), ws.path(spec.labels), through=stream[-1].day)
        last_day = stream[-1].day
        setup["models"][spec.name] = {
            "train_seconds": round(time.perf_counter() - started, 2),
            "champion": trained["version"],
        }
    os.environ["ZENOPS_NOW"] = (
        datetime.combine(last_day + timedelta(days=1), clock_time(6)).isoformat() + "+00:00"
    )
    started = time.perf_counter()
    cycle = monitor_models(workspace=str(root))
    setup["monitor_seconds"] = round(time.perf_counter() - started, 2)
    for summary in cycle["models"]:
        setup["models"][summary["model"]].update(verdict=summary["verdict"], ticket=summary["ticket"])
    return setup


def refresh_ticket(root: Path, model: str) -> tuple[int, str]:
    """The open refresh ticket monitoring opened, or one opened by hand (and said so)."""
    from demand.tickets import ACTIVE, TicketDraft
    from zenops.workspace import Workspace

    store = Workspace(root).ticket_store()
    active = store.list(status=ACTIVE, kind="refresh", model=model)
    if active:
        return int(active[0].id), "monitoring"
    ticket, _ = store.open_or_update(
        TicketDraft(kind="refresh", model=model, incident="benchmark"), actor="benchmark"
    )
    return int(ticket.id), "by hand (monitoring opened none)"


def task_durations(flow_run: str) -> dict[str, float]:
    """Seconds per task of one flow run, by task name (repeated names are summed)."""
    from uuid import UUID

    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(flow_run)])), limit=200
        )
    steps: dict[str, float] = {}
    for run in sorted(runs, key=lambda r: r.start_time or r.expected_start_time):
        if run.start_time is None or run.end_time is None:
            continue
        name = run.name.rsplit("-", 1)[0]
        steps[name] = steps.get(name, 0.0) + (run.end_time - run.start_time).total_seconds()
    return steps


def measure(root: Path, model: str) -> dict[str, Any]:
    """One refresh of ``model`` from its ticket to the decision, split by step."""
    from flows.refresh import refresh_model

    ticket, source = refresh_ticket(root, model)
    started = time.perf_counter()
    result = refresh_model(model=model, workspace=str(root), ticket=ticket)
    total = time.perf_counter() - started
    steps = task_durations(result["flow_run"])
    training = sum(v for k, v in steps.items() if k in TRAINING_STEPS)
    evaluation = sum(v for k, v in steps.items() if k in EVALUATION_STEPS)
    outside = total - training - evaluation
    waits = result.get("waits") or {}
    bootstrap = result["comparison"].get("bootstrap") or {}
    return {
        "model": model,
        "ticket": ticket,
        "ticket_from": source,
        "decision": result["decision"],
        "champion_version": result["champion_version"],
        "challenger_version": result["challenger_version"],
        "training_rows": result.get("training_rows"),
        "compared_rows": result["comparison"].get("rows"),
        "relative_improvement": bootstrap.get("relative_improvement"),
        "interval": [bootstrap.get("relative_low"), bootstrap.get("relative_high")],
        "total_seconds": round(total, 3),
        "steps": {k: round(v, 3) for k, v in steps.items()},
        "flow_overhead_seconds": round(total - sum(steps.values()), 3),
        "training_seconds": round(training, 3),
        "evaluation_seconds": round(evaluation, 3),
        "outside_share": round(outside / total, 4) if total else None,
        "concurrency_waits": waits,
        "outside_share_without_waits": round((outside - sum(waits.values())) / total, 4) if total else None,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    from zenops.workspace import Workspace

    with tempfile.TemporaryDirectory(prefix="zenops-refresh-bench-") as scratch:
        root = Path(scratch) / "ws"
        setup = build_workspace(root, args)
        models = [spec.name for spec in Workspace(root).config.models]
        results = [measure(root, model) for model in models]
    total = sum(r["total_seconds"] for r in results)
    outside = sum(r["total_seconds"] - r["training_seconds"] - r["evaluation_seconds"] for r in results)
    return {
        "seed": args.seed,
        "training_rows": args.training_rows,
        "rows_per_day": args.rows_per_day,
        "days": args.days,
        "schedule": args.schedule,
        "cores": os.cpu_count(),
        "setup": setup,
        "refreshes": results,
        "outside_share": round(outside / total, 4) if total else None,
        "goal": 0.2,
        "goal_met": bool(total) and outside / total < 0.2,
    }


def print_tables(report: dict[str, Any]) -> None:
    print(
        f"Refresh benchmark: seed {report['seed']}, {report['training_rows']:,} training rows, "
        f"{report['days']} {report['schedule']}-drifted days of {report['rows_per_day']} rows, "
        f"{report['cores']} cores"
    )
    for r in report["refreshes"]:
        interval = r["interval"]
        shown = "n/a" if None in interval else f"{interval[0]:+.1%} to {interval[1]:+.1%}"
        print(
            f"\n{r['model']}: {r['decision']} (ticket #{r['ticket']} from {r['ticket_from']}; "
            f"{r['training_rows']:,} training rows, {r['compared_rows']} compared, interval {shown})"
        )
        print(f"  {'step':<36}{'seconds':>9}{'share':>8}")
        for step, seconds in r["steps"].items():
            print(f"  {step:<36}{seconds:>9.2f}{seconds / r['total_seconds']:>8.1%}")
        print(f"  {'(flow overhead)':<36}{r['flow_overhead_seconds']:>9.2f}")
        print(f"  {'ticket to decision':<36}{r['total_seconds']:>9.2f}")
        waits = ", ".join(f"{k} {v:.2f} s" for k, v in r["concurrency_waits"].items())
        print(f"  acquiring concurrency slots (in the flow overhead): {waits}")
        print(
            f"  outside training and evaluation: {r['outside_share']:.1%} "
            f"({r['outside_share_without_waits']:.1%} without the slot waits)"
        )
    verdict = "met" if report["goal_met"] else "NOT met"
    print(
        f"\nAll refreshes: {report['outside_share']:.1%} outside training and evaluation "
        f"(goal < 20%: {verdict})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--training-rows", type=int, default=12_000)
    parser.add_argument("--rows-per-day", type=int, default=600)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--ramp", type=int, default=5, help="days the covariate drift takes to build up")
    parser.add_argument("--schedule", choices=SCHEDULES, default="covariate")
    args = parser.parse_args(argv)
    stay_offline()
    import logging

    logging.disable(logging.WARNING)
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
    if os.environ.get("PREFECT_API_URL"):
        report = run(args)
    else:
        from prefect.testing.utilities import prefect_test_harness

        with prefect_test_harness(server_startup_timeout=90):
            report = run(args)
    if args.json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        print_tables(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
