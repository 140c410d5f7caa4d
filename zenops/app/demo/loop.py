"""The demo's month, replayed as the loop runs unattended: monitor, refresh, rebuild, promote.

Each replayed day the day's batch and the labels due that day are dropped, and one
monitoring cycle runs (Prefect flow ``monitor-models``) on the replayed day's clock. What
its events start runs as it does unattended (:mod:`zenops.app.demo.served`): a ticket a
``refresh`` or ``rebuild`` verdict opens emits ``zenops.model.degraded``, whose trigger
runs the ``refresh`` deployment that same day; the promoted champion is monitored from
the next day. When a refresh hands a model back, the demo plays the data scientists a
few days later (:mod:`zenops.app.demo.rebuild`): the rebuilt model is registered as a
version tagged ``zenops.candidate``, the next cycle notices it, and its event runs the
``evaluate-candidate`` deployment, which promotes or rejects it by the same gate. Every
step is printed as it happens, day by day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as time_of_day
from typing import Any

import pandas as pd
from rich.text import Text

from demand.repository import open_handback
from zenops.app.demo.days import (
    MALFORMED,
    SEED,
    STREAM_DAYS,
    Story,
    day_cell,
    demo_stream,
    label_file,
    schedule,
)
from zenops.app.demo.rebuild import REBUILDS, rebuild_and_register
from zenops.app.demo.served import Served, Started, served
from zenops.app.demo.served import now as real_now
from zenops.kernel import clock
from zenops.services.history import events_of
from zenops.workspace import Workspace

__all__ = ["REBUILD_AFTER_DAYS", "replay_the_loop"]

REBUILD_AFTER_DAYS = 4
"""How many days after a hand-back the data scientists bring the rebuilt model back."""
CELL = 46


@dataclass
class Month:
    """What the replay keeps: each day's cycle, the work events started, the hand-backs and rebuilds."""

    cycles: list[dict[str, Any]] = field(default_factory=list)
    work: list[dict[str, Any]] = field(default_factory=list)
    handed_back: dict[str, tuple[int, int]] = field(default_factory=dict)  # model -> (day index, ticket)
    rebuilt: dict[int, str] = field(default_factory=dict)  # hand-back ticket -> candidate version


def replay_the_loop(workspace: Workspace, story: Story) -> Month:
    """Replay the month day by day, the loop's work included; see the module's notes."""
    from flows.monitor import run_cycle

    month = Month()
    config = workspace.config
    streams = {
        spec.name: [b for b in demo_stream(spec.name) if (spec.name, b.index) != MALFORMED[:2]]
        for spec in config.models
    }
    days = [batch.day for batch in demo_stream(config.models[0].name)]
    title = (
        f"Run the loop for {STREAM_DAYS} days: a monitoring cycle a day (flow 'monitor-models'); "
        "its events start the refresh and evaluate-candidate deployments"
    )
    with story.step(title), served(workspace) as deployments:
        story.say(header([spec.name for spec in config.models]))
        for index, day in enumerate(days):
            drop_day(workspace, streams, index, day)
            with clock.pinned(datetime.combine(day + timedelta(days=1), time_of_day(6, 0))):
                rebuild_due(workspace, story, month, index)
                since = real_now() - timedelta(seconds=1)
                result = run_cycle(workspace)
                story.say(day_line(index, day, result["models"]))
                month.cycles.append({"day": day.isoformat(), "models": result["models"]})
                started = start_work(workspace, deployments, result, since)
                for line in work_lines(workspace, started, month, index):
                    story.say(line)
    return month


def drop_day(workspace: Workspace, streams: dict[str, list[Any]], index: int, day: Any) -> None:
    """The day's batch and the labels due that day, as files (the malformed day's batch replaced)."""
    from zenops.app.demo.datagen import write_malformed, write_stream

    for spec in workspace.config.models:
        batches, labels = workspace.path(spec.batches), workspace.path(spec.labels)
        write_stream(streams[spec.name], batches, labels, through=day, label_name=label_file, since=day)
        if (spec.name, index) == MALFORMED[:2]:
            write_malformed(batches / f"{day.isoformat()}.csv", spec.name, MALFORMED[2], seed=SEED, day=day)


def header(models: list[str]) -> str:
    return "day         " + "".join(f"{name:<{CELL}}" for name in models)


def day_line(index: int, day: Any, rows: list[dict[str, Any]]) -> str:
    """One day: each model's champion version, verdict, drift, performance and the ticket it opened."""
    cells = []
    for row in rows:
        version = row.get("champion_version") or next(
            (b.get("champion_version") for b in row.get("batches") or [] if b.get("champion_version")), None
        )
        cell = (f"v{version} " if version else "") + day_cell(row)
        width = Text.from_markup(cell).cell_len
        cells.append(cell + " " * max(1, CELL - width))
    return f"{index:>2}  {day.isoformat()}  " + "".join(cells).rstrip()


