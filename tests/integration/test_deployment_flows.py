"""The deployments as Prefect builds them: each entrypoint a flow of its name, schedules and triggers."""

from __future__ import annotations

from pathlib import Path

from flows.deployments import definitions
from zenops.kernel.config import parse_config


def test_every_entrypoint_is_an_importable_flow_with_the_name_it_is_deployed_under() -> None:
    from prefect.flows import Flow
    from prefect.utilities.importtools import import_object

    for item in definitions():
        flow = import_object(item.entrypoint)
        assert isinstance(flow, Flow)
        assert flow.name == item.flow_name
        assert "workspace" in flow.parameters.properties


def test_the_built_deployments_carry_schedules_triggers_and_limits(tmp_path: Path) -> None:
    from flows.deployments import runner_deployments

    config = parse_config({"schedules": {"timezone": "Europe/Paris"}})
    built = {d.name: d for d in runner_deployments(config, str(tmp_path))}
    expected = {"monitor", "plan", "sla-watch", "refresh", "rollback", "train", "evaluate-candidate"}
    assert set(built) == expected
    monitor = built["monitor"]
    assert monitor.parameters == {"workspace": str(tmp_path)}
    assert monitor.schedules[0].schedule.cron == "0 * * * *"
    assert monitor.schedules[0].schedule.timezone == "Europe/Paris"
    assert monitor.concurrency_options.collision_strategy.value == "CANCEL_NEW"
    (trigger,) = built["refresh"].triggers
    assert trigger.expect == {"zenops.model.degraded"}
    (candidate,) = built["evaluate-candidate"].triggers
    assert candidate.expect == {"zenops.candidate.registered"}
    assert built["train"].schedules == [] and built["train"].triggers == []
