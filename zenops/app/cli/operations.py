"""Running zenops: ``init``, ``status``, ``serve``, ``server`` and ``demo``.

``serve`` runs the deployments against a Prefect server, ``server`` starts one (and
MLflow's) over the workspace, ``demo`` tells the whole story in a fresh folder.
"""

from __future__ import annotations

import sys
from dataclasses import asdict
from typing import Annotated, Any

import typer
from rich.table import Table

from flows.concurrency import all_limits, ensure_limits
from flows.deployments import definitions, runner_deployments
from zenops.adapters.prefect_links import prefect_api_url, prefect_urls
from zenops.app.cli.output import JsonOption, emit, err, out
from zenops.app.cli.root import checked, workspace
from zenops.app.evidently_ui import EVIDENTLY_PORT, add_evidently_ui, start_evidently
from zenops.app.init import init_workspace
from zenops.app.servers import record_servers, refuse_a_second, run_until_stopped, start_servers
from zenops.bootstrap import check_notifications
from zenops.kernel.errors import StoreError, UsageError
from zenops.services.messages import first_prefect_ui
from zenops.services.status import fleet_rows, workspace_status
from zenops.workspace import Workspace

__all__ = ["demo", "init", "serve", "server", "status"]


def init(
    directory: Annotated[
        str | None, typer.Argument(help="Folder of the workspace (default: the current one).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a workspace: git + DVC with a remote, MLflow and ticket stores, an example zenops.yaml."""
    target = Workspace(directory) if directory else workspace()
    report = init_workspace(target)

    def render(data: dict[str, Any]) -> None:
        out.print(f"[bold]workspace[/] {data['root']}")
        for item in data["created"]:
            out.print(f"  [green]created[/] {item}")
        for item in data["kept"]:
            out.print(f"  [dim]kept[/]    {item}")

    emit(asdict(report), as_json, render)


STATUS_COLUMNS = (
    "model",
    "champion",
    "age",
    "data rev",
    "last cycle",
    "verdict",
    "drift",
    "performance",
    "tickets",
    "next cycle",
)


def status(as_json: JsonOption = False) -> None:
    """The fleet: per model the champion and its age, the last cycle, open tickets, the next cycle."""
    emit(workspace_status(checked(training="skip")), as_json, _render_status)


def _render_status(data: dict[str, Any]) -> None:
    table = Table(title="fleet")
    for column in STATUS_COLUMNS:
        table.add_column(column)
    for row in fleet_rows(data):
        age = row["age_days"]
        table.add_row(
            row["model"],
            f"v{row['champion']}" if row["champion"] else "—",
            "—" if age is None else (f"{age:.1f}d" if age >= 1 else f"{age * 24:.1f}h"),
            row["data_rev"] or "—",
            (row["last_cycle"] or "—")[:16].replace("T", " "),
            row["verdict"] or "—",
            "—" if row["drift_share"] is None else f"{row['drift_share']:.0%}",
            row["performance"] or "—",
            row["open_tickets"] or "—",
            row["next_cycle"][:16].replace("T", " "),
        )
    out.print(table)


def serve() -> None:
    """Run the deployments (schedules and the refresh trigger) in this process, against a Prefect server."""
    ws = checked()
    config = ws.config
    check_notifications(config)
    api = prefect_api_url()
    if not api:
        raise UsageError(
            "PREFECT_API_URL: not set; zenops serve needs a Prefect server "
            "(start one with 'zenops server' in this workspace, or export PREFECT_API_URL)"
        )
    _check_prefect(api)
    limits = ensure_limits(all_limits(config))
    deployments = runner_deployments(config, str(ws.root))
    ui = first_prefect_ui(None, prefect_urls())
    err.print(f"[bold]zenops serve[/] {ws.root}")
    for item in definitions(config.schedules, config.stale_after):
        when = [f"cron '{item.cron}' ({config.schedules.timezone})"] if item.cron else []
        if item.trigger:
            expected = item.trigger["expect"][0]
            proactive = item.trigger["posture"] == "Proactive"
            when.append(
                f"when no {expected} within {item.trigger['within']} s" if proactive else f"on {expected}"
            )
        err.print(f"  {item.full_name:40} {' and '.join(when) or 'by hand'}")
    err.print(f"  concurrency limits: {', '.join(f'{k}={v}' for k, v in sorted(limits.items()))}")
    err.print(f"  Prefect UI: {ui}   (API {api}; Ctrl-C stops)")
    from prefect import serve as prefect_serve

    prefect_serve(*deployments, print_starting_message=False)


def _check_prefect(api: str) -> None:
    """Fail with one line when the Prefect API does not answer its health check."""
    import httpx

    try:
        answer = httpx.get(f"{api.rstrip('/')}/health", timeout=10)
        answer.raise_for_status()
    except httpx.HTTPError as error:
        raise StoreError(f"Prefect API {api}: not reachable ({error})") from None


def server(
    host: Annotated[str, typer.Option(help="Interface to listen on (loopback by default).")] = "127.0.0.1",
    prefect_port: Annotated[int, typer.Option(help="Port of the Prefect server and UI.")] = 4200,
    mlflow_port: Annotated[int, typer.Option(help="Port of the MLflow tracking server.")] = 5000,
    no_mlflow: Annotated[bool, typer.Option("--no-mlflow", help="Start only the Prefect server.")] = False,
    evidently_port: Annotated[int, typer.Option(help="Port of the Evidently UI.")] = EVIDENTLY_PORT,
    no_evidently: Annotated[bool, typer.Option("--no-evidently", help="No Evidently UI.")] = False,
    webhook_port: Annotated[
        int | None, typer.Option(help="Port of the MLflow webhook receiver (default: a free one).")
    ] = None,
    no_webhooks: Annotated[
        bool, typer.Option("--no-webhooks", help="No registry webhook: the monitor cycle notices candidates.")
    ] = False,
) -> None:
    """Start a Prefect server, an MLflow tracking server and its webhook receiver over the workspace's stores.

    The Evidently UI starts too, over the workspace's Evidently workspace (``stores.evidently``).

    Where they listen is recorded in the workspace (``.zenops/server.json``) while they
    run: the workspace's commands use this Prefect server instead of starting their own.
    A version tagged ``zenops.candidate`` in MLflow starts the ``evaluate-candidate``
    deployment through the receiver (signed deliveries only).
    """
    ws = workspace().require()
    refuse_a_second(ws)
    evidently = None if no_evidently else start_evidently(ws, host, evidently_port)
    try:
        servers = start_servers(
            ws,
            host,
            prefect_port,
            None if no_mlflow else mlflow_port,
            webhooks=not no_webhooks,
            webhook_port=webhook_port,
        )
    except BaseException:
        if evidently is not None:
            evidently.stop()
        raise
    add_evidently_ui(servers, evidently)
    recorded = record_servers(ws, servers)
    err.print(f"[bold]zenops server[/] {ws.root}")
    for item in servers.servers:
        err.print(f"  [bold]{item.name}[/] {item.url}   (log {item.log})")
    if recorded is not None:
        err.print(f"recorded in {recorded}: commands in this workspace use this Prefect server")
    err.print("elsewhere, point zenops at them (Ctrl-C stops them all):")
    for key, value in servers.environment.items():
        out.print(f"export {key}={value}")
    sys.stdout.flush()
    raise SystemExit(run_until_stopped(servers, workspace=ws))


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
