"""Explainable priority: a cost-of-delay score in the spirit of WSJF.

The score of a ticket is its cost of delay per person-day of work::

    score = cost_of_delay / job_size

    cost_of_delay = business + urgency + risk_reduction + tooling
      business       = value (1–10) × sponsor weight (PlanningPolicy.sponsor_weights, default 1.0)
      urgency        = SLA urgency (demand.sla.urgency): 10 at the due time, halving with
                       each week left, 10 × (1 + days overdue)² once breached
      risk_reduction = what finishing the work removes, by kind (RISK_REDUCTION):
                       data_quality 4, stale_monitoring 4, rebuild 3, ethics_review 3,
                       refresh 2, approval 2, tooling_rnd 1, new_project 0
      tooling        = for tooling_rnd only: the person-days of future work it saves
                       (``savings``) × TOOLING_POINTS_PER_DAY, at most TOOLING_CAP

    job_size = effort × (1 − reuse_discount × reused share)
      reused share   = share of the ticket's data assets already produced by done tickets
      reuse_discount = PlanningPolicy.reuse_discount (default 0.3: full re-use saves 30%)

A higher score goes first. ``risk`` (1–5) is the complexity of the work itself:
it decides who may do it (see :mod:`demand.staffing`), not how urgent it is.
:func:`score` returns every term with a one-line reason so a reader can see why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from demand import sla
from demand.tickets import Ticket
from zenops.kernel.config import PlanningPolicy

RISK_REDUCTION = {
    "data_quality": 4.0,
    "rebuild": 3.0,
    "ethics_review": 3.0,
    "refresh": 2.0,
    "tooling_rnd": 1.0,
    "new_project": 0.0,
    "approval": 2.0,
    "stale_monitoring": 4.0,
}
TOOLING_POINTS_PER_DAY = 1.0
TOOLING_CAP = 20.0


@dataclass(frozen=True)
class Term:
    """One term of the score: its value and why it has it."""

    name: str
    value: float
    why: str


@dataclass(frozen=True)
class ScoreBreakdown:
    """A ticket's priority score and each term it is made of."""

    ticket: int | None
    business: Term
    urgency: Term
    risk_reduction: Term
    tooling: Term
    size: Term

    @property
    def cost_of_delay(self) -> float:
        """Sum of the numerator's terms."""
        return self.business.value + self.urgency.value + self.risk_reduction.value + self.tooling.value

    @property
    def total(self) -> float:
        """The score: cost of delay per person-day."""
        return self.cost_of_delay / self.size.value

    @property
    def terms(self) -> tuple[Term, ...]:
        """All terms, numerator first, job size last."""
        return (self.business, self.urgency, self.risk_reduction, self.tooling, self.size)

    def explain(self) -> str:
        """One line: the score and each term with its reason."""
        parts = " + ".join(
            f"{t.name} {t.value:.1f} ({t.why})" for t in self.terms[:-1] if t.value or t is self.business
        )
        return f"score {self.total:.2f} = ({parts}) / size {self.size.value:.1f}d ({self.size.why})"

    def to_dict(self) -> dict[str, object]:
        """JSON-ready terms."""
        return {
            "total": round(self.total, 4),
            "cost_of_delay": round(self.cost_of_delay, 4),
            **{t.name: {"value": round(t.value, 4), "why": t.why} for t in self.terms},
        }


def sponsor_weight(ticket: Ticket, policy: PlanningPolicy) -> float:
    """The weight of the ticket's sponsor (1.0 when unknown)."""
    if ticket.sponsor is None:
        return 1.0
    return float(policy.sponsor_weights.get(ticket.sponsor, 1.0))


def reused_share(ticket: Ticket, done_assets: Iterable[str]) -> float:
    """Share of the ticket's data assets that done tickets already produced."""
    if not ticket.data_assets:
        return 0.0
    done = set(done_assets)
    return sum(1 for asset in ticket.data_assets if asset in done) / len(ticket.data_assets)


def job_size(ticket: Ticket, policy: PlanningPolicy, done_assets: Iterable[str] = ()) -> float:
    """Person-days the ticket still needs once re-used data is accounted for."""
    return ticket.effort * (1.0 - policy.reuse_discount * reused_share(ticket, done_assets))


def score(
    ticket: Ticket, now: datetime, policy: PlanningPolicy, done_assets: Iterable[str] = ()
) -> ScoreBreakdown:
    """The ticket's cost-of-delay score at ``now``, with every term explained."""
    weight = sponsor_weight(ticket, policy)
    why = f"value {ticket.value}"
    if ticket.sponsor is not None:
        why += f" × sponsor {ticket.sponsor} weight {weight:g}"
    business = Term("value", ticket.value * weight, why)
    urgency = Term("urgency", sla.urgency(ticket.due, now), sla.describe(ticket.due, now))
    risk = Term("risk", RISK_REDUCTION[ticket.kind], f"{ticket.kind.replace('_', ' ')} reduces risk")
    gains = 0.0
    if ticket.kind == "tooling_rnd":
        gains = min(TOOLING_CAP, ticket.savings * TOOLING_POINTS_PER_DAY)
    tooling = Term("tooling", gains, f"saves {ticket.savings:g} person-days of future work")
    share = reused_share(ticket, done_assets)
    size = job_size(ticket, policy, done_assets)
    why = f"effort {ticket.effort:g}d"
    if share:
        why += f", −{policy.reuse_discount * share:.0%} for re-used data"
    return ScoreBreakdown(
        ticket=ticket.id,
        business=business,
        urgency=urgency,
        risk_reduction=risk,
        tooling=tooling,
        size=Term("size", size, why),
    )
