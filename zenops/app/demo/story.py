"""``zenops demo``: the whole story on embedded defaults, in a fresh folder.

The story is seeded, so it prints the same every time (only the timings vary):
a workspace is created, two demo populations are generated, both models are
trained with full lineage and registered as champions, and a month of
production days is monitored. Each model's population shifts from day 10 in a
different way (:data:`SHIFTS`): loan-default's into credit scores its training
data holds few of, which hurts it, so labels show a drop and a refresh ticket
opens; demand-forecast's within the range its training data covers, so its
forecasts hold and the drift only warns. Concept drift from day 20 opens a
rebuild ticket for both once the labels show it. Label files arrive named
``labels-YYYY-MM-DD.csv``, not after their batches: monitoring joins them by id.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.markdown import Markdown
from rich.table import Table

from demand.tickets import ACTIVE, TicketDraft
from zenops.app.init import init_workspace
from zenops.app.views import render_plan
from zenops.kernel import clock
from zenops.kernel.errors import UsageError
from zenops.workspace import Workspace

SEED = 42
TRAINING_ROWS = {"loan-default": 12_000, "demand-forecast": 12_000}
STREAM_DAYS = 30
ROWS_PER_DAY = 600
MARKER = ".zenops/demo-workspace"
SHIFTS = {"loan-default": "beyond", "demand-forecast": "within"}
"""Each model's covariate shift (:class:`~zenops.app.demo.datagen.DriftSchedule` ``covariate_kind``)."""


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


class Story:
    """Prints the demo's steps with their timings."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.timings: dict[str, float] = {}

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        self.console.print(f"\n[bold cyan]▶ {title}[/]")
        started = time.perf_counter()
        with self.console.status(f"{title}…", spinner="dots"):
            yield
        elapsed = time.perf_counter() - started
        self.timings[title] = round(elapsed, 2)
        self.console.print(f"  [dim]done in {elapsed:.1f} s[/]")

    def say(self, text: str) -> None:
        self.console.print(f"  {text}")


def run_demo(directory: str | Path, console: Console) -> dict[str, Any]:
    """Run the demo story in ``directory`` and return its summary."""
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    started = time.perf_counter()
    story = Story(console)
    root = prepare_folder(directory)
    console.print(f"[bold]zenops demo[/] in {root}")
    create_workspace(root, story)
    demanding_gate(Workspace(root))
    workspace = Workspace(root)
    generate_data(workspace, story, console)
    trained = train_models(workspace, story, console)
    monitored = replay_monitoring(workspace, story, console)
    refreshed = refresh_models(workspace, story, console, monitored[-1]["day"])
    planned = plan_backlog(workspace, story, console, monitored[-1]["day"])

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
        "monitoring": monitored,
        "refresh": refreshed,
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
    with story.step("Train and register the models (Prefect flow 'train-model')"):
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


MALFORMED = ("loan-default", 6, "wrong_type")  # model, day, kind: one bad batch in the stream


def schedule(model: str) -> Any:
    """The demo's drift schedule for ``model``: the default days, its own covariate shift."""
    from zenops.app.demo.datagen import DriftSchedule

    return DriftSchedule(covariate_kind=SHIFTS[model])


def demo_stream(model: str) -> list[Any]:
    """The seeded production days of ``model``, drifting as :func:`schedule` says."""
    from zenops.app.demo.datagen import production_stream

    return production_stream(
        model, days=STREAM_DAYS, rows_per_day=ROWS_PER_DAY, seed=SEED, schedule=schedule(model)
    )


def label_file(day: Any) -> str:
    """Label files are named by the day they arrive, unlike the batches: joined by id."""
    return f"labels-{day.isoformat()}"


VERDICT_STYLE = {"ok": "green", "warn": "yellow", "refresh": "bold magenta", "rebuild": "bold red"}


