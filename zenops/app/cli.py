"""The ``zenops`` command line.

Every command that reports accepts ``--json`` and then prints exactly one JSON
document on stdout (progress and logs go to stderr). Exit codes: 0 done; 1 the
work failed; 2 bad usage, configuration or input, with one line on stderr.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from zenops.kernel.errors import ZenopsError

app = typer.Typer(
    name="zenops",
    help="Operations for deployed ML models: monitor, refresh, and plan the team's demand.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
tickets_app = typer.Typer(help="The demand queue's tickets.", no_args_is_help=True)
app.add_typer(tickets_app, name="tickets")

# Piped output keeps whole lines: tables are not squeezed to 80 columns.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 200)

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


class State:
    workspace: str | None = None
    redirect: Any = None  # zenops.app.logfile.Redirect while the libraries' output goes to the log file


state = State()


# Commands that run Prefect flows: without PREFECT_API_URL they get a temporary
# Prefect server that ends with the command (zenops.app.temporary_server).
FLOW_COMMANDS = frozenset({"train", "monitor", "refresh", "rollback", "plan", "sla-watch", "demo"})


@app.callback()
def _root(
    ctx: typer.Context,
    workspace: Annotated[
        str | None,
        typer.Option(
            "--workspace", "-w", help="Workspace folder (default: $ZENOPS_WORKSPACE or the current folder)."
        ),
    ] = None,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Show the libraries' logs on stderr (default: .zenops/logs/zenops.log)."
        ),
    ] = False,
) -> None:
    state.workspace = workspace
    if not verbose and state.redirect is None:
        from zenops.app.logfile import redirect_stderr

        state.redirect = redirect_stderr(_workspace().root)
        if state.redirect is not None:
            err.file = state.redirect.stderr
    from zenops.app.logfile import show_operator_warnings

    show_operator_warnings(state.redirect.stderr if state.redirect is not None else sys.stderr)
    if ctx.invoked_subcommand in FLOW_COMMANDS:
        from zenops.app.temporary_server import prefect_api

        ctx.with_resource(prefect_api())


def _workspace():
    from zenops.workspace import find_workspace

    return find_workspace(state.workspace)


def _checked(models: list[str] | None = None, **checks: Any):
    """The workspace, once every check the command needs has passed.

    See :func:`zenops.app.preflight.check`.
    """
    from zenops.app.preflight import check

    ws = _workspace()
    check(ws, models, **checks)
    return ws


def emit(data: Any, as_json: bool, render: Callable[[Any], None]) -> None:
    """Print ``data`` as one JSON document, or render it for a person."""
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    else:
        render(data)


# -- workspace ----------------------------------------------------------------


@app.command()
def init(
    directory: Annotated[
        str | None, typer.Argument(help="Folder of the workspace (default: the current one).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a workspace: git + DVC with a remote, MLflow and ticket stores, an example zenops.yaml."""
    from dataclasses import asdict

    from zenops.app.init import init_workspace
    from zenops.workspace import Workspace

    target = Workspace(directory) if directory else _workspace()
    report = init_workspace(target)

    def render(data: dict[str, Any]) -> None:
        out.print(f"[bold]workspace[/] {data['root']}")
        for item in data["created"]:
            out.print(f"  [green]created[/] {item}")
        for item in data["kept"]:
            out.print(f"  [dim]kept[/]    {item}")

    emit(asdict(report), as_json, render)


