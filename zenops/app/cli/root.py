"""The ``zenops`` Typer application, its global options and the workspace they choose.

The command modules (:mod:`~zenops.app.cli.models`, :mod:`~zenops.app.cli.tickets`,
:mod:`~zenops.app.cli.plan`, :mod:`~zenops.app.cli.operations`) define the commands;
:mod:`zenops.app.cli` registers them on :data:`app`, in the order the help lists them.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from zenops.app.cli.output import err
from zenops.app.flow_runs import without_heartbeats
from zenops.app.logfile import redirect_stderr, show_operator_warnings
from zenops.app.temporary_server import prefect_api
from zenops.workspace import Workspace, find_workspace

__all__ = ["FLOW_COMMANDS", "app", "checked", "details", "report_app", "state", "tickets_app", "workspace"]

app = typer.Typer(
    name="zenops",
    help="Operations for deployed ML models: monitor, refresh, and plan the team's demand.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
tickets_app = typer.Typer(help="The demand queue's tickets.", no_args_is_help=True)
app.add_typer(tickets_app, name="tickets")


class ReportGroup(TyperGroup):
    """``zenops report sponsors`` is a report of its own; any other first word is a model.

    ``zenops report MODEL [--batch NAME]`` thus reads as ``zenops report model MODEL ...``
    (a model called ``sponsors`` or ``model``: ``zenops report model NAME``).
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h")):
            args = ["model", *args]
        return super().parse_args(ctx, args)


report_app = typer.Typer(
    cls=ReportGroup,
    help="Reports: a model's Evidently reports of a batch (report MODEL), or the sponsors' view.",
)
app.add_typer(report_app, name="report")


class State:
    """What the global options chose, for the command that runs."""

    workspace: str | None = None
    redirect: Any = None  # zenops.app.logfile.Redirect while the libraries' output goes to the log file


state = State()


# Commands that run Prefect flows: without PREFECT_API_URL they use the server
# `zenops server` recorded in the workspace, else a temporary Prefect server that ends
# with the command (zenops.app.temporary_server). `serve` uses a recorded one only;
# the demo's workspace is a new folder, which has none.
FLOW_COMMANDS = frozenset(
    {"train", "monitor", "refresh", "rollback", "candidate", "approve", "reject", "plan", "sla-watch", "demo"}
)


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
        state.redirect = redirect_stderr(find_workspace(state.workspace).root)
        if state.redirect is not None:
            err.file = state.redirect.stderr
    stderr = state.redirect.stderr if state.redirect is not None else sys.stderr
    show_operator_warnings(stderr)
    command = ctx.invoked_subcommand
    if command in FLOW_COMMANDS or command == "serve":
        recorded = None if command == "demo" else find_workspace(state.workspace).root
        ctx.with_resource(prefect_api(recorded, stderr, start=command != "serve"))
    if command in FLOW_COMMANDS:
        ctx.with_resource(without_heartbeats())


def workspace() -> Workspace:
    """The workspace the global ``--workspace`` option (or its defaults) names."""
    return find_workspace(state.workspace)


def checked(models: list[str] | None = None, **checks: Any) -> Workspace:
    """The workspace, once every check the command needs has passed.

    See :func:`zenops.app.preflight.check` (imported here: it loads pandas, which
    ``zenops --help`` or ``zenops init`` do not need).
    """
    from zenops.app.preflight import check

    ws = workspace()
    check(ws, models, **checks)
    return ws


def details() -> str:
    """Where the libraries' logs of a failed command are, when they wrote any."""
    return state.redirect.details() if state.redirect is not None else ""
