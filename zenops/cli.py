"""The ``zenops`` command line.

Every command that reports accepts ``--json`` and then prints exactly one JSON
document on stdout (progress and logs go to stderr). Exit codes: 0 done; 1 the
work failed; 2 bad usage, configuration or input, with one line on stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from zenops.errors import ZenopsError

app = typer.Typer(
    name="zenops",
    help="Operations for deployed ML models: monitor, refresh, and plan the team's demand.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
tickets_app = typer.Typer(help="The demand queue's tickets.", no_args_is_help=True)
app.add_typer(tickets_app, name="tickets")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


class State:
    workspace: str | None = None


state = State()


@app.callback()
def _root(
    workspace: Annotated[
        str | None,
        typer.Option(
            "--workspace", "-w", help="Workspace folder (default: $ZENOPS_WORKSPACE or the current folder)."
        ),
    ] = None,
) -> None:
    state.workspace = workspace


def _workspace():
    from zenops.workspace import find_workspace

    return find_workspace(state.workspace)


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

    from zenops.init import init_workspace
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
    model: Annotated[str, typer.Argument(help="Model name from zenops.yaml.")], as_json: JsonOption = False
) -> None:
    """Version the training data, train, log lineage, register; the first version becomes champion."""
    ws = _workspace().require()
    ws.config.model(model)
    from flows.train import train_model

    result = train_model(model=model, workspace=str(ws.root))

    def render(data: dict[str, Any]) -> None:
        metrics = ", ".join(f"{k} {v:.4f}" for k, v in sorted(data["metrics"].items()))
        alias = f" @{data['alias']}" if data["alias"] else ""
        out.print(
            f"[bold]{data['model']}[/] version {data['version']}{alias}"
            f"  data {data['data_rev'][:10]}  {metrics}"
        )

    emit(result, as_json, render)


@app.command()
def status(as_json: JsonOption = False) -> None:
    """Models, champion versions and their data versions."""
    from zenops.status import workspace_status

    report = workspace_status(_workspace().require())

    def render(data: dict[str, Any]) -> None:
        table = Table(title="models")
        for column in ("model", "champion", "data rev", "data md5", "metric", "aliases"):
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
            )
        out.print(table)

    emit(report, as_json, render)


@app.command()
def demo(
    directory: Annotated[
        str, typer.Option("--dir", help="Folder for the demo workspace (a fresh one).")
    ] = "zenops-demo",
    as_json: JsonOption = False,
) -> None:
    """The whole story on embedded defaults, end to end, in a fresh folder."""
    from zenops.demo import run_demo

    summary = run_demo(directory, console=err if as_json else out)
    if as_json:
        emit(summary, True, lambda _: None)


def main() -> None:
    """Entry point: one line and an exit code for every error zenops raises."""
    from zenops.offline import stay_offline

    stay_offline()
    try:
        app(standalone_mode=False)
    except ZenopsError as error:
        err.print(f"zenops: error: {error}", markup=False, highlight=False)
        raise SystemExit(error.exit_code) from None
    except typer.Abort:
        err.print("zenops: aborted", markup=False)
        raise SystemExit(1) from None
    except Exception as error:  # click usage errors carry their own exit code
        import click

        if isinstance(error, click.exceptions.ClickException):
            error.show()
            raise SystemExit(error.exit_code) from None
        if isinstance(error, click.exceptions.Exit):
            raise SystemExit(error.exit_code) from None
        err.print(
            f"zenops: error: {type(error).__name__}: {error}".splitlines()[0], markup=False, highlight=False
        )
        raise SystemExit(1) from None