def replay_monitoring(workspace: Any, story: Story, console: Console) -> list[dict[str, Any]]:
    """Drop the production batches day by day and run one monitoring cycle per day.

    The clock is pinned to each replayed day (:func:`zenops.kernel.clock.pinned`), so tickets carry the
    replayed dates and the story is the same every run.
    """

    from flows.monitor import run_cycle
    from zenops.app.demo.datagen import write_malformed, write_stream

    config = workspace.config
    # The malformed day replaces a batch, so that day's rows and their labels never arrive.
    streams = {
        spec.name: [b for b in demo_stream(spec.name) if (spec.name, b.index) != MALFORMED[:2]]
        for spec in config.models
    }
    days = [batch.day for batch in demo_stream(config.models[0].name)]
    cycles = []
    table = Table(title="one monitoring cycle a day")
    table.add_column("day")
    for spec in config.models:
        table.add_column(spec.name)
    with story.step(f"Monitor {STREAM_DAYS} production days (Prefect flow 'monitor-models')"):
        for index, day in enumerate(days):
            for spec in config.models:
                write_stream(
                    streams[spec.name],
                    workspace.path(spec.batches),
                    workspace.path(spec.labels),
                    through=day,
                    label_name=label_file,
                    since=day,  # the days before are written already
                )
                if (spec.name, index) == MALFORMED[:2]:
                    path = workspace.path(spec.batches) / f"{day.isoformat()}.csv"
                    write_malformed(path, spec.name, MALFORMED[2], seed=SEED, day=day)
            with clock.pinned(datetime.combine(day + timedelta(days=1), time_of_day(6, 0))):
                result = run_cycle(workspace)
            table.add_row(f"{index:>2}  {day.isoformat()}", *(day_cell(row) for row in result["models"]))
            cycles.append({"day": day.isoformat(), "models": result["models"]})
    console.print(table)
    return cycles


def day_cell(row: dict[str, Any]) -> str:
    """One model's day in the demo's table: verdict, drift share, performance, tickets opened.

    When the policy held drift at ``warn`` because performance holds (performance
    first), the cell says so: ``warn drift 33% (roc_auc holds)``.
    """
    text = f"[{VERDICT_STYLE.get(row['verdict'], 'bold yellow')}]{row['verdict']}[/]"
    if row["drift_share"]:
        text += f" drift {row['drift_share']:.0%}"
    perf = row.get("performance")
    if perf and any("(performance first)" in reason for reason in row.get("reasons") or []):
        text += f" ({perf['metric']} holds)"
    elif perf and perf.get("kind") == "measured":
        text += f" {perf['metric']} {perf['value']:.3f}"
    for batch in row["batches"]:
        if batch["ticket_created"]:
            text += f" → ticket #{batch['ticket']} ({batch['verdict']})"
    return text


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


def demanding_gate(workspace: Any) -> None:
    """Set the demo's demanding promotion margin in zenops.yaml (before any training)."""
    config = yaml.safe_load(workspace.config_path.read_text())
    for model in config["models"]:
        if model["name"] == DEMANDING_GATE[0]:
            model["promotion"] = {"margin": DEMANDING_GATE[1]}
    workspace.config_path.write_text(yaml.safe_dump(config, sort_keys=False))


def refresh_models(workspace: Any, story: Story, console: Console, last_day: str) -> list[dict[str, Any]]:
    """Answer each model's open refresh ticket: promote, or hand back with a dossier."""

    from flows.refresh import refresh_model

    moment = datetime.combine(date.fromisoformat(last_day) + timedelta(days=1), time_of_day(8, 0))
    results = []
    store = workspace.ticket_store()
    with story.step("Refresh each drifted model (Prefect flow 'refresh-model')"), clock.pinned(moment):
        story.say(
            f"{DEMANDING_GATE[0]}'s promotion gate asks for a {DEMANDING_GATE[1]:.0%} better metric "
            "(promotion.margin in zenops.yaml), more than fresh data can give"
        )
        for spec in workspace.config.models:
            tickets = store.list(model=spec.name, kind="refresh", status=ACTIVE)
            ticket = tickets[0].id if tickets else None
            result = refresh_model(model=spec.name, workspace=str(workspace.root), ticket=ticket)
            results.append(result)
            comparison = result.get("comparison") or {}
            boot = comparison.get("bootstrap") or {}
            figures = ""
            if boot:
                figures = (
                    f" — {boot['metric']} champion {boot['champion']:.3f}, "
                    f"challenger {boot['challenger']:.3f} on {boot['rows']} recent rows"
                )
            line = f"{spec.name}: [bold]{result['decision']}[/]{figures} (ticket #{result['ticket']})"
            if result.get("rebuild_ticket"):
                line += f"; rebuild ticket #{result['rebuild_ticket']} with a dossier for the data scientists"
            story.say(line)
    return results
