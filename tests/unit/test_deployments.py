"""The deployments: prefect.yaml declares exactly what ``zenops serve`` serves."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from flows.deployments import candidate_trigger, definitions, refresh_trigger, stale_trigger
from zenops.kernel.config import Schedules, parse_config
from zenops.kernel.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def declared() -> dict[str, dict]:
    document = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    return {item["name"]: item for item in document["deployments"]}


def test_prefect_yaml_declares_every_definition_at_the_default_schedules() -> None:
    found = declared()
    assert sorted(found) == sorted(d.name for d in definitions())
    for item in definitions():
        entry = found[item.name]
        assert entry["entrypoint"] == item.entrypoint
        assert entry["description"].split() == item.description.split()
        assert entry["parameters"] == {"workspace": "{{ $ZENOPS_WORKSPACE }}", **item.parameters}
        assert entry["work_pool"]["name"] == "zenops"
        crons = [s["cron"] for s in entry.get("schedules", [])]
        assert crons == ([item.cron] if item.cron else [])
        assert all(s["timezone"] == "UTC" for s in entry.get("schedules", []))
        limit = entry.get("concurrency_limit")
        assert (limit == {"limit": 1, "collision_strategy": "CANCEL_NEW"}) == item.one_at_a_time
        assert entry.get("triggers", []) == ([item.trigger] if item.trigger else [])


def test_the_refresh_trigger_fires_once_per_model_and_verdict_per_debounce() -> None:
    trigger = refresh_trigger(timedelta(minutes=30))
    assert trigger["expect"] == ["zenops.model.degraded"]
    assert trigger["match"] == {"prefect.resource.id": "zenops.model.*"}
    # A rebuild verdict after a refresh verdict is another incident: it gets its own refresh.
    assert trigger["for_each"] == ["prefect.resource.id", "zenops.verdict"]
    assert (trigger["posture"], trigger["threshold"], trigger["within"]) == ("Reactive", 1, 1800)
    assert trigger["parameters"]["model"] == "{{ event.payload.model }}"
    assert trigger["parameters"]["ticket"] == "{{ event.payload.refresh_ticket }}"
    assert trigger["parameters"]["on_event"] is True


def test_the_candidate_trigger_evaluates_each_version_once_per_debounce() -> None:
    trigger = candidate_trigger(timedelta(hours=1))
    assert trigger["expect"] == ["zenops.candidate.registered"]
    assert trigger["for_each"] == ["prefect.resource.id", "zenops.version"]
    assert (trigger["posture"], trigger["threshold"], trigger["within"]) == ("Reactive", 1, 3600)
    assert trigger["parameters"] == {
        "model": "{{ event.payload.model }}",
        "version": "{{ event.payload.version }}",
        "ticket": "{{ event.payload.ticket }}",
        "on_event": True,
    }


def test_the_sla_watch_runs_when_no_monitor_run_completes_within_stale_after() -> None:
    trigger = stale_trigger(timedelta(hours=3))
    assert (trigger["posture"], trigger["threshold"], trigger["within"]) == ("Proactive", 1, 10800)
    assert trigger["expect"] == ["prefect.flow-run.Completed"]
    assert trigger["match_related"] == {
        "prefect.resource.role": "flow",
        "prefect.resource.name": "monitor-models",
    }
    config = parse_config({"schedules": {"monitor": "*/20 * * * *"}})
    by_name = {d.name: d for d in definitions(config.schedules, config.stale_after)}
    assert by_name["sla-watch"].trigger["within"] == 3600  # three 20-minute intervals
    assert config.stale_after == timedelta(hours=1)
    assert parse_config({"monitoring": {"stale_after": "90m"}}).stale_after == timedelta(minutes=90)


def test_schedules_come_from_zenops_yaml() -> None:
    config = parse_config({"schedules": {"monitor": "*/15 * * * *", "refresh_debounce": "2h"}})
    by_name = {d.name: d for d in definitions(config.schedules)}
    assert by_name["monitor"].cron == "*/15 * * * *"
    assert by_name["plan"].cron == Schedules().plan
    assert by_name["refresh"].trigger["within"] == 7200


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"schedules": {"monitor": "hourly"}}, "schedules.monitor: 'hourly' is not a cron expression"),
        (
            {"schedules": {"timezone": "Mars/Olympus"}},
            "schedules.timezone: 'Mars/Olympus' is not a time zone",
        ),
        ({"schedules": {"refresh_debounce": "soon"}}, "schedules.refresh_debounce"),
        ({"schedules": {"every": "1h"}}, "schedules.every: unknown key"),
        ({"monitoring": {"runner": "ray"}}, "monitoring.runner"),
        ({"monitoring": {"dask_address": "tcp://h:8786"}}, "dask_address: only used with runner: dask"),
        ({"monitoring": {"runner": "dask", "dask_address": "h:8786"}}, "is not a Dask scheduler address"),
        ({"monitoring": {"retries": -1}}, "monitoring.retries"),
        ({"monitoring": {"stale_after": "often"}}, "monitoring.stale_after"),
        ({"models": [{"promotion": {"approval": "maybe"}}]}, "models[0]"),
        ({"notifications": {"oncall": ["not a url"]}}, "notifications.oncall: 'not a url'"),
        ({"notifications": {"owners": {"ds": "json://h/x"}}}, "notifications.owners.ds"),
        ({"sla_watch": {"near_share": 1.5}}, "sla_watch.near_share"),
        ({"sla_watch": {"kinds": ["outage"]}}, "sla_watch.kinds: 'outage' is not a ticket kind"),
    ],
)
def test_bad_unattended_settings_name_the_field(data: dict, fragment: str) -> None:
    with pytest.raises(ConfigError, match="^zenops.yaml: ") as raised:
        parse_config(data)
    assert fragment in str(raised.value)
    assert "\n" not in str(raised.value)
