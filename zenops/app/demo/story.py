"""``zenops demo``: the whole story on embedded defaults, in a fresh folder.

The story is seeded, so it prints the same every time (only the timings vary):
a workspace is created, two demo populations are generated, both models are
trained with full lineage and registered as champions, and a month of
production days runs as the loop runs unattended (:mod:`zenops.app.demo.loop`).
Each model's population shifts in a different way (:data:`~zenops.app.demo.days.SHIFTS`):
loan-default's, from day 7, into credit scores its training data holds few of, which
hurts it, so labels show a drop, a refresh ticket opens and the refresh its event
starts repairs it with the fresh data; demand-forecast's, from day 10, within the
range its training data covers, so its forecasts hold and the drift only warns. Then
the concept changes (loan-default's on day 21, demand-forecast's on day 20): the
refresh tried first hands each model back, the degraded days join its rebuild ticket,
and the data scientists' rebuilt loan-default comes back through the same gate. Label files
arrive named ``labels-YYYY-MM-DD.csv``, not after their batches: monitoring joins
them by id. Then the team's backlog is planned beside the tickets the month left.
"""

from __future__ import annotations

import os
import shutil
import time
from datetime import date, datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.markdown import Markdown
from rich.table import Table

from demand.tickets import TicketDraft
from zenops.app.demo.days import ROWS_PER_DAY, SEED, STREAM_DAYS, TRAINING_ROWS, Story, demo_stream, schedule
from zenops.app.demo.loop import replay_the_loop
from zenops.app.init import init_workspace
from zenops.app.views import render_plan
from zenops.kernel import clock
from zenops.kernel.errors import UsageError
from zenops.services.history import events_of
from zenops.workspace import Workspace

MARKER = ".zenops/demo-workspace"


def prepare_folder(directory: str | Path) -> Path:
    """A fresh, empty folder for the demo; an earlier demo's folder is replaced.

    Any other non-empty folder is refused rather than touched.
    """
    root = Path(directory).expanduser().resolve()
    if root.exists():
        if not root.is_dir():
            raise UsageError(f"--dir {root}: exists and is not a folder")
        if any(root.iterdir()):
            if not (root / MARKER).is_file():
                raise UsageError(
                    f"--dir {root}: not empty and not an earlier zenops demo; choose another folder"
                )
            shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    return root


def run_demo(directory: str | Path, console: Console) -> dict[str, Any]:
    """Run the demo story in ``directory`` and return its summary."""
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    started = time.perf_counter()
    story = Story(console)
    root = prepare_folder(directory)
    console.print(f"[bold]zenops demo[/] in {root}")
    create_workspace(root, story)
    demo_settings(Workspace(root))
    workspace = Workspace(root)
    generate_data(workspace, story, console)
    trained = train_models(workspace, story, console)
    month = replay_the_loop(workspace, story)
    ledgers = print_ledgers(workspace, story)
    planned = plan_backlog(workspace, story, console, month.cycles[-1]["day"])

    elapsed = time.perf_counter() - started
    console.print(f"\n[bold green]demo finished[/] in {elapsed:.0f} s — workspace {root}")
    console.print(f"  try: zenops --workspace {root} status")
    console.print(
        f"  run it unattended: zenops --workspace {root} server, then (with the settings it prints) "
        f"zenops --workspace {root} serve"
    )
    return {
        "workspace": str(root),
        "trained": trained,
        "monitoring": month.cycles,
        "loop": month.work,
        "ledger": ledgers,
        "plan": planned,
        "timings": story.timings,
        "seconds": round(elapsed, 1),
    }


def create_workspace(root: Path, story: Story) -> None:
    """The demo's workspace: git + DVC, MLflow and the ticket store, marked as the demo's."""
    with story.step("Create the workspace"):
        report = init_workspace(Workspace(root))
        (root / MARKER).write_text("created by zenops demo; the next demo run replaces this folder\n")
        story.say(f"git + DVC (remote {report.stores['dvc_remote']}), MLflow {report.stores['tracking_uri']}")
        story.say(f"tickets {report.stores['tickets_url']}")


def generate_data(workspace: Workspace, story: Story, console: Console) -> None:
    """Each model's training data, and what its production stream will do, day by day."""
    from zenops.app.demo.datagen import describe_schedule, training_frame  # pandas, numpy

    with story.step("Generate the demo data"):
        for spec in workspace.config.models:
            frame = training_frame(spec.name, rows=TRAINING_ROWS[spec.name], seed=SEED)
            path = workspace.path(spec.training_data)
            path.parent.mkdir(parents=True, exist_ok=True)
            frame.to_parquet(path, index=False)
            stream = demo_stream(spec.name)
            story.say(
                f"{spec.name}: {len(frame):,} training rows, "
                f"{len(stream)} production days of {ROWS_PER_DAY} rows"
            )
            console.print(Markdown(describe_schedule(schedule(spec.name), model=spec.name, days=STREAM_DAYS)))


