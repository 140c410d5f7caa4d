"""Benchmark of the capacity-aware planner against simple dispatching rules.

Generates seeded instances (20 tickets / 5 people, 100 / 12, 500 / 30 by
default) with mixed kinds, skills, GPU needs, ethics gates and due dates (some
already breached), plans each with :func:`demand.planner.plan` and with three
baselines list-scheduled under the same rules (first-in-first-out,
earliest-due-date, plain WSJF = value / effort), and prints per size the
SLA-weighted lateness, the value delivered within the horizon and the cost
(the planner's objective) of each, CP-SAT's lower bound on the cost where it
has one, and the planner's time.

    python benchmarks/planner.py               # a table per size
    python benchmarks/planner.py --json        # the same figures as one JSON document
    python benchmarks/planner.py --sizes 20 100 --time-limit 2
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from demand.greedy import list_schedule, ordered  # noqa: E402
from demand.phases import Phase  # noqa: E402
from demand.planner import Plan, plan  # noqa: E402
from demand.problem import build_problem  # noqa: E402
from demand.schedules import evaluate  # noqa: E402
from demand.sla import due_at  # noqa: E402
from demand.stability import Planned  # noqa: E402
from demand.tickets import Ticket  # noqa: E402
from zenops.kernel.config import DEFAULT_SLA_TIERS, PlanningPolicy, Resources, TeamMember  # noqa: E402

NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
PEOPLE = {20: 5, 100: 12, 500: 30}
DS_SKILLS = ("tabular", "nlp", "vision", "timeseries", "sql")
MLOPS_SKILLS = ("batch", "serving", "streaming", "gpu", "sql", "privacy")
KINDS = (
    ("refresh", 0.30),
    ("data_quality", 0.20),
    ("rebuild", 0.15),
    ("new_project", 0.12),
    ("tooling_rnd", 0.15),
    ("ethics_review", 0.08),
)
EFFORT = {
    "refresh": (0.5, 2.0),
    "data_quality": (0.5, 3.0),
    "rebuild": (4.0, 12.0),
    "new_project": (8.0, 30.0),
    "tooling_rnd": (1.0, 10.0),
    "ethics_review": (1.0, 3.0),
}
BASELINES = ("fifo", "edd", "wsjf")


def make_team(rng: random.Random, size: int) -> list[TeamMember]:
    """A seeded team of ``size`` people, half data scientists, with mixed levels."""
    team = []
    for i in range(size):
        role = "data_scientist" if i % 2 == 0 else "mlops_engineer"
        pool = DS_SKILLS if role == "data_scientist" else MLOPS_SKILLS
        level = rng.choices(("junior", "mid", "senior"), (0.3, 0.4, 0.3))[0]
        available = NOW.date() + timedelta(days=rng.randint(3, 14)) if rng.random() < 0.1 else None
        team.append(
            TeamMember(
                name=f"p{i:02d}",
                role=role,
                skills=sorted(rng.sample(pool, rng.randint(2, 4))),
                level=level,
                capacity=rng.choice((1.0, 1.0, 0.8, 0.5)),
                available_from=available,
            )
        )
    return team


def make_tickets(rng: random.Random, count: int) -> list[Ticket]:
    """``count`` seeded open tickets of mixed kinds; some new projects wait for ethics reviews."""
    tickets: list[Ticket] = []
    kinds, weights = zip(*KINDS, strict=True)
    gated: list[int] = []
    for i in range(1, count + 1):
        kind = rng.choices(kinds, weights)[0]
        if kind == "ethics_review" and gated:
            subject = gated.pop(0)
        else:
            subject = None
            if kind == "ethics_review":
                kind = "refresh"
        tier_name = rng.choice(("gold", "silver", "silver"))
        created = NOW - timedelta(days=rng.uniform(0, 20))
        due = due_at(kind, created, DEFAULT_SLA_TIERS[tier_name])
        low, high = EFFORT[kind]
        effort = round(rng.uniform(low, high) * 2) / 2 or 0.5
        pool = MLOPS_SKILLS if kind == "tooling_rnd" else DS_SKILLS
        skills = tuple(rng.sample(pool, rng.choice((0, 1, 1, 2)))) if kind != "ethics_review" else ()
        gpus = rng.choice((1, 1, 2)) if kind in ("rebuild", "new_project") and rng.random() < 0.35 else 0
        ethics = kind == "new_project" and rng.random() < 0.5
        if ethics and rng.random() < 0.7:
            gated.append(i)
        tickets.append(
            Ticket(
                id=i,
                kind=kind,
                title=f"{kind} {i}",
                due=due,
                created=created,
                updated=created,
                model=f"model-{rng.randint(1, max(3, count // 5))}",
                sla=tier_name,
                value=rng.randint(1, 10),
                sponsor=rng.choice(("retail", "risk", "ops")),
                effort=effort,
                risk=rng.randint(1, 5),
                skills=skills,
                gpus=gpus,
                ethics_required=ethics,
                ethics_approved=ethics and i not in gated,
                subject=subject,
                savings=round(rng.uniform(0, 15), 1) if kind == "tooling_rnd" else 0.0,
            )
        )
    return tickets


DEPLOY_SKILLS = ("batch", "serving")


def phased(rng: random.Random, ticket: Ticket) -> Ticket:
    """A project or rebuild as phases: provision (a lead time) → build → GPU search → deploy.

    New projects wait for provisioning (5–20 days from their creation); a third of
    the phased tickets search hyper-parameters on the GPU pool; the deployment is a
    batch or a serving one by an MLOps engineer.
    """
    effort = ticket.effort
    skills = tuple(s for s in ticket.skills if s in DS_SKILLS)
    phases = []
    if ticket.kind == "new_project":
        phases.append(Phase("provision", lead_time=float(rng.randint(5, 20))))
    share = rng.uniform(0.55, 0.7)
    phases.append(
        Phase("build", effort=round(effort * share * 2) / 2 or 0.5, role="data_scientist", skills=skills)
    )
    if rng.random() < 0.35:
        phases.append(
            Phase(
                "search",
                effort=round(effort * 0.15 * 2) / 2 or 0.5,
                role="data_scientist",
                gpus=rng.choice((1, 1, 2)),
            )
        )
    deploy = rng.choice(DEPLOY_SKILLS)
    rest = max(0.5, round((effort - sum(p.effort for p in phases)) * 2) / 2)
    phases.append(Phase("deploy", effort=rest, role="mlops_engineer", skills=(deploy,)))
    return replace(
        ticket,
        phases=tuple(phases),
        effort=sum(p.effort for p in phases),
        skills=tuple(dict.fromkeys(s for p in phases for s in p.skills)),
        gpus=max(p.gpus for p in phases),
    )


def with_phases_and_waits(rng: random.Random, tickets: list[Ticket]) -> list[Ticket]:
    """New projects and half the rebuilds in phases; a tenth of the tickets wait for an earlier one."""
    out = []
    for ticket in tickets:
        if ticket.kind == "new_project" or (ticket.kind == "rebuild" and rng.random() < 0.5):
            ticket = phased(rng, ticket)
        if ticket.id > 5 and ticket.kind != "ethics_review" and rng.random() < 0.1:
            ticket = replace(ticket, after=(rng.randint(max(1, ticket.id - 30), ticket.id - 1),))
        out.append(ticket)
    return out


def instance(
    count: int, seed: int, backlog: str = "phased"
) -> tuple[list[Ticket], list[TeamMember], Resources]:
    """The seeded instance of ``count`` tickets (``phased``, or ``flat``: no phases or waits)."""
    rng = random.Random(f"{seed}-{count}")
    people = PEOPLE.get(count, max(3, count // 16))
    team = make_team(rng, people)
    tickets = make_tickets(rng, count)
    if backlog == "phased":
        phasing = random.Random(f"{seed}-{count}-phases")
        tickets = with_phases_and_waits(phasing, tickets)
        team = [  # every MLOps engineer deploys: in batch, as a service, or both
            p
            if p.role == "data_scientist" or set(p.skills) & set(DEPLOY_SKILLS)
            else p.model_copy(update={"skills": sorted([*p.skills, phasing.choice(DEPLOY_SKILLS)])})
            for p in team
        ]
    return tickets, team, Resources(gpus=max(1, people // 5))


def newcomer(tickets: list[Ticket]) -> Ticket:
    """The ticket a re-plan takes in: a gold refresh opened now, due in two days."""
    ident = max(t.id for t in tickets) + 1  # type: ignore[type-var]
    return Ticket(
        id=ident,
        kind="refresh",
        title=f"refresh {ident}",
        due=due_at("refresh", NOW, DEFAULT_SLA_TIERS["gold"]),
        created=NOW,
        updated=NOW,
        model="model-1",
        sla="gold",
        value=8,
        sponsor="risk",
        effort=2.0,
        risk=2,
    )


def moved_between(before: list[Planned], after: list[Planned]) -> int:
    """Assignments of ``before`` that ``after`` gives to someone else or starts over a day apart."""
    where = {(p.ticket, p.phase): p for p in after}
    return sum(not _kept(old, where.get((old.ticket, old.phase))) for old in before)


def _kept(old: Planned, new: Planned | None) -> bool:
    """The rule of :func:`demand.stability.kept`: the same person (any, for a lead time), within a day."""
    if new is None or (old.assignee is not None and new.assignee != old.assignee):
        return False
    return abs((new.start - old.start).total_seconds()) <= 86400


def stability(
    tickets: list[Ticket], team: list[TeamMember], resources: Resources, policy: PlanningPolicy, first: Plan
) -> dict[str, Any]:
    """Re-plan after one new ticket, keeping the first plan (and, to compare, from scratch)."""
    more = [*tickets, newcomer(tickets)]
    previous = first.planned()
    began = time.perf_counter()
    kept = plan(more, team, resources, policy, NOW, previous=previous)
    seconds = time.perf_counter() - began
    free = plan(more, team, resources, policy, NOW)
    return {
        "assignments": len(previous),
        "moved": moved_between(previous, kept.planned()),
        "moved_from_scratch": moved_between(previous, free.planned()),
        "lateness": round(kept.objective.lateness, 1),
        "lateness_from_scratch": round(free.objective.lateness, 1),
        "value": round(kept.objective.value_delivered, 1),
        "value_from_scratch": round(free.objective.value_delivered, 1),
        "seconds": round(seconds, 2),
    }


def run(count: int, seed: int, policy: PlanningPolicy, backlog: str = "phased") -> dict[str, Any]:
    """Plan one instance with the planner and every baseline; their figures and the re-plan's."""
    tickets, team, resources = instance(count, seed, backlog)
    began = time.perf_counter()
    result = plan(tickets, team, resources, policy, NOW)
    seconds = time.perf_counter() - began
    problem = build_problem(tickets, team, resources, policy, NOW)
    rows: dict[str, Any] = {
        "planner": {
            "lateness": round(result.objective.lateness, 1),
            "value": round(result.objective.value_delivered, 1),
            "cost": round(result.objective.cost, 1),
        }
    }
    for name in BASELINES:
        figures = evaluate(problem, list_schedule(problem, ordered(problem, name)))
        rows[name] = {
            "lateness": round(figures.lateness, 1),
            "value": round(figures.value_delivered, 1),
            "cost": round(figures.cost_days, 1),
        }
    return {
        "tickets": count,
        "people": len(team),
        "gpus": resources.gpus,
        "planned": len(result.assignments),
        "unplannable": len(result.unplannable),
        "value_total": round(result.objective.value_total, 1),
        "results": rows,
        "bound": None if result.objective.bound is None else round(result.objective.bound, 1),
        "bound_source": result.objective.bound_source,
        "gap": None if result.objective.gap is None else round(result.objective.gap, 4),
        "status": result.objective.status,
        "solver": result.objective.solver,
        "warm_start": result.objective.warm_start,
        "warm_start_cost": result.objective.warm_start_cost and round(result.objective.warm_start_cost, 1),
        "planner_seconds": round(seconds, 2),
        "solver_seconds": round(result.objective.solver_seconds, 2),
        "bound_seconds": round(result.objective.bound_seconds, 2),
        "deterministic_time": round(result.objective.deterministic_time, 2),
        "neighbourhoods": result.objective.neighbourhoods,
        "improvements": result.objective.improvements,
        "stability": stability(tickets, team, resources, policy, result),
    }


