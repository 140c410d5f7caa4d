"""The cost-of-delay score and the SLA clock behind it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from demand import sla
from demand.priority import RISK_REDUCTION, job_size, score
from demand.tickets import TicketDraft, new_ticket
from zenops.kernel.config import DEFAULT_SLA_TIERS, PlanningPolicy, SlaTier

NOW = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
POLICY = PlanningPolicy()


def ticket(**fields):
    fields.setdefault("kind", "refresh")
    fields.setdefault("sla", "silver")
    return new_ticket(TicketDraft(**fields), now=NOW)


def test_the_score_is_cost_of_delay_over_job_size():
    t = ticket(kind="data_quality", value=6, effort=2)
    s = score(t, NOW, POLICY)
    urgency = 10 * 2 ** (-3 / 7)
    assert s.business.value == 6
    assert s.urgency.value == pytest.approx(urgency)
    assert s.risk_reduction.value == RISK_REDUCTION["data_quality"]
    assert s.tooling.value == 0
    assert s.size.value == 2
    assert s.total == pytest.approx((6 + urgency + 4) / 2)


def test_sponsor_weights_scale_business_value():
    policy = PlanningPolicy(sponsor_weights={"retail": 1.5})
    assert score(ticket(value=8, sponsor="retail"), NOW, policy).business.value == 12
    assert score(ticket(value=8, sponsor="other"), NOW, policy).business.value == 8


def test_urgency_rises_as_due_nears_and_dominates_once_breached():
    due = NOW + timedelta(days=14)
    before = [sla.urgency(due, NOW + timedelta(days=d)) for d in (0, 7, 13, 14)]
    assert before == sorted(before)
    assert before[-1] == pytest.approx(10)
    assert sla.urgency(due, due + timedelta(days=1)) == pytest.approx(40)
    assert sla.urgency(due, due + timedelta(days=2)) == pytest.approx(90)
    assert sla.urgency(due, due + timedelta(days=3)) > 10 * 10  # beyond value 10 even at sponsor weight 10


def test_a_breached_ticket_outranks_a_more_valuable_fresh_one():
    breached = ticket(value=2, due=NOW - timedelta(days=2))
    fresh = ticket(value=10, due=NOW + timedelta(days=30))
    assert score(breached, NOW, POLICY).total > score(fresh, NOW, POLICY).total


def test_tooling_gains_count_for_tooling_rnd_only():
    rnd = ticket(kind="tooling_rnd", savings=8, effort=4)
    assert score(rnd, NOW, POLICY).tooling.value == 8
    assert score(ticket(kind="refresh", savings=8), NOW, POLICY).tooling.value == 0


def test_data_reuse_shrinks_the_job():
    t = ticket(effort=10, data_assets=["a", "b"])
    assert job_size(t, POLICY, {"a"}) == pytest.approx(10 * (1 - 0.3 * 0.5))
    s = score(t, NOW, POLICY, done_assets={"a", "b"})
    assert s.size.value == pytest.approx(7)
    assert "re-used data" in s.size.why


def test_explain_is_one_line_with_every_term():
    s = score(ticket(kind="tooling_rnd", savings=3, value=7), NOW, POLICY)
    line = s.explain()
    assert "\n" not in line
    for word in ("score", "value", "urgency", "risk", "tooling", "size"):
        assert word in line
    assert set(s.to_dict()) >= {"total", "value", "urgency", "risk", "tooling", "size"}


def test_tier_weights_default_from_refresh_speed():
    weights = sla.tier_weights(DEFAULT_SLA_TIERS)
    assert weights == {"gold": 3.5, "silver": 1.0}
    assert SlaTier(refresh="1d", rebuild="2d", data_quality="1d", weight=9).lateness_weight == 9


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    value=st.integers(1, 10),
    effort=st.floats(0.1, 50),
    days=st.floats(-30, 90),
    later=st.floats(0, 10),
)
def test_scores_are_positive_and_never_fall_as_time_passes(value, effort, days, later):
    t = ticket(value=value, effort=effort, due=NOW + timedelta(days=days))
    first = score(t, NOW, POLICY).total
    assert first > 0
    assert score(t, NOW + timedelta(days=later), POLICY).total >= first - 1e-9