def train_models(workspace: Workspace, story: Story, console: Console) -> list[dict[str, Any]]:
    """Train and register every model through the training flow; print what was registered."""
    config = workspace.config
    trained = []
    # Trained the day before the replayed month, so the ledger's dates run in order.
    from zenops.app.demo.datagen import PRODUCTION_START

    trained_at = datetime.combine(PRODUCTION_START - timedelta(days=1), time_of_day(9, 0))
    with story.step("Train and register the models (Prefect flow 'train-model')"), clock.pinned(trained_at):
        from flows.train import train_model

        for spec in config.models:
            trained.append(train_model(model=spec.name, workspace=str(workspace.root)))

    table = Table(title="registered models")
    for column in ("model", "version", "alias", "data rev", "data md5", "holdout metric"):
        table.add_column(column)
    for result, spec in zip(trained, config.models, strict=True):
        table.add_row(
            result["model"],
            result["version"],
            result["alias"] or "—",
            result["data_rev"][:10],
            result["data_md5"],
            f"{spec.metric_name} {result['metrics'][spec.metric_name]:.3f}",
        )
    console.print(table)
    return trained


def print_ledgers(workspace: Workspace, story: Story) -> dict[str, list[dict[str, Any]]]:
    """Each model's promotion ledger after the month (``zenops history MODEL``), oldest first."""
    ledgers = {}
    with story.step("Who was champion when (zenops history MODEL)"):
        for spec in workspace.config.models:
            events = list(reversed(events_of(workspace.registry(), spec.name)))
            ledgers[spec.name] = [event.to_dict() for event in events]
            story.say(f"[bold]{spec.name}[/]")
            for event in events:
                story.say(f"  {event.summary()}")
    return ledgers


# A realistic backlog beside the monitor's tickets: projects from several sponsors,
# tooling R&D, and a customer-facing project gated on an ethics review.
BACKLOG = [
    dict(
        kind="new_project",
        title="Churn prediction for retail banking",
        sponsor="retail-credit",
        value=8,
        effort=25,
        risk=3,
        skills=("tabular",),
        data_assets=("customer-360",),
        produces=("churn-features",),
    ),
    dict(
        kind="new_project",
        title="Store-level demand for fresh produce",
        sponsor="supply-chain",
        value=6,
        effort=15,
        risk=2,
        skills=("forecasting",),
        data_assets=("sales-history",),
        gpus=1,
    ),
    dict(
        kind="tooling_rnd",
        title="Shared feature store for batch scoring",
        value=5,
        effort=12,
        risk=2,
        skills=("batch",),
        savings=20,
        produces=("customer-360",),
    ),
    dict(
        kind="new_project",
        title="Credit-limit advice shown to customers",
        sponsor="retail-credit",
        value=9,
        effort=20,
        risk=4,
        skills=("tabular",),
        data_assets=("customer-360",),
        ethics_required=True,
    ),
]


def plan_backlog(workspace: Any, story: Story, console: Console, last_day: str) -> dict[str, Any]:
    """Add the backlog, then plan all open tickets: normal, and in crisis mode.

    The backlog's phased project (:mod:`zenops.app.demo.planning`) is shown phase by
    phase with its sponsor's view, and the normal plan is drawn as a picture.
    """

    from flows.plan import run_plan
    from zenops.app.demo.planning import add_phased_project, chart_file, show_phased_project

    config = workspace.config
    store = workspace.ticket_store()
    plans: dict[str, Any] = {}
    moment = datetime.combine(date.fromisoformat(last_day) + timedelta(days=1), time_of_day(9, 0))
    with (
        story.step("Add the team's backlog and plan all open tickets (Prefect flow 'plan-demand')"),
        clock.pinned(moment),
    ):
        ids = []
        for item in BACKLOG:
            draft = TicketDraft(sla="silver", **item)  # type: ignore[arg-type]
            stored, _ = store.open_or_update(draft, actor="zenops demo")
            ids.append(stored.id)
        review = TicketDraft(
            kind="ethics_review",
            title="Ethics review: credit-limit advice",
            sla="silver",
            effort=3,
            risk=2,
            subject=ids[-1],
            value=6,
        )
        store.open_or_update(review, actor="zenops demo")
        phased = add_phased_project(store, waits_for=ids[-2])  # after the feature store
        story.say(
            f"{len(BACKLOG) + 2} backlog tickets added beside the monitor's; the team: "
            + ", ".join(f"{p.name} ({p.level} {p.role.replace('_', ' ')})" for p in config.team)
        )
        plans["normal"] = run_plan(workspace, chart_file=str(chart_file(workspace)))
        plans["crisis"] = run_plan(workspace, crisis=True)
    render_plan(plans["normal"], console)
    render_plan(plans["crisis"], console)
    with clock.pinned(moment):
        show_phased_project(workspace, plans["normal"], phased, story)
    return plans


# The demand-forecast gate asks more than fresh data can give, so its refresh is
# handed back to the data scientists with a dossier.
DEMANDING_GATE = ("demand-forecast", 0.5)
# Loan-default's gate compares on the newest labelled day only, so a refresh trains on
# every shifted day before it (promotion.window_days).
RECENT_WINDOW = ("loan-default", 1)
# The replayed days pass in seconds, not days: the refresh trigger's debounce (an hour
# by default) would hold back every refresh after the first of a model and verdict.
DEMO_DEBOUNCE = "0.05m"


def demo_settings(workspace: Any) -> None:
    """Set the demo's promotion gates and its debounce in zenops.yaml (before any training)."""
    config = yaml.safe_load(workspace.config_path.read_text())
    for model in config["models"]:
        if model["name"] == DEMANDING_GATE[0]:
            model["promotion"] = {"margin": DEMANDING_GATE[1]}
        if model["name"] == RECENT_WINDOW[0]:
            model["promotion"] = {"window_days": RECENT_WINDOW[1]}
    config["schedules"] = {**(config.get("schedules") or {}), "refresh_debounce": DEMO_DEBOUNCE}
    workspace.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