def table(report: dict[str, Any]) -> str:
    """A size's figures as a text table."""
    lines = [
        f"{report['tickets']} tickets, {report['people']} people, {report['gpus']} GPUs: "
        f"{report['planned']} planned, {report['unplannable']} unplannable, "
        f"planner {report['planner_seconds']:.2f}s (search {report['solver_seconds']:.2f}s, "
        f"bound {report['bound_seconds']:.2f}s; {report['solver']} {report['status']}, "
        f"warm start {report['warm_start']} {report['warm_start_cost']}, "
        f"{report['improvements']}/{report['neighbourhoods']} neighbourhoods improved)",
        f"  {'method':<10} {'SLA-weighted lateness':>22} {'value delivered':>16} {'cost':>12}",
    ]
    for name, row in report["results"].items():
        lines.append(f"  {name:<10} {row['lateness']:>22.1f} {row['value']:>16.1f} {row['cost']:>12.1f}")
    bound = "none" if report["bound"] is None else f"{report['bound']:.1f}"
    lines.append(f"  {'bound':<10} {'':>22} {report['value_total']:>16.1f} {bound:>12}")
    if report["bound"] is not None:
        lines.append(f"  planner gap to the {report['bound_source']} bound: {report['gap']:.1%}")
    again = report["stability"]
    lines.append(
        f"  re-plan after one new ticket: {again['moved']} of {again['assignments']} assignments moved "
        f"(from scratch: {again['moved_from_scratch']}), lateness {again['lateness']:.1f} "
        f"(from scratch: {again['lateness_from_scratch']:.1f}), value {again['value']:.1f} "
        f"(from scratch: {again['value_from_scratch']:.1f}), {again['seconds']:.2f}s"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print tables, or one JSON document with ``--json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 100, 500])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--time-limit", type=float, default=None, help="CP-SAT limit (default: by size)")
    parser.add_argument("--horizon-days", type=int, default=60)
    parser.add_argument("--bound-time", type=float, default=None, help="planning.bound_time_s (default 2)")
    parser.add_argument(
        "--backlog", choices=("phased", "flat"), default="phased", help="phases and waits, or neither"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document only")
    args = parser.parse_args(argv)
    reports = []
    for count in args.sizes:
        limit = args.time_limit or (2.0 if count <= 20 else 5.0 if count <= 100 else 6.0)
        policy = PlanningPolicy(horizon_days=args.horizon_days, time_limit_s=limit)
        if args.bound_time is not None:
            policy = policy.model_copy(update={"bound_time_s": args.bound_time})
        report = run(count, args.seed, policy, args.backlog)
        reports.append(report)
        if not args.json:
            print(table(report), flush=True)
            print(flush=True)
    if args.json:
        document = {"seed": args.seed, "horizon_days": args.horizon_days, "backlog": args.backlog}
        print(json.dumps({**document, "sizes": reports}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
