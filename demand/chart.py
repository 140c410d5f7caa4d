"""The plan as a picture: a Gantt chart with one lane per person and the GPU pool's use under it.

:func:`draw_chart` renders a :class:`~demand.planner.Plan` with matplotlib (imported
when a chart is drawn) as PNG or SVG bytes:

- one lane per person (and one for lead times, which occupy no one), each phase a bar
  coloured by its kind (``provision``, ``build``, ``deploy``, …; a ticket without phases
  by its ticket kind), reviews hatched, bars of SLA-at-risk tickets edged in red;
- each ticket's SLA due time as a mark on the lane of whoever delivers it (red when
  the ticket ends after it);
- under the lanes, how many GPUs the plan holds over time against the pool's size.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from demand.planner import Plan

FORMATS = ("png", "svg")
LEAD_TIMES = "lead times"
PALETTE = (
    "#4C72B0", "#55A868", "#8172B2", "#CCB974", "#64B5CD", "#DD8452", "#937860", "#DA8BC3", "#8C8C8C",
)  # fmt: skip
FIXED_COLOURS = {"lead_time": "#BBBBBB", "review": "#FFFFFF"}
AT_RISK = "#C44E52"
MAX_LABELLED_BARS = 400


@dataclass(frozen=True)
class Bar:
    """One bar of the chart: a phase, a whole ticket or a review, on one lane."""

    lane: str
    start: datetime
    end: datetime
    kind: str
    label: str
    at_risk: bool
    gpus: int = 0


def bars(plan: Plan) -> list[Bar]:
    """Every bar of the plan's chart; lead times that overlap go on lanes of their own."""
    drawn = _bars(plan)
    waits = sorted((b for b in drawn if b.lane == LEAD_TIMES), key=lambda b: (b.start, b.end))
    free: list[datetime] = []  # when each lead-time lane is free again
    placed = []
    for bar in waits:
        lane = next((i for i, until in enumerate(free) if until <= bar.start), len(free))
        free[lane : lane + 1] = [bar.end]
        placed.append(replace(bar, lane=LEAD_TIMES if lane == 0 else f"{LEAD_TIMES} {lane + 1}"))
    return [b for b in drawn if b.lane != LEAD_TIMES] + placed


def _bars(plan: Plan) -> list[Bar]:
    out: list[Bar] = []
    for a in plan.assignments:
        label = f"#{a.ticket}"
        if not a.phases:
            out.append(Bar(a.assignee, a.start, a.end, a.kind, label, a.sla_at_risk, a.gpus))
            if a.reviewer and a.review_start is not None:
                out.append(Bar(a.reviewer, a.review_start, a.end, "review", label, a.sla_at_risk))
            continue
        for slot in a.phases:
            lane = slot.assignee or LEAD_TIMES
            kind = "lead_time" if slot.kind == "lead_time" else slot.name
            out.append(
                Bar(lane, slot.start, slot.end, kind, f"{label} {slot.name}", a.sla_at_risk, slot.gpus)
            )
            if slot.reviewer and slot.review_start is not None:
                out.append(Bar(slot.reviewer, slot.review_start, slot.end, "review", label, a.sla_at_risk))
    return out


def gpu_use(plan: Plan) -> list[tuple[datetime, int]]:
    """GPUs held from each moment on (a step function), from the first change to the last."""
    changes: dict[datetime, int] = {}
    for bar in bars(plan):
        if bar.gpus and bar.end > bar.start:
            changes[bar.start] = changes.get(bar.start, 0) + bar.gpus
            changes[bar.end] = changes.get(bar.end, 0) - bar.gpus
    steps, held = [], 0
    for moment in sorted(changes):
        held += changes[moment]
        steps.append((moment, held))
    return steps


