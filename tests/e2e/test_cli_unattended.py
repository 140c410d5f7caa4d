"""The unattended commands from the command line: the SLA watch, and serve/server refusing bad set-ups."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import yaml

from tests.loopback import Endpoints, closed_port

ZENOPS = str(Path(sys.executable).with_name("zenops"))


def workspace(root: Path, **sections) -> Path:
    """``root``, a workspace ``zenops init`` made, with ``sections`` in its ``zenops.yaml``."""
    config = yaml.safe_load((root / "zenops.yaml").read_text())
    config.update(sections)
    (root / "zenops.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return root


def bare(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """``zenops`` with no Prefect API configured (and ``env`` added)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "ZENOPS_"))}
    return subprocess.run(
        [ZENOPS, *args], env={**clean, **(env or {})}, cwd=cwd, capture_output=True, text=True, timeout=300
    )


def one_line(done: subprocess.CompletedProcess, code: int, *fragments: str) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert len(lines) == 1, done.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def test_the_sla_watch_escalates_each_level_once_and_tells_the_sponsor(zenops, initialized: Path) -> None:
    endpoints = Endpoints()
    try:
        root = workspace(
            initialized,
            notifications={
                "oncall": [endpoints.url("oncall")],
                "sponsors": {"retail-credit": [endpoints.url("sponsor")]},
            },
        )
        at = {"ZENOPS_NOW": "2025-03-03T09:00:00+00:00"}
        opened = zenops(
            "--workspace",
            str(root),
            "tickets",
            "new",
            "--json",
            "--kind",
            "refresh",
            "--title",
            "Refresh loan-default",
            "--model",
            "loan-default",
            env=at,
        )
        assert opened.code == 0, opened.stderr
        ticket = opened.json()["ticket"]["id"]  # gold: due in 2 days

        def watch(now: str) -> dict:
            done = zenops("--workspace", str(root), "sla-watch", "--json", env={"ZENOPS_NOW": now})
            assert done.code == 0, done.stderr
            return done.json()

        assert watch("2025-03-04T09:00:00+00:00")["escalations"] == []  # half the window left
        (near,) = watch("2025-03-04T23:00:00+00:00")["escalations"]
        assert (near["ticket"], near["level"], near["sponsor"]) == (ticket, "near", "retail-credit")
        assert watch("2025-03-05T01:00:00+00:00")["escalations"] == []  # near once
        (breach,) = watch("2025-03-05T10:00:00+00:00")["escalations"]
        assert breach["level"] == "breached" and breach["hours_left"] == -1.0
        assert watch("2025-03-06T10:00:00+00:00")["escalations"] == []

        shown = zenops("--workspace", str(root), "tickets", "show", str(ticket), "--json").json()
        levels = [e["level"] for e in shown["evidence"] if e.get("event") == "sla_escalation"]
        assert levels == ["near", "breached"]
        assert len(endpoints.bodies("sponsor")) == 2
        (breached,) = endpoints.bodies("oncall")  # the on-call hears of the breach only
        assert "loan-default" in breached["title"] + breached["message"]
    finally:
        endpoints.close()


def test_serve_needs_a_prefect_server(initialized: Path) -> None:
    root = workspace(initialized)
    one_line(bare("--workspace", str(root), "serve"), 2, "PREFECT_API_URL: not set", "zenops server")
    down = f"http://127.0.0.1:{closed_port()}/api"
    one_line(
        bare("--workspace", str(root), "serve", env={"PREFECT_API_URL": down}),
        1,
        f"Prefect API {down}: not reachable",
    )


def test_serve_refuses_a_notification_url_whose_secret_is_not_set(initialized: Path) -> None:
    root = workspace(initialized, notifications={"owners": {"ds-credit": ["slack://${ZZ_SLACK_TOKEN}/#ds"]}})
    one_line(
        bare("--workspace", str(root), "serve", env={"PREFECT_API_URL": "http://127.0.0.1:9/api"}),
        2,
        "notifications.owners.ds-credit",
        "ZZ_SLACK_TOKEN is not set",
    )


def test_server_refuses_a_port_in_use(initialized: Path) -> None:
    root = workspace(initialized)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = bare("--workspace", str(root), "server", "--prefect-port", str(port))
    one_line(done, 2, f"--prefect-port: 127.0.0.1:{port} is already in use")
    assert not (root / ".zenops" / "prefect").exists() or not any((root / ".zenops" / "prefect").iterdir())


def test_a_bad_schedule_is_refused_before_anything_runs(initialized: Path) -> None:
    root = workspace(initialized, schedules={"monitor": "every hour"})
    done = bare("--workspace", str(root), "serve", env={"PREFECT_API_URL": "http://127.0.0.1:9/api"})
    one_line(done, 2, "zenops.yaml: schedules.monitor: 'every hour' is not a cron expression")
    assert json.loads(json.dumps(yaml.safe_load((root / "zenops.yaml").read_text())))["schedules"]
