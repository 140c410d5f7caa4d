"""Which batches keep Evidently's reports: the ``html_reports`` policy and the report cadence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from zenops.services.monitor.records import BatchOutcome, wants_html

MONDAY = datetime(2024, 7, 1, 9, tzinfo=UTC)


def outcome(verdict: str = "ok", ticket_created: bool = False) -> BatchOutcome:
    return BatchOutcome(
        model="m", batch="b.csv", rows=10, verdict=verdict, reasons=[], ticket_created=ticket_created
    )


def keeps(policy: str, cadence: str, last: datetime | None, now: datetime, verdict: str = "ok") -> bool:
    return wants_html(policy, outcome(verdict), "ok", cadence, last, now)


@pytest.mark.parametrize(
    ("cadence", "now", "kept"),
    [
        ("daily", MONDAY + timedelta(hours=3), False),  # the same day
        ("daily", MONDAY + timedelta(days=1), True),  # the next day
        ("weekly", MONDAY + timedelta(days=6), False),  # Sunday of the same ISO week
        ("weekly", MONDAY + timedelta(days=7), True),  # the next Monday
        ("none", MONDAY + timedelta(days=30), False),
    ],
)
def test_the_cadence_keeps_the_first_batch_of_each_period(cadence: str, now: datetime, kept: bool) -> None:
    assert keeps("on_change", cadence, MONDAY, now) is kept


def test_the_periods_are_read_in_utc() -> None:
    late = datetime(2024, 7, 1, 23, 30, tzinfo=UTC)
    # Still July 1st at UTC-5, already July 2nd in UTC.
    next_morning_elsewhere = datetime(2024, 7, 2, 1, 0, tzinfo=UTC).astimezone(timezone(timedelta(hours=-5)))
    assert keeps("on_change", "daily", late, next_morning_elsewhere) is True


def test_a_model_that_never_kept_a_report_keeps_the_next_one() -> None:
    assert keeps("on_change", "weekly", None, MONDAY) is True
    assert keeps("on_change", "none", None, MONDAY) is False


def test_never_keeps_nothing_whatever_the_cadence() -> None:
    assert keeps("never", "daily", None, MONDAY + timedelta(days=9), verdict="drift") is False


def test_the_policy_still_keeps_what_it_keeps_between_periods() -> None:
    same_day = MONDAY + timedelta(hours=1)
    assert keeps("on_change", "daily", MONDAY, same_day, verdict="drift") is True  # a verdict change
    assert keeps("on_alert", "daily", MONDAY, same_day, verdict="warn") is True
    assert keeps("on_alert", "daily", MONDAY, same_day) is False
    assert keeps("always", "none", MONDAY, same_day) is True
