"""The plan log keeps the last plans of each mode; the in-memory one and the SQL one alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from demand.plan_log import KEPT_PLANS, InMemoryPlanLog, PlanLog
from demand.stability import Planned

NOW = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


class PlanLogContract:
    """Tests for any PlanLog; subclasses provide a ``log`` fixture."""

    def test_it_implements_the_protocol(self, log):
        assert isinstance(log, PlanLog)

    def test_the_last_plan_of_each_mode_is_returned(self, log):
        assert log.last("normal") == []
        first = [Planned(1, None, "ana", NOW), Planned(2, "build", "chen", NOW + timedelta(days=1))]
        log.record(NOW, "normal", first)
        log.record(NOW, "crisis", [Planned(1, None, "bo", NOW)])
        second = [Planned(2, "provision", None, NOW), Planned(2, "build", "raj", NOW + timedelta(days=2))]
        log.record(NOW + timedelta(hours=1), "normal", second)
        assert log.last("normal") == second
        assert log.last("crisis") == [Planned(1, None, "bo", NOW)]

    def test_only_the_last_plans_are_kept(self, log):
        for i in range(KEPT_PLANS + 3):
            log.record(NOW + timedelta(hours=i), "normal", [Planned(i + 1, None, "ana", NOW)])
        assert log.last("normal") == [Planned(KEPT_PLANS + 3, None, "ana", NOW)]
        assert self.count(log, "normal") == KEPT_PLANS


class TestInMemoryPlanLog(PlanLogContract):
    @pytest.fixture
    def log(self):
        return InMemoryPlanLog()

    @staticmethod
    def count(log, mode):
        return len([p for p in log._plans if p[1] == mode])