def start_work(
    workspace: Workspace, deployments: Served, result: dict[str, Any], since: datetime
) -> list[Started]:
    """Wait for the runs the cycle's events started: a refresh per degraded model, an evaluation per
    candidate."""
    degraded = [
        {"model": row["model"], "on_event": True}
        for row in result["models"]
        if any(b["ticket_created"] and b["verdict"] in ("refresh", "rebuild") for b in row["batches"])
    ]
    noticed = [{"model": c["model"], "version": c["version"]} for c in result.get("candidates") or []]
    started = deployments.wait("refresh", degraded, since) if degraded else []
    return started + (deployments.wait("evaluate-candidate", noticed, since) if noticed else [])


def work_lines(workspace: Workspace, started: list[Started], month: Month, index: int) -> list[str]:
    """What each started run did, read back from the tickets and the ledger."""
    store = workspace.ticket_store()
    lines = []
    for run in started:
        model = run.parameters["model"]
        if run.state != "Completed":
            lines.append(f"  ↳ {run.name}: [bold red]{run.state}[/] {run.message}")
            month.work.append({"run": run.name, "state": run.state})
            continue
        if run.deployment == "refresh":
            ticket = _latest(store.list(kind="refresh", model=model))
            handback = open_handback(store, model)
            outcome = f"{ticket.status}: {ticket.outcome}"
            if not ticket.outcome:  # the refresh stood down (superseded)
                waiting = f" while rebuild ticket #{handback.id} is open" if handback is not None else ""
                outcome = f"stays {ticket.status}: the refresh stood down{waiting}"
            lines.append(
                f"  ↳ zenops.model.degraded → [bold]refresh-model/refresh[/] ({run.name}): "
                f"ticket #{ticket.id} {outcome}"
            )
            if handback is not None and month.handed_back.get(model, (0, None))[1] != handback.id:
                month.handed_back[model] = (index, handback.id)
                lines.append(
                    f"     rebuild ticket #{handback.id} opened, with a dossier for the data scientists"
                    + _merged(store, model, handback.id)
                )
            month.work.append({"run": run.name, "ticket": ticket.id, "outcome": outcome})
        else:
            version = str(run.parameters["version"])
            event = next(e for e in events_of(workspace.registry(), model) if e.to_version == version)
            closed = [
                t.id for t in store.list(status="done", kind="rebuild", model=model) if _closed_by(t, run)
            ]
            done = f"; rebuild tickets {', '.join(f'#{t}' for t in closed)} closed" if closed else ""
            lines.append(
                f"  ↳ the cycle noticed version {version}: zenops.candidate.registered → "
                f"[bold]evaluate-candidate[/] ({run.name}): {event.action} — {_why(event.evidence)}{done}"
            )
            month.work.append({"run": run.name, "action": event.action, "closed": closed})
    return lines


def rebuild_due(workspace: Workspace, story: Story, month: Month, index: int) -> None:
    """The data scientists bring a handed-back model back, :data:`REBUILD_AFTER_DAYS` days after.

    They train on the labelled days since the latest drift began (the concept's, once its
    labels are in; else the covariates'), the newest labelled day left for the comparison.
    """
    for model, change in REBUILDS.items():
        since, handback = month.handed_back.get(model, (None, None))
        if since is None or handback in month.rebuilt or index < since + REBUILD_AFTER_DAYS:
            continue
        ticket = open_handback(workspace.ticket_store(), model)
        if ticket is None or ticket.id != handback:  # closed or replaced meanwhile
            continue
        spec = workspace.config.model(model)
        plan = schedule(model)
        last = index - plan.label_delay_days - 1
        began = [d for d in (plan.concept_start, plan.covariate_start) if d is not None and d <= last]
        stream = demo_stream(model)
        start = began[0] if began else 0
        frame = pd.concat([stream[d].labelled() for d in range(start, last + 1)], ignore_index=True)
        version, _ = rebuild_and_register(workspace, spec, frame, int(ticket.id), change)
        month.rebuilt[handback] = version
        first, end = stream[start].day, stream[last].day
        story.say(
            f"    the data scientists ({spec.owner}) rebuild {model} for rebuild ticket #{ticket.id}: "
            f"{change.why}, on {len(frame):,} labelled rows of {first} to {end}; registered as version "
            f"{version}, tagged zenops.candidate={ticket.id}"
        )


def _latest(tickets: list[Any]) -> Any:
    return max(tickets, key=lambda t: (t.updated, t.id))


def _merged(store: Any, model: str, handback: int) -> str:
    """The monitoring rebuild tickets the hand-back's took in, in words (empty: none)."""
    into = f"merged into rebuild ticket #{handback},"
    merged = [
        f"#{t.id}"
        for t in store.list(status="cancelled", kind="rebuild", model=model)
        if (t.outcome or "").startswith(into)
    ]
    return f"; it takes in rebuild ticket {', '.join(merged)} monitoring opened" if merged else ""


def _closed_by(ticket: Any, run: Started) -> bool:
    last = ticket.evidence[-1] if ticket.evidence else {}
    return last.get("candidate_version") == str(run.parameters.get("version"))


def _why(evidence: dict[str, Any]) -> str:
    return str(evidence.get("summary") or evidence.get("reason") or "")
