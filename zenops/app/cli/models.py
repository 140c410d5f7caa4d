"""The model commands: ``train``, ``monitor``, ``report``, ``refresh`` and ``rollback``.

Each runs its Prefect flow; the flows (and the pandas, MLflow and Prefect behind
them) are imported by the command that runs one, so that ``zenops tickets list`` or
``zenops --help`` does not load them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from zenops.app.cli.output import JsonOption, emit, err, out
from zenops.app.cli.progress_bar import progress_bar
from zenops.app.cli.root import checked

__all__ = ["monitor", "refresh", "report", "rollback", "train"]

ModelArgument = Annotated[str, typer.Argument(help="Model name from zenops.yaml.")]


def train(
    model: ModelArgument,
    pipeline: Annotated[
        bool,
        typer.Option("--pipeline", help="Run as the dvc.yaml stage: params.yaml, data as DVC tracks it."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Version the training data, train, log lineage, register; the first version becomes champion."""
    from zenops.services.train.steps import load_training_frame

    ws = checked([model], training="required", tickets=False)
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


def monitor(
    models: Annotated[list[str] | None, typer.Argument(help="Models to monitor (default: all).")] = None,
    as_json: JsonOption = False,
) -> None:
    """One monitoring cycle now, over the batches not yet seen."""
    ws = checked(models or None, champions="waiting")
    from flows.monitor import run_cycle

    with progress_bar(err, as_json):
        result = run_cycle(ws, models or None)
    emit(result, as_json, render_cycle)


def report(
    model: ModelArgument,
    batch: Annotated[
        str | None, typer.Option("--batch", help="The batch's file name or stem (default: the newest).")
    ] = None,
    folder: Annotated[
        Path | None, typer.Option("--out", help="Folder to write to (default .zenops/reports/MODEL/BATCH).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Evidently's reports of a monitored batch, built from its kept rows and its champion's profile."""
    ws = checked([model], champions="waiting", tickets=False)
    from zenops.services.monitor.report import rebuild_report

    result = rebuild_report(ws, ws.config.model(model), batch, folder)

    def render(data: dict[str, Any]) -> None:
        out.print(
            f"[bold]{data['model']}[/] {data['batch']}: {data['rows']} rows against version "
            f"{data['champion_version']}, {data['labelled_rows']} labelled"
        )
        for path in data["files"]:
            out.print(f"  {path}")

    emit(result, as_json, render)


def render_cycle(data: dict[str, Any]) -> None:
    """A monitoring cycle for a person: one row per model, then each model's reasons."""
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


def refresh(
    model: ModelArgument,
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
    ws = checked([model], champions="champion")
    if ticket is not None:
        ws.ticket_store().get(ticket)
    from flows.refresh import refresh_model

    with progress_bar(err, as_json):
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


def rollback(model: ModelArgument, as_json: JsonOption = False) -> None:
    """Restore the previous champion (with an audit record)."""
    ws = checked([model], training="skip", champions="previous")
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