def colours(kinds: list[str]) -> dict[str, str]:
    """A colour per kind of bar, the same kind the same colour in every chart."""
    out = {}
    free = iter(PALETTE * (1 + len(kinds) // len(PALETTE)))
    for kind in kinds:
        out[kind] = FIXED_COLOURS.get(kind) or next(free)
    return out


def draw_chart(plan: Plan, gpu_pool: int, fmt: str = "png", title: str = "zenops plan") -> bytes:
    """The chart as PNG or SVG bytes (see the module docstring)."""
    if fmt not in FORMATS:
        raise ValueError(f"chart format: '{fmt}' is not one of {', '.join(FORMATS)}")
    from matplotlib.figure import Figure

    drawn = bars(plan)
    lanes = _lanes(drawn)
    figure = Figure(figsize=(14, 1.6 + 0.42 * max(1, len(lanes)) + 1.6), layout="constrained")
    grid = figure.add_gridspec(2, 1, height_ratios=(max(1, len(lanes)), 3.5))
    people = figure.add_subplot(grid[0])
    pool = figure.add_subplot(grid[1], sharex=people)
    _draw_lanes(people, plan, drawn, lanes)
    heading = f"{title}: {len(plan.assignments)} tickets from {plan.now:%Y-%m-%d}"
    figure.suptitle(f"{heading}, {len(plan.at_risk)} with SLA at risk", fontsize=10)
    _draw_pool(pool, plan, gpu_pool)
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, dpi=100, metadata={"Date": None} if fmt == "svg" else None)
    return buffer.getvalue()


def _lanes(drawn: list[Bar]) -> list[str]:
    waits = sorted({b.lane for b in drawn if b.lane.startswith(LEAD_TIMES)}, key=lambda n: (len(n), n))
    return waits + sorted({b.lane for b in drawn} - set(waits))


def _draw_lanes(axes, plan: Plan, drawn: list[Bar], lanes: list[str]) -> None:
    from matplotlib.dates import date2num

    row = {lane: i for i, lane in enumerate(lanes)}
    palette = colours(sorted({bar.kind for bar in drawn}))
    labelled = len(drawn) <= MAX_LABELLED_BARS
    for bar in drawn:
        left, width = date2num(bar.start), max(date2num(bar.end) - date2num(bar.start), 0.02)
        axes.barh(
            row[bar.lane], width, left=left, height=0.7, color=palette[bar.kind],
            edgecolor=AT_RISK if bar.at_risk else "#333333", linewidth=1.4 if bar.at_risk else 0.5,
            hatch="//" if bar.kind in ("review", "lead_time") else None,
        )  # fmt: skip
        if labelled and width >= 1.2:
            axes.text(
                left + width / 2, row[bar.lane], bar.label, ha="center", va="center", fontsize=7, clip_on=True
            )
    for lane, due, late in _due_marks(plan):
        overdue = due < plan.now  # drawn at the plan's start, pointing back
        axes.plot(
            [date2num(max(due, plan.now))], [row[lane] - 0.42], marker="<" if overdue else "v",
            markersize=6, color=AT_RISK if late else "#222222", linestyle="",
        )  # fmt: skip
    handles = [_patch(palette[kind], kind) for kind in sorted(palette)]
    handles += [
        _mark("#222222", "v", "SLA due"),
        _mark(AT_RISK, "v", "due, at risk"),
        _mark(AT_RISK, "<", "overdue"),
    ]
    axes.legend(
        handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.0), fontsize=7,
        ncols=min(9, len(handles)), frameon=False,
    )  # fmt: skip
    axes.set_yticks(range(len(lanes)), lanes)
    axes.set_ylim(len(lanes) - 0.4, -0.6)
    axes.set_xlim(left=date2num(plan.now - timedelta(days=1)))
    axes.axvline(date2num(plan.now), color="#222222", linewidth=0.8, linestyle=":")
    if plan.objective.horizon_end is not None:
        axes.axvline(date2num(plan.objective.horizon_end), color="#888888", linewidth=0.8, linestyle="--")
    axes.grid(axis="x", color="#DDDDDD", linewidth=0.5)


def _due_marks(plan: Plan) -> Iterator[tuple[str, datetime, bool]]:
    for a in plan.assignments:
        yield a.assignee, a.due, a.sla_at_risk


def _draw_pool(axes, plan: Plan, gpu_pool: int) -> None:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
    from matplotlib.ticker import MaxNLocator

    steps = gpu_use(plan)
    if steps:
        start = min(plan.now, steps[0][0])
        xs = [date2num(start)] + [date2num(m) for m, _ in steps]
        ys = [0] + [held for _, held in steps]
        axes.step(xs, ys, where="post", color="#8172B2", linewidth=1.2)
        axes.fill_between(xs, ys, step="post", color="#8172B2", alpha=0.3)
    else:
        end = plan.assignments[-1].end if plan.assignments else plan.now + timedelta(days=1)
        axes.plot([date2num(plan.now), date2num(end)], [0, 0], color="#8172B2")
    axes.axhline(gpu_pool, color=AT_RISK, linewidth=0.9, linestyle="--")
    axes.set_ylim(0, max(1, gpu_pool) * 1.25)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel("GPUs in use", fontsize=8)
    axes.text(1.0, 1.0, f"pool {gpu_pool}", transform=axes.transAxes, ha="right", va="bottom", fontsize=7)
    locator = AutoDateLocator()
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    axes.grid(axis="x", color="#DDDDDD", linewidth=0.5)


def _patch(colour: str, label: str):
    from matplotlib.patches import Patch

    hatch = "//" if label in ("review", "lead_time") else None
    return Patch(facecolor=colour, edgecolor="#333333", hatch=hatch, label=label.replace("_", " "))


def _mark(colour: str, marker: str, label: str):
    from matplotlib.lines import Line2D

    return Line2D([], [], marker=marker, linestyle="", color=colour, label=label)
