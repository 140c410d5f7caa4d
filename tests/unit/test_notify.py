"""Notifications without the network: messages, routing, ``${NAME}`` expansion, error lines.

Sending goes through a fake sender that records what it was asked to send; the
real Apprise sender is exercised against real HTTP endpoints in
``tests/integration/test_notifications.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from zenops.bootstrap import check_notifications
from zenops.kernel.config import Notifications, parse_config
from zenops.kernel.errors import ConfigError
from zenops.services.messages import (
    Escalation,
    Links,
    Message,
    escalation_message,
    flow_failure_message,
    flow_run_url,
    handback_message,
    incident_message,
    mlflow_run_url,
    mlflow_ui_base,
    prefect_ui_base,
)
from zenops.services.notify import (
    Delivery,
    Target,
    deliver,
    escalation_targets,
    expand,
    notify_escalations,
    notify_flow_failure,
    notify_handback,
    notify_incident,
    oncall_targets,
    owner_targets,
    sponsor_targets,
)
from zenops.workspace import Workspace

ONCALL = "json://127.0.0.1:9/oncall"
OWNER = "json://127.0.0.1:9/owner"
SPONSOR = "json://127.0.0.1:9/sponsor"
FALLBACK = "json://127.0.0.1:9/fallback"
FLOW_RUN = "0b5c6d2e-1111-2222-3333-444455556666"


class RecordingSender:
    """A sender that records each message and its targets, and answers per URL."""

    def __init__(self, failing: Sequence[str] = ()) -> None:
        self.sent: list[tuple[Message, list[Target]]] = []
        self.failing = set(failing)

    def send(self, message: Message, targets: Sequence[Target]) -> list[Delivery]:
        self.sent.append((message, list(targets)))
        return [
            Delivery(t.field, t.url, t.url not in self.failing, "HTTP 500" if t.url in self.failing else None)
            for t in targets
        ]

    def urls(self) -> list[list[str]]:
        return [[t.url for t in targets] for _, targets in self.sent]


class BrokenSender:
    def send(self, message: Message, targets: Sequence[Target]) -> list[Delivery]:
        raise RuntimeError("the sender fell over")


NOTIFICATIONS = Notifications(
    oncall=[ONCALL],
    owners={"ds-credit": [OWNER], "silent": []},
    sponsors={"retail-credit": [SPONSOR]},
    fallback=[FALLBACK],
)


def config_with(**notifications):
    return parse_config({"notifications": notifications})


def workspace_with(tmp_path: Path, notifications: dict, models: bool = True) -> Workspace:
    from zenops.workspace import example_config

    data = yaml.safe_load(example_config()) if models else {}
    data["notifications"] = notifications
    (tmp_path / "zenops.yaml").write_text(yaml.safe_dump(data))
    return Workspace(tmp_path)


@pytest.fixture(autouse=True)
def no_prefect_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PREFECT_UI_URL", "PREFECT_API_URL"):
        monkeypatch.delenv(name, raising=False)


def escalation(level: str = "near", sponsor: str | None = "retail-credit", hours_left: float = 6.0):
    return Escalation(
        ticket=12,
        kind="refresh",
        model="loan-default",
        sponsor=sponsor,
        title="Refresh loan-default: drift or performance drop",
        level=level,
        due=datetime(2024, 7, 5, 12, 0, tzinfo=UTC),
        hours_left=hours_left,
    )


OUTCOME = {
    "model": "loan-default",
    "batch": "2024-07-03.csv",
    "rows": 300,
    "verdict": "refresh",
    "reasons": ["4 of 9 features drifted (44%)\n for 2 batches in a row"],
    "drift_share": 4 / 9,
    "drifted_features": [{"feature": f"f{i}", "p_value": 10.0 ** -(12 - i)} for i in range(7)],
    "performance": {"kind": "estimated", "metric": "roc_auc", "value": 0.69, "baseline": 0.76},
    "ticket": 3,
    "ticket_created": True,
    "report_uri": "file:///ws/.zenops/reports/report.html",
    "run_id": "abc123",
    "champion_version": "1",
}

HANDBACK = {
    "model": "loan-default",
    "decision": "handed_back",
    "champion_version": "1",
    "challenger_version": "2",
    "comparison": {"promote": False, "reasons": ["roc_auc +1.2% is not surely above the margin 90.00%"]},
    "ticket": 4,
    "rebuild_ticket": 5,
    "dossier": "/ws/.zenops/dossiers/loan-default-rebuild.md",
}


# -- ${NAME} expansion and the error lines -------------------------------------------------


def test_environment_variables_are_expanded_in_urls() -> None:
    target = Target("notifications.owners.ds-credit", "slack://${SLACK_TOKEN}/#${CHANNEL}")
    assert (
        expand(target, {"SLACK_TOKEN": "xoxb-1-2-abc", "CHANNEL": "ops"}).url == "slack://xoxb-1-2-abc/#ops"
    )
    assert expand(Target("f", "json://host/path"), {}).url == "json://host/path"


def test_an_unset_variable_is_a_config_error_naming_the_field() -> None:
    target = Target("notifications.owners.ds-credit", "slack://${SLACK_TOKEN}/#ops")
    with pytest.raises(ConfigError) as error:
        expand(target, {})
    assert str(error.value) == (
        "zenops.yaml: notifications.owners.ds-credit: environment variable SLACK_TOKEN is not set"
    )
    with pytest.raises(ConfigError, match="environment variable SLACK_TOKEN is empty"):
        expand(target, {"SLACK_TOKEN": ""})
    with pytest.raises(ConfigError, match=r"'\$\{not a name\}' is not an environment variable name"):
        expand(Target("notifications.oncall", "json://h/${not a name}"), {})


def test_check_notifications_validates_every_url_without_sending() -> None:
    config = config_with(
        oncall=["json://127.0.0.1:9/oncall", "slack://${SLACK_TOKEN}/#ops"],
        owners={"ds-credit": ["mailto://user:${MAIL_PASSWORD}@example.com"]},
        sponsors={"retail-credit": ["json://127.0.0.1:9/sponsor"]},
        fallback=["json://127.0.0.1:9/fallback"],
    )
    env = {"SLACK_TOKEN": "xoxb-1234-1234-abc123", "MAIL_PASSWORD": "secret"}
    assert check_notifications(config, env) == 5
    assert check_notifications(config_with(), {}) == 0
    with pytest.raises(ConfigError) as error:
        check_notifications(config, {"SLACK_TOKEN": "xoxb-1234-1234-abc123"})
    assert str(error.value) == (
        "zenops.yaml: notifications.owners.ds-credit: environment variable MAIL_PASSWORD is not set"
    )
    with pytest.raises(ConfigError) as error:
        check_notifications(config, {"MAIL_PASSWORD": "x"})
    assert str(error.value).startswith(
        "zenops.yaml: notifications.oncall[1]: environment variable SLACK_TOKEN"
    )


@pytest.mark.parametrize(
    ("notifications", "field"),
    [
        ({"oncall": ["nosuchservice://host/path"]}, "notifications.oncall"),
        ({"sponsors": {"retail-credit": ["json://"]}}, "notifications.sponsors.retail-credit"),
        ({"fallback": ["json://127.0.0.1/x", "gibberish://"]}, "notifications.fallback[1]"),
    ],
)
def test_a_url_apprise_does_not_recognise_is_a_config_error_naming_the_field(
    notifications: dict, field: str
) -> None:
    with pytest.raises(ConfigError) as error:
        check_notifications(config_with(**notifications), {}, source="/ws/zenops.yaml")
    assert str(error.value).startswith(f"/ws/zenops.yaml: {field}: '")
    assert "is not a URL Apprise can send to" in str(error.value)


# -- routing -------------------------------------------------------------------------------


def test_routing_by_audience_with_fallback() -> None:
    assert oncall_targets(NOTIFICATIONS) == [Target("notifications.oncall", ONCALL)]
    assert owner_targets(NOTIFICATIONS, "ds-credit") == [Target("notifications.owners.ds-credit", OWNER)]
    assert owner_targets(NOTIFICATIONS, "ds-supply") == [Target("notifications.fallback", FALLBACK)]
    assert owner_targets(NOTIFICATIONS, None) == [Target("notifications.fallback", FALLBACK)]
    assert owner_targets(NOTIFICATIONS, "silent") == []  # an entry of its own, even empty, wins
    assert sponsor_targets(NOTIFICATIONS, "retail-credit") == [
        Target("notifications.sponsors.retail-credit", SPONSOR)
    ]
    assert sponsor_targets(NOTIFICATIONS, "supply-chain") == [Target("notifications.fallback", FALLBACK)]
    assert oncall_targets(Notifications()) == [] and owner_targets(Notifications(), "x") == []


def test_an_escalation_goes_to_the_sponsor_and_once_breached_to_the_oncall_too() -> None:
    assert [t.url for t in escalation_targets(NOTIFICATIONS, escalation("near"))] == [SPONSOR]
    assert [t.url for t in escalation_targets(NOTIFICATIONS, escalation("breached", hours_left=-3))] == [
        SPONSOR,
        ONCALL,
    ]
    assert [t.url for t in escalation_targets(NOTIFICATIONS, escalation("near", sponsor=None))] == [FALLBACK]


def test_deliver_sends_each_url_once_and_nothing_when_no_url_applies() -> None:
    sender = RecordingSender()
    message = Message("t", "b")
    config = config_with(oncall=[ONCALL])
    assert deliver(config, message, [], sender) == []
    assert sender.sent == []
    targets = [Target("notifications.sponsors.x", ONCALL), Target("notifications.oncall", ONCALL)]
    (delivery,) = deliver(config, message, targets, sender)
    assert delivery == Delivery("notifications.sponsors.x", ONCALL, True)
    assert sender.urls() == [[ONCALL]]


def test_a_failed_delivery_is_logged_and_returned_never_raised(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="zenops.notify")
    config = config_with()
    targets = [
        Target("notifications.oncall[0]", ONCALL),
        Target("notifications.oncall[1]", "slack://${UNSET_TOKEN_FOR_TEST}/#ops"),
        Target("notifications.oncall[2]", FALLBACK),
    ]
    deliveries = deliver(
        config, Message("Incident", "b"), targets, RecordingSender(failing=[FALLBACK]), env={}
    )
    by_field = {d.audience: d for d in deliveries}
    assert by_field["notifications.oncall[0]"].ok
    assert not by_field["notifications.oncall[1]"].ok
    assert "environment variable UNSET_TOKEN_FOR_TEST is not set" in by_field["notifications.oncall[1]"].error
    assert by_field["notifications.oncall[1]"].target == "slack://"  # nothing of the secret
    assert by_field["notifications.oncall[2]"].error == "HTTP 500"
    failures = [r for r in caplog.records if r.name == "zenops.notify" and r.levelno == logging.WARNING]
    assert len(failures) == 2 and all("Incident" in r.getMessage() for r in failures)

    broken = deliver(config, Message("t", "b"), [Target("notifications.oncall", ONCALL)], BrokenSender())
    assert broken == [
        Delivery("notifications.oncall", "json://", False, "RuntimeError: the sender fell over")
    ]


# -- links ---------------------------------------------------------------------------------


def test_the_prefect_ui_link() -> None:
    assert (
        prefect_ui_base("https://prefect.example/", "http://ui", "http://api/api")
        == "https://prefect.example"
    )
    assert prefect_ui_base(None, "http://ui:4200/", "http://api/api") == "http://ui:4200"
    assert prefect_ui_base(None, None, "http://127.0.0.1:4200/api") == "http://127.0.0.1:4200"
    assert prefect_ui_base(None, None, "http://127.0.0.1:4200/api/") == "http://127.0.0.1:4200"
    assert prefect_ui_base(None, "", None) is None
    assert (
        flow_run_url("http://127.0.0.1:4200", FLOW_RUN) == f"http://127.0.0.1:4200/runs/flow-run/{FLOW_RUN}"
    )
    assert flow_run_url(None, FLOW_RUN) is None and flow_run_url("http://ui", None) is None


def test_the_mlflow_run_link() -> None:
    assert mlflow_ui_base("https://mlflow.example/", "sqlite:///x.db") == "https://mlflow.example"
    assert mlflow_ui_base(None, "http://mlflow:5000/") == "http://mlflow:5000"
    assert mlflow_ui_base(None, "sqlite:////ws/.zenops/mlflow.db") is None
    assert mlflow_ui_base(None, "databricks") is None
    assert mlflow_run_url("http://mlflow:5000", "7", "abc") == "http://mlflow:5000/#/experiments/7/runs/abc"
    assert mlflow_run_url("http://mlflow:5000", None, "abc") is None
    assert mlflow_run_url(None, "7", "abc") is None


# -- the messages --------------------------------------------------------------------------


def test_the_incident_message_names_model_verdict_reasons_features_ticket_and_links() -> None:
    links = Links(
        flow_run=f"http://ui/runs/flow-run/{FLOW_RUN}",
        mlflow_run="http://mlflow/#/experiments/1/runs/abc123",
        report="file:///ws/.zenops/reports/report.html",
    )
    message = incident_message(OUTCOME, links)
    assert message.title == "zenops: loan-default needs a refresh (ticket #3)"
    assert message.severity == "warning"
    body = message.body
    assert "**loan-default**: verdict **refresh** on batch `2024-07-03.csv` (champion version 1)" in body
    assert "- 4 of 9 features drifted (44%) for 2 batches in a row" in body  # one line
    assert "f0 (p=1.0e-12), f1 (p=1.0e-11)" in body and "f4" in body and "f5 (" not in body
    assert "and 2 more" in body
    assert "Drift share: 44% of features" in body
    assert "roc_auc 0.6900 against 0.7600 on the holdout (estimated)" in body
    assert "#3 (`zenops tickets show 3`)" in body
    assert f"http://ui/runs/flow-run/{FLOW_RUN}" in body
    assert "http://mlflow/#/experiments/1/runs/abc123" in body
    assert "Evidently report: file:///ws/.zenops/reports/report.html" in body


def test_a_link_that_cannot_be_built_is_left_out() -> None:
    body = incident_message({**OUTCOME, "drifted_features": [], "performance": None}, Links()).body
    assert "Links" not in body and "Prefect" not in body and "MLflow" not in body
    assert "drifted features" not in body
    assert incident_message({**OUTCOME, "verdict": "data_quality"}, Links()).severity == "failure"


def test_the_handback_message_says_why_and_points_to_the_rebuild_ticket_and_dossier() -> None:
    message = handback_message(HANDBACK, Links(flow_run="http://ui/runs/flow-run/x"))
    assert message.title == "zenops: loan-default handed back for a rebuild (ticket #5)"
    assert "**handed back**" in message.body
    assert "challenger (version 2) did not replace the champion (version 1)" in message.body
    assert "- roc_auc +1.2% is not surely above the margin 90.00%" in message.body
    assert "Rebuild ticket: #5" in message.body and "Refresh ticket (done): #4" in message.body
    assert "Dossier: `/ws/.zenops/dossiers/loan-default-rebuild.md`" in message.body
    assert "`models:/loan-default/2`" in message.body
    assert "http://ui/runs/flow-run/x" in message.body


def test_the_escalation_messages_name_ticket_model_level_and_due_time() -> None:
    near = escalation_message(escalation("near", hours_left=6.0), Links(flow_run="http://ui/runs/flow-run/w"))
    assert near.title == "zenops: ticket #12 (refresh of loan-default) is near its SLA"
    assert "is due 2024-07-05 12:00 UTC, in 6.0 h" in near.body
    assert "Level: **near**" in near.body and "Model: loan-default" in near.body
    assert "Sponsor: retail-credit" in near.body and "`zenops tickets show 12`" in near.body
    assert "http://ui/runs/flow-run/w" in near.body and near.severity == "warning"
    late = escalation_message(escalation("breached", hours_left=-3.25), Links())
    assert late.title == "zenops: SLA breached on ticket #12 (refresh of loan-default)"
    assert "was due 2024-07-05 12:00 UTC, 3.2 h ago" in late.body and late.severity == "failure"


def test_the_flow_failure_message() -> None:
    message = flow_failure_message(
        "monitor-models",
        "monitor ws",
        "Failed",
        "Flow run encountered an exception: ZenopsError: monitoring failed\nfor loan-default",
        Links(flow_run="http://ui/runs/flow-run/f"),
    )
    assert message.title == "zenops: flow run monitor ws failed"
    assert "Flow **monitor-models**, run `monitor ws`, ended **Failed**." in message.body
    assert "ZenopsError: monitoring failed for loan-default" in message.body
    assert "http://ui/runs/flow-run/f" in message.body and message.severity == "failure"


# -- what the flows call, with a fake sender ------------------------------------------------


def test_notify_incident_goes_to_the_oncall_with_the_flow_run_link(tmp_path: Path) -> None:
    ws = workspace_with(tmp_path, {"oncall": [ONCALL], "fallback": [FALLBACK], "ui_url": "http://ui:4200/"})
    sender = RecordingSender()
    (delivery,) = notify_incident(ws, ws.config.model("loan-default"), OUTCOME, FLOW_RUN, sender=sender)
    assert delivery.ok and sender.urls() == [[ONCALL]]
    ((message, _),) = sender.sent
    assert f"http://ui:4200/runs/flow-run/{FLOW_RUN}" in message.body
    assert "MLflow" not in message.body  # a SQLite tracking store has no UI to link to


def test_notify_handback_goes_to_the_owner_not_the_sponsor(tmp_path: Path) -> None:
    ws = workspace_with(
        tmp_path,
        {"owners": {"ds-credit": [OWNER]}, "sponsors": {"retail-credit": [SPONSOR]}, "ui_url": "http://ui"},
    )
    sender = RecordingSender()
    notify_handback(ws, ws.config.model("loan-default"), HANDBACK, FLOW_RUN, sender=sender)
    assert sender.urls() == [[OWNER]]
    # demand-forecast's owner has no entry and there is no fallback: nothing is sent.
    assert notify_handback(ws, ws.config.model("demand-forecast"), HANDBACK, None, sender=sender) == []
    assert len(sender.sent) == 1


def test_notify_escalations_sends_one_message_per_ticket(tmp_path: Path) -> None:
    ws = workspace_with(
        tmp_path, {"oncall": [ONCALL], "sponsors": {"retail-credit": [SPONSOR]}, "fallback": [FALLBACK]}
    )
    sender = RecordingSender()
    items = [escalation("near"), escalation("breached", sponsor="supply-chain", hours_left=-2.0)]
    deliveries = notify_escalations(ws, items, flow_run_id=FLOW_RUN, sender=sender)
    assert sender.urls() == [[SPONSOR], [FALLBACK, ONCALL]]
    assert len(deliveries) == 3 and all(d.ok for d in deliveries)
    assert notify_escalations(ws, [], sender=sender) == []


def test_the_functions_the_flows_call_never_raise(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ws = workspace_with(tmp_path, {"oncall": [ONCALL], "ui_url": "http://ui"})
    spec = ws.config.model("loan-default")
    (failed,) = notify_incident(ws, spec, OUTCOME, FLOW_RUN, sender=BrokenSender())
    assert not failed.ok
    (tmp_path / "zenops.yaml").write_text("notifications: {oncall: 3}\n")
    broken = Workspace(tmp_path)
    assert notify_incident(broken, spec, OUTCOME, FLOW_RUN, sender=RecordingSender()) == []
    assert notify_handback(broken, spec, HANDBACK, FLOW_RUN, sender=RecordingSender()) == []
    assert notify_escalations(broken, [escalation()], flow_run_id="x", sender=RecordingSender()) == []
    assert any("could not notify" in r.getMessage() for r in caplog.records)


def flow_run(parameters: dict, name: str = "monitor ws"):
    return SimpleNamespace(id=FLOW_RUN, name=name, parameters=parameters, flow_name="monitor-models")


def failed_state(message: str = "Flow run encountered an exception: ZenopsError: boom"):
    return SimpleNamespace(name="Failed", message=message)


def test_the_flow_failure_hook_tells_the_oncall(tmp_path: Path) -> None:
    ws = workspace_with(tmp_path, {"oncall": [ONCALL], "ui_url": "http://ui:4200"}, models=False)
    sender = RecordingSender()
    flow = SimpleNamespace(name="monitor-models")
    assert (
        notify_flow_failure(flow, flow_run({"workspace": str(ws.root)}), failed_state(), sender=sender)
        is None
    )
    ((message, targets),) = sender.sent
    assert [t.url for t in targets] == [ONCALL]
    assert "Flow **monitor-models**, run `monitor ws`, ended **Failed**." in message.body
    assert "ZenopsError: boom" in message.body
    assert f"http://ui:4200/runs/flow-run/{FLOW_RUN}" in message.body


def test_the_flow_failure_hook_logs_and_returns_without_a_workspace(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sender = RecordingSender()
    flow = SimpleNamespace(name="plan-demand")
    notify_flow_failure(flow, flow_run({}), failed_state(), sender=sender)
    notify_flow_failure(
        flow, flow_run({"workspace": str(tmp_path / "nowhere")}), failed_state(), sender=sender
    )
    (tmp_path / "zenops.yaml").write_text("notifications: {oncall: [42]}\n")
    notify_flow_failure(flow, flow_run({"workspace": str(tmp_path)}), failed_state(), sender=sender)
    assert sender.sent == []
    messages = [r.getMessage() for r in caplog.records if r.name == "zenops.notify"]
    assert any("has no workspace parameter" in m for m in messages)
    assert sum("to notify a failure" in m for m in messages) == 2