@app.command()
def train(
    model: Annotated[str, typer.Argument(help="Model name from zenops.yaml.")],
    pipeline: Annotated[
        bool,
        typer.Option("--pipeline", help="Run as the dvc.yaml stage: params.yaml, data as DVC tracks it."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Version the training data, train, log lineage, register; the first version becomes champion."""
    from zenops.services.train.steps import load_training_frame

    ws = _checked([model], training="required", tickets=False)
    load_training_frame(ws, ws.config.model(model))  # bad data fails here, before any flow runs
    from flows.train import train_model

    result = train_model(model=model, workspace=str(ws.root), pipeline=pipeline)

    def render(data: dict[str, Any]) -> None:
        metrics = ", ".join(f"{k} {v:.4f}" for k, v in sorted(data["metrics"].items()))
        alias = f" @{data['alias']}" if data["alias"] else ""
        out.print(
            f"[bold]{data['model']}[/] version {data['version']}{alias}"
            f"  data {data['data_rev'][:10]}  {metrics}"
        )

    emit(result, as_json, render)


@app.command()
def monitor(
    models: Annotated[list[str] | None, typer.Argument(help="Models to monitor (default: all).")] = None,
    as_json: JsonOption = False,
) -> None:
    """One monitoring cycle now, over the batches not yet seen."""
    ws = _checked(models or None, champions="waiting")
    from flows.monitor import run_cycle

    result = run_cycle(ws, models or None)

    def render(data: dict[str, Any]) -> None:
        table = Table(title="monitoring cycle")
        for column in ("model", "batches", "rows", "verdict", "drift share", "performance", "ticket"):
            table.add_column(column)
        for row in data["models"]:
            perf = row["performance"]
            table.add_row(
                row["model"],
                str(len(row["batches"])),
                str(row["rows"]),
                row["verdict"],
                "—" if row["drift_share"] is None else f"{row['drift_share']:.0%}",
                "—" if not perf else f"{perf['metric']} {perf['value']:.3f} ({perf['kind']})",
                "—" if row["ticket"] is None else f"#{row['ticket']}",
            )
        out.print(table)
        for row in data["models"]:
            for reason in row["reasons"]:
                out.print(f"  {row['model']}: {reason}")

    emit(result, as_json, render)


@app.command()
def refresh(
    model: Annotated[str, typer.Argument(help="Model name from zenops.yaml.")],
    ticket: Annotated[
        int | None, typer.Option("--ticket", help="The refresh ticket this work answers.")
    ] = None,
    wait: Annotated[
        float | None,
        typer.Option("--wait", help="Seconds to wait for another refresh of the model (default: no limit)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Re-hydrate the champion's data, retrain, compare, then promote or hand back."""
    ws = _checked([model], champions="champion")
    if ticket is not None:
        ws.ticket_store().get(ticket)
    from flows.refresh import refresh_model

    result = refresh_model(model=model, workspace=str(ws.root), ticket=ticket, wait_seconds=wait)

    def render(data: dict[str, Any]) -> None:
        out.print(
            f"[bold]{data['model']}[/]: {data['decision']} — champion v{data['champion_version']}, "
            f"challenger v{data['challenger_version']}, ticket #{data['ticket']}"
        )
        comparison = data.get("comparison") or {}
        for reason in comparison.get("reasons", []):
            out.print(f"  {reason}")
        if data.get("rebuild_ticket"):
            out.print(
                f"  handed back: rebuild ticket #{data['rebuild_ticket']}, dossier {data.get('dossier')}"
            )

    emit(result, as_json, render)


@app.command()
def rollback(
    model: Annotated[str, typer.Argument(help="Model name from zenops.yaml.")], as_json: JsonOption = False
) -> None:
    """Restore the previous champion (with an audit record)."""
    ws = _checked([model], training="skip", champions="previous")
    from flows.refresh import rollback_flow

    result = rollback_flow(model=model, workspace=str(ws.root))
    emit(
        result,
        as_json,
        lambda d: out.print(
            f"[bold]{d['model']}[/]: champion is version {d['champion_version']} again "
            f"(was {d['rolled_back_from']}; previous-champion now {d['previous_champion_version']})"
        ),
    )


@app.command()
def status(as_json: JsonOption = False) -> None:
    """Models, champion versions and their data versions."""
    from zenops.services.status import workspace_status

    report = workspace_status(_checked(training="skip"))

    def render(data: dict[str, Any]) -> None:
        table = Table(title="models")
        for column in (
            "model",
            "champion",
            "data rev",
            "data md5",
            "metric",
            "aliases",
            "last verdict",
            "tickets",
        ):
            table.add_column(column)
        for row in data["models"]:
            champion = row["champion"] or {}
            metric = champion.get("metric")
            table.add_row(
                row["model"],
                str(champion.get("version", "—")),
                (champion.get("data_rev") or "—")[:10],
                champion.get("data_md5") or "—",
                f"{row['metric']} {metric:.4f}" if metric is not None else "—",
                ", ".join(f"{k}={v}" for k, v in sorted(row["aliases"].items())) or "—",
                f"{row['last_verdict']} ({row['last_batch']})" if row["last_verdict"] else "—",
                ", ".join(f"#{t}" for t in row["open_tickets"]) or "—",
            )
        out.print(table)

    emit(report, as_json, render)


def _ticket_table(rows: list[dict[str, Any]], title: str = "tickets") -> Table:
    table = Table(title=title)
    for column in ("id", "kind", "model", "status", "due", "priority", "title"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["kind"],
            row["model"] or "—",
            row["status"],
            row["due"][:16].replace("T", " "),
            f"{row['priority']:.2f}",
            row["title"],
        )
    return table


@tickets_app.command("list")
def tickets_list(
    status: Annotated[
        str | None, typer.Option(help="Only this status ('active': not done or cancelled).")
    ] = None,
    kind: Annotated[str | None, typer.Option(help="Only this kind.")] = None,
    model: Annotated[str | None, typer.Option(help="Only this model's tickets.")] = None,
    as_json: JsonOption = False,
) -> None:
    """The demand queue, by priority."""
    from zenops.services.plan import done_assets, ticket_row

    ws = _checked(uses_models=False, tracking=False)
    store = ws.ticket_store()
    everything = store.list()
    assets = done_assets(everything)
    chosen = store.list(status=status, kind=kind, model=model)
    rows = sorted((ticket_row(t, ws, assets) for t in chosen), key=lambda r: (-r["priority"], r["id"]))
    emit({"tickets": rows}, as_json, lambda data: out.print(_ticket_table(data["tickets"])))


@tickets_app.command("show")
def tickets_show(
    ticket: Annotated[int, typer.Argument(help="Ticket id.")], as_json: JsonOption = False
) -> None:
    """One ticket: its fields, evidence, priority breakdown and history."""
    from demand.priority import score
    from zenops.kernel import clock
    from zenops.services.plan import done_assets

    ws = _checked(uses_models=False, tracking=False)
    store = ws.ticket_store()
    found = store.get(ticket)
    breakdown = score(found, clock.now(), ws.config.planning, done_assets(store.list()))
    data = {
        **found.to_dict(),
        "priority": breakdown.to_dict(),
        "explain": breakdown.explain(),
        "history": [event.to_dict() for event in store.history(ticket)],
    }

    def render(d: dict[str, Any]) -> None:
        out.print(f"[bold]#{d['id']} {d['title']}[/]  ({d['kind']}, {d['status']}, due {d['due'][:16]})")
        for key in ("model", "sponsor", "value", "effort", "risk", "skills", "gpus", "ethics_required"):
            out.print(f"  {key}: {d[key]}")
        out.print(f"  priority: {d['explain']}")
        for item in d["evidence"]:
            out.print(f"  evidence: {json.dumps(item, default=str)[:300]}")
        for event in d["history"]:
            out.print(f"  {event.get('at', '')[:19]} {event.get('action')} {event.get('actor') or ''}")

    emit(data, as_json, render)


@tickets_app.command("new")
def tickets_new(
    kind: Annotated[
        str, typer.Option(help="refresh, rebuild, data_quality, new_project, tooling_rnd, ethics_review.")
    ],
    title: Annotated[str, typer.Option(help="What the work is.")],
    model: Annotated[str | None, typer.Option(help="The model it concerns.")] = None,
    sla: Annotated[str | None, typer.Option(help="SLA tier (default: the model's).")] = None,
    due: Annotated[str | None, typer.Option(help="Explicit due date (YYYY-MM-DD).")] = None,
    value: Annotated[int | None, typer.Option(help="Business value 1–10.")] = None,
    sponsor: Annotated[str | None, typer.Option(help="Who asks for it.")] = None,
    effort: Annotated[float | None, typer.Option(help="Person-days.")] = None,
    risk: Annotated[int | None, typer.Option(help="Complexity/risk 1–5.")] = None,
    skill: Annotated[list[str] | None, typer.Option(help="A required skill (repeatable).")] = None,
    gpus: Annotated[int, typer.Option(help="GPUs the work holds.")] = 0,
    uses: Annotated[list[str] | None, typer.Option(help="A data asset it uses (repeatable).")] = None,
    produces: Annotated[list[str] | None, typer.Option(help="A data asset it produces (repeatable).")] = None,
    ethics: Annotated[
        bool, typer.Option("--ethics", help="Needs an ethics approval before it starts.")
    ] = False,
    subject: Annotated[int | None, typer.Option(help="For an ethics review: the ticket it reviews.")] = None,
    savings: Annotated[float, typer.Option(help="For tooling R&D: person-days it saves later.")] = 0.0,
    as_json: JsonOption = False,
) -> None:
    """Open a ticket (one per incident: a repeat adds evidence)."""
    from datetime import date

    from demand.tickets import TicketDraft, new_ticket
    from zenops.kernel import clock
    from zenops.kernel.errors import UsageError

    ws = _checked(uses_models=False, tracking=False)
    try:
        due_date = date.fromisoformat(due) if due else None
    except ValueError:
        raise UsageError(f"--due: '{due}' is not a date (YYYY-MM-DD)") from None
    draft = TicketDraft(
        kind=kind,
        title=title,
        model=model,
        sla=sla,
        due=due_date,
        value=value,
        sponsor=sponsor,
        effort=effort,
        risk=risk,
        skills=skill or (),
        gpus=gpus,
        data_assets=uses or (),
        produces=produces or (),
        ethics_required=ethics,
        subject=subject,
        savings=savings,
    )
    config = ws.config
    ticket = new_ticket(
        draft, now=clock.now(), sla_tiers=config.sla_tiers, models=config.models, team=config.team
    )
    stored, created = ws.ticket_store().open_or_update(ticket, actor="zenops cli")
    data = {"ticket": stored.to_dict(), "created": created}
    emit(
        data,
        as_json,
        lambda d: out.print(f"ticket #{d['ticket']['id']} {'opened' if created else 'updated'}"),
    )


@tickets_app.command("approve")
def tickets_approve(
    ticket: Annotated[int, typer.Argument(help="Ticket id.")],
    by: Annotated[str, typer.Option(help="Who grants the ethics approval.")],
    as_json: JsonOption = False,
) -> None:
    """Grant a ticket's ethics approval, so its work may start."""
    approved = _checked(uses_models=False, tracking=False).ticket_store().approve(ticket, by=by)
    emit({"ticket": approved.to_dict()}, as_json, lambda d: out.print(f"ticket #{ticket} approved by {by}"))


@tickets_app.command("close")
def tickets_close(
    ticket: Annotated[int, typer.Argument(help="Ticket id.")],
    outcome: Annotated[str, typer.Option(help="What came of it.")] = "done",
    cancel: Annotated[bool, typer.Option("--cancel", help="Cancel instead of completing.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Close a ticket as done (or cancelled)."""
    store = _checked(uses_models=False, tracking=False).ticket_store()
    current = store.get(ticket)
    if not cancel and current.status in ("open", "scheduled", "blocked"):
        store.transition(ticket, "in_progress", note="closed from the command line", actor="zenops cli")
    closed = store.close(
        ticket, outcome=outcome, status="cancelled" if cancel else "done", actor="zenops cli"
    )
    emit(
        {"ticket": closed.to_dict()},
        as_json,
        lambda d: out.print(f"ticket #{ticket} {d['ticket']['status']}"),
    )


def render_plan(data: dict[str, Any], console: Console | None = None) -> None:
    """The plan for a person: who does what, when, and which SLA is at risk."""
    console = console or out
    table = Table(title="plan (crisis mode: operational work only)" if data["crisis"] else "plan")
    for column in ("ticket", "score", "assignee", "reviewer", "start", "end", "due", "SLA", "title"):
        table.add_column(column)
    for row in data["plan"]:
        table.add_row(
            f"#{row['ticket']}",
            f"{row['score']:.2f}",
            row["assignee"],
            row["reviewer"] or "—",
            row["start"][:16].replace("T", " "),
            row["end"][:16].replace("T", " "),
            row["due"][:10],
            "[bold red]at risk[/]" if row["sla_at_risk"] else "[green]ok[/]",
            row["title"],
        )
    console.print(table)
    for row in data["unplannable"]:
        console.print(f"  [yellow]unplannable[/] #{row['ticket']} {row['title']}: {row['reason']}")
    for row in data["pushed_back"]:
        console.print(f"  [dim]pushed back[/] #{row['ticket']} {row['title']}: {row['reason']}")
    o = data["objective"]
    console.print(
        f"  SLA-weighted lateness {o['sla_weighted_lateness']:.1f}, value delivered "
        f"{o['value_delivered']:.1f} of {o['value_total']:.1f}, solver {o['solver']} ({o['status']})"
    )


@app.command()
def plan(
    crisis: Annotated[
        bool, typer.Option("--crisis", help="Operational work only; say what is pushed back.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """A prioritised, capacity-aware plan of every open ticket."""
    ws = _checked(uses_models=False, tracking=False)
    from flows.plan import run_plan

    emit(run_plan(ws, crisis=crisis), as_json, render_plan)


@app.command("sla-watch")
def sla_watch_command(as_json: JsonOption = False) -> None:
    """Escalate tickets near or past their SLA due time, once per level."""
    ws = _checked(uses_models=False, tracking=False)
    from flows.sla_watch import sla_watch

    result = sla_watch(workspace=str(ws.root))

    def render(data: dict[str, Any]) -> None:
        out.print(f"SLA watch: {len(data['escalations'])} escalated of {data['watched']} active tickets")
        for item in data["escalations"]:
            out.print(
                f"  #{item['ticket']} {item['kind']} {item['model'] or ''}: {item['level']} "
                f"(due {item['due'][:16].replace('T', ' ')})"
            )

    emit(result, as_json, render)


@app.command()
def serve() -> None:
    """Run the deployments (schedules and the refresh trigger) in this process, against a Prefect server."""
    from flows.concurrency import all_limits, ensure_limits
    from flows.deployments import definitions, runner_deployments
    from zenops.adapters.prefect_links import prefect_api_url, prefect_urls
    from zenops.bootstrap import check_notifications
    from zenops.kernel.errors import UsageError
    from zenops.services.messages import first_prefect_ui

    ws = _checked()
    config = ws.config
    check_notifications(config)
    api = prefect_api_url()
    if not api:
        raise UsageError(
            "PREFECT_API_URL: not set; zenops serve needs a Prefect server "
            "(start one with 'zenops server' and export the PREFECT_API_URL it prints)"
        )
    _check_prefect(api)
    limits = ensure_limits(all_limits(config))
    deployments = runner_deployments(config, str(ws.root))
    ui = first_prefect_ui(None, prefect_urls())
    err.print(f"[bold]zenops serve[/] {ws.root}")
    for item in definitions(config.schedules):
        when = item.cron and f"cron '{item.cron}' ({config.schedules.timezone})"
        when = when or ("on zenops.model.degraded (verdict refresh)" if item.trigger else "by hand")
        err.print(f"  {item.full_name:28} {when}")
    err.print(f"  concurrency limits: {', '.join(f'{k}={v}' for k, v in sorted(limits.items()))}")
    err.print(f"  Prefect UI: {ui}   (API {api}; Ctrl-C stops)")
    from prefect import serve as prefect_serve

    prefect_serve(*deployments, print_starting_message=False)


def _check_prefect(api: str) -> None:
    import httpx

    from zenops.kernel.errors import StoreError

    try:
        answer = httpx.get(f"{api.rstrip('/')}/health", timeout=10)
        answer.raise_for_status()
    except httpx.HTTPError as error:
        raise StoreError(f"Prefect API {api}: not reachable ({error})") from None


@app.command()
def server(
    host: Annotated[str, typer.Option(help="Interface to listen on (loopback by default).")] = "127.0.0.1",
    prefect_port: Annotated[int, typer.Option(help="Port of the Prefect server and UI.")] = 4200,
    mlflow_port: Annotated[int, typer.Option(help="Port of the MLflow tracking server.")] = 5000,
    no_mlflow: Annotated[bool, typer.Option("--no-mlflow", help="Start only the Prefect server.")] = False,
) -> None:
    """Start a Prefect server and an MLflow tracking server over the workspace's stores."""
    from zenops.app.servers import run_until_stopped, start_servers

    ws = _workspace().require()
    servers = start_servers(ws, host, prefect_port, None if no_mlflow else mlflow_port)
    err.print(f"[bold]zenops server[/] {ws.root}")
    for item in servers.servers:
        err.print(f"  [bold]{item.name}[/] {item.url}   (log {item.log})")
    err.print("point zenops at them (Ctrl-C stops both):")
    for key, value in servers.environment.items():
        out.print(f"export {key}={value}")
    sys.stdout.flush()
    raise SystemExit(run_until_stopped(servers))


@app.command()
def demo(
    directory: Annotated[
        str, typer.Option("--dir", help="Folder for the demo workspace (a fresh one).")
    ] = "zenops-demo",
    as_json: JsonOption = False,
) -> None:
    """The whole story on embedded defaults, end to end, in a fresh folder."""
    from zenops.app.demo.story import run_demo

    summary = run_demo(directory, console=err if as_json else out)
    if as_json:
        emit(summary, True, lambda _: None)


def main() -> None:
    """Entry point: one line and an exit code for every error zenops raises."""
    from zenops.kernel.offline import stay_offline

    stay_offline()
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")  # MLflow sets its own level on import
    for noisy in ("mlflow", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        app(standalone_mode=False)
    except ZenopsError as error:
        err.print(f"zenops: error: {error}{_details()}", markup=False, highlight=False)
        raise SystemExit(error.exit_code) from None
    except typer.Abort:
        err.print("zenops: aborted", markup=False)
        raise SystemExit(1) from None
    except Exception as error:
        # Usage errors of the command-line parser carry their own exit code (2).
        if hasattr(error, "exit_code") and hasattr(error, "show"):
            error.show(file=err.file)
            raise SystemExit(error.exit_code) from None
        if type(error).__name__ == "Exit" and hasattr(error, "exit_code"):
            raise SystemExit(error.exit_code) from None
        first = f"zenops: error: {type(error).__name__}: {error}".splitlines()[0]
        err.print(f"{first}{_details()}", markup=False, highlight=False)
        raise SystemExit(1) from None


def _details() -> str:
    """Where the libraries' logs of a failed command are, when they wrote any."""
    return state.redirect.details() if state.redirect is not None else ""
