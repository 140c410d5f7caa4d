"""Unattended operation on real servers, as a team runs it on one machine.

``zenops server`` starts a real Prefect server and a real MLflow tracking server on
loopback over a fresh workspace's stores; the models are trained through them with
``zenops train``. Then, in order:

1. ``zenops serve`` registers the deployments with the workspace's schedules, the
   refresh trigger and the global concurrency limits, and runs a deployment it is
   asked to run;
2. ``prefect deploy --all`` deploys ``prefect.yaml`` to a process work pool and a
   ``prefect worker`` runs what is scheduled there;
3. the monitor deployment, started through the API, finds drift; its
   ``zenops.model.degraded`` event starts the refresh deployment through the
   trigger, and the outcome is read back from the ticket store; then a data
   scientist's rebuilt candidate, registered with the ``zenops.candidate`` tag in the
   MLflow server, is announced by the registry webhook, and the
   ``evaluate-candidate`` deployment its event triggers decides it (read back from
   the ledger);
4. the plan deployment publishes its artifacts;
5. a real browser (Debian's Chromium through Playwright) opens the Prefect UI and
   finds the monitor flow run, one task run per model and the candidates' notice, the
   drift and plan artifacts with their content (``ZENOPS_SCREENSHOTS=DIR`` keeps its
   screenshots);
6. the monitor artifact's links (the report in the Evidently UI, the run in the MLflow
   UI, both started by ``zenops server``) answer on loopback, and the browser finds
   the model's Evidently project, its dashboard's drift-share panel over the kept
   batches and a report, then the monitoring run's drift share in the MLflow UI
   (:mod:`tests.e2e.ui_views`).

The steps share one set of servers, so they run in file order.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from tests.candidates import rebuild
from tests.e2e.ui_views import (
    CHROMIUM_ARGS,
    artifact_links,
    check_evidently_ui,
    check_links_answer,
    check_mlflow_ui,
    kept_batches,
    recorded_uis,
)
from tests.integration.conftest import write_training_data
from tests.integration.test_refresh_flow import DRIFT
from tests.loopback import Endpoints, closed_port
from zenops.app.demo.datagen import DriftSchedule, production_stream, write_stream
from zenops.services.history import history
from zenops.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NEVER = "0 0 1 1 *"  # schedules that do not fire while the tests run
DRIFTING, STABLE = "loan-default", "demand-forecast"
CHROMIUM = os.environ.get("ZENOPS_CHROMIUM", "/usr/bin/chromium")
BACKLOG = ("Churn model for the retail bank", "Feature store for tabular models")


@dataclass
class Stack:
    """The servers, the workspace and the environment every command of the steps gets."""

    root: Path
    env: dict[str, str]
    api: str
    ui: str
    endpoints: Endpoints
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def workspace(self) -> Workspace:
        return Workspace(self.root)

    def run(self, *argv: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
        done = subprocess.run(
            list(argv), cwd=cwd or self.root, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        assert done.returncode == 0, f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-3000:]}"
        return done

    def start(self, name: str, *argv: str, cwd: Path | None = None) -> subprocess.Popen:
        log = (self.root.parent / f"{name}.log").open("ab")
        process = subprocess.Popen(
            list(argv), cwd=cwd or self.root, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        self.processes[name] = process
        return process

    def log(self, name: str) -> str:
        return self.log_file(f"../{name}.log")

    def log_file(self, relative: str) -> str:
        path = self.root / relative
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, name: str, sig: int = signal.SIGINT, grace: float = 30) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=grace)

    @contextmanager
    def client(self) -> Iterator[Any]:
        """A Prefect client of the real server (not the session's test harness)."""
        from prefect import get_client
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: self.api}), get_client(sync_client=True) as client:
            yield client

    def finished_runs(self, what: str, deployment: str, timeout: float = 900) -> list[Any]:
        """The finished flow runs of ``deployment`` (``flow/name``), once there are some."""
        from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

        with self.client() as client:
            found = client.read_deployment_by_name(deployment)

            def finished():
                runs = client.read_flow_runs(
                    deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[found.id]))
                )
                return [r for r in runs if r.state and r.state.is_final()]

            return wait_for(what, finished, timeout=timeout, every=2)

    def run_deployment(self, name: str, timeout: float = 600, **parameters: Any) -> Any:
        from prefect.deployments import run_deployment
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: self.api}):
            return run_deployment(name, parameters=parameters or None, timeout=timeout, poll_interval=2)


def read_exports(process: subprocess.Popen, timeout: float) -> dict[str, str]:
    """The ``export NAME=VALUE`` lines ``zenops server`` prints once its servers answer."""
    found: dict[str, str] = {}
    done = threading.Event()

    def reader() -> None:
        for line in process.stdout:  # type: ignore[union-attr]
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").strip().partition("=")
                found[name] = value
                if len(found) == 2:
                    done.set()
                    return

    threading.Thread(target=reader, daemon=True).start()
    if not done.wait(timeout):
        raise AssertionError(f"zenops server printed no settings within {timeout:g} s: {found}")
    return found


def configure(root: Path, endpoints: Endpoints) -> None:
    config = yaml.safe_load((root / "zenops.yaml").read_text())
    config["schedules"] = {"monitor": NEVER, "plan": NEVER, "sla_watch": NEVER}
    config["monitoring"] = {"retries": 1, "retry_delay_s": 1}
    config["notifications"] = {"oncall": [endpoints.url("oncall")]}
    (root / "zenops.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def wait_for(what: str, probe, timeout: float = 300, every: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"{what}: not within {timeout:g} s")


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    base = tmp_path_factory.mktemp("unattended")
    root = base / "ws"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZENOPS_", "PREFECT_API"))}
    env.update({"PREFECT_LOGGING_LEVEL": "INFO", "ZENOPS_WORKSPACE": str(root)})
    subprocess.run([str(BIN / "zenops"), "init", str(root)], env=env, check=True, capture_output=True)
    workspace = Workspace(root)
    for model, rows in ((DRIFTING, 2000), (STABLE, 1500)):
        write_training_data(workspace, model, rows=rows)
    endpoints = Endpoints()
    configure(root, endpoints)

    prefect_port, mlflow_port, evidently_port = closed_port(), closed_port(), closed_port()
    server = subprocess.Popen(
        [
            str(BIN / "zenops"),
            "server",
            "--prefect-port",
            str(prefect_port),
            "--mlflow-port",
            str(mlflow_port),
            "--evidently-port",
            str(evidently_port),
        ],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=(base / "server.log").open("ab"),
        text=True,
    )
    try:
        exports = read_exports(server, timeout=420)  # three servers on a busy machine
        env.update(exports)
        env.update({"PREFECT_WORKER_QUERY_SECONDS": "2", "PREFECT_RUNNER_POLL_FREQUENCY": "2"})
        api = exports["PREFECT_API_URL"]
        built = Stack(root, env, api, api.removesuffix("/api"), endpoints, {"server": server})
        yield built
    finally:
        for name in list(getattr(locals().get("built"), "processes", {})):
            if name != "server":
                built.stop(name)
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        endpoints.close()


def test_zenops_server_serves_the_workspace_and_zenops_trains_through_it(stack: Stack) -> None:
    assert stack.env["ZENOPS_TRACKING_URI"].startswith("http://127.0.0.1:")
    for model in (DRIFTING, STABLE):
        trained = json.loads(stack.run(str(BIN / "zenops"), "train", model, "--json").stdout)
        assert (trained["version"], trained["alias"]) == ("1", "champion")
    # The runs are in the tracking server, and the flow runs in the Prefect server.
    import httpx

    found = httpx.get(
        f"{stack.env['ZENOPS_TRACKING_URI']}/api/2.0/mlflow/registered-models/search", timeout=30
    ).json()
    assert sorted(m["name"] for m in found["registered_models"]) == sorted([DRIFTING, STABLE])
    with stack.client() as client:
        names = {run.name for run in client.read_flow_runs()}
    assert {f"train {DRIFTING}", f"train {STABLE}"} <= names


def test_zenops_serve_registers_the_deployments_and_runs_them(stack: Stack) -> None:
    stack.start("serve", str(BIN / "zenops"), "serve")

    def registered():
        with stack.client() as client:
            deployments = client.read_deployments()
            return deployments if len(deployments) == 7 else None

    deployments = {d.name: d for d in wait_for("zenops serve's deployments", registered, timeout=240)}
    assert sorted(deployments) == [
        "evaluate-candidate",
        "monitor",
        "plan",
        "refresh",
        "rollback",
        "sla-watch",
        "train",
    ]
    assert deployments["monitor"].schedules[0].schedule.cron == NEVER  # from zenops.yaml
    assert deployments["monitor"].parameters == {"workspace": str(stack.root)}
    assert deployments["monitor"].work_pool_name is None  # served, not on a pool
    with stack.client() as client:
        (automation,) = client.read_automations_by_name("zenops: refresh a degraded model")
        assert automation.trigger.expect == {"zenops.model.degraded"}
        (candidate,) = client.read_automations_by_name("zenops: evaluate a candidate")
        assert candidate.trigger.expect == {"zenops.candidate.registered"}
        (quiet,) = client.read_automations_by_name("zenops: monitoring went quiet")
        assert quiet.trigger.posture == "Proactive"
        assert quiet.trigger.expect == {"prefect.flow-run.Completed"}
        assert quiet.trigger.within.days >= 3 * 365  # three intervals of the yearly monitor schedule
        limits = {limit.name: limit.limit for limit in client.read_global_concurrency_limits(limit=100)}
    assert limits[f"zenops-refresh-{DRIFTING}"] == 1 and limits[f"zenops-refresh-{STABLE}"] == 1
    assert "zenops-training" in limits
    served = wait_for("the UI line", lambda: "Prefect UI" in stack.log("serve") and stack.log("serve"))
    assert f"Prefect UI: {stack.ui}" in served

    watched = stack.run_deployment("sla-watch/sla-watch", timeout=300)
    assert watched.state.is_completed(), watched.state
    stack.stop("serve")


def test_prefect_yaml_deploys_to_a_process_work_pool(stack: Stack) -> None:
    prefect = str(BIN / "prefect")
    stack.run(prefect, "work-pool", "create", "zenops", "--type", "process", "--overwrite")
    stack.run(prefect, "--no-prompt", "deploy", "--all", cwd=ROOT)
    with stack.client() as client:
        deployments = {d.name: d for d in client.read_deployments()}
        for deployment in deployments.values():
            client.pause_deployment(deployment.id)  # only what the steps start runs
    assert {d.work_pool_name for d in deployments.values()} == {"zenops"}
    assert deployments["monitor"].entrypoint == "flows.monitor.monitor_models"
    assert deployments["monitor"].schedules[0].schedule.cron == "0 * * * *"  # prefect.yaml's own
    stack.start("worker", prefect, "worker", "start", "--pool", "zenops", "--type", "process")


def test_the_monitor_deployment_finds_drift_and_its_event_starts_the_refresh_deployment(stack: Stack) -> None:
    workspace = stack.workspace
    for model, days, schedule in ((DRIFTING, 6, DRIFT), (STABLE, 3, DriftSchedule.stable())):
        spec = workspace.config.model(model)
        stream = production_stream(model, days=days, rows_per_day=300, seed=5, schedule=schedule)
        write_stream(
            stream, workspace.path(spec.batches), workspace.path(spec.labels), through=stream[-1].day
        )

    monitored = stack.run_deployment("monitor-models/monitor", timeout=900)
    assert monitored.state.is_completed(), f"{monitored.state}\n{stack.log('worker')[-3000:]}"
    assert monitored.name == f"monitor {stack.root.name}"
    stack.facts["monitor_run"] = monitored.id

    (run,) = stack.finished_runs("the triggered refresh", "refresh-model/refresh")
    assert run.state.is_completed(), f"{run.state}\n{stack.log('worker')[-3000:]}"
    assert run.parameters["model"] == DRIFTING and run.parameters["on_event"] is True
    assert run.name == f"refresh {DRIFTING}"
    (refresh_ticket,) = workspace.ticket_store().list(kind="refresh", model=DRIFTING)
    assert run.parameters["ticket"] in (refresh_ticket.id, None)  # None: a rebuild verdict's event

    closed = workspace.ticket_store().get(refresh_ticket.id)
    assert closed.status == "done", closed
    assert closed.outcome.startswith(("promoted", "handed back")), closed.outcome
    aliases = workspace.registry().aliases(DRIFTING)  # through the tracking server
    if closed.outcome.startswith("promoted"):
        assert aliases["champion"] == "2" and aliases["previous-champion"] == "1"
    assert workspace.ticket_store().list(kind="refresh", model=STABLE) == []
    # The on-call heard of the incident, with links into the Prefect UI.
    incidents = [b for b in stack.endpoints.bodies("oncall") if DRIFTING in b.get("title", "")]
    assert incidents and f"{stack.ui}/runs/flow-run/{monitored.id}" in incidents[0]["message"]


def test_a_rebuilt_candidate_registered_in_mlflow_comes_back_through_the_webhook(stack: Stack) -> None:
    """A data scientist registers a tagged version in the MLflow server; its webhook announces it,
    the evaluate-candidate deployment's trigger runs it on the worker, and the ledger says the
    outcome."""
    workspace = stack.workspace
    store = workspace.ticket_store()
    handbacks = [t for t in store.list(kind="rebuild", model=DRIFTING) if t.is_open]
    ticket = handbacks[0].id if handbacks else None
    stream = production_stream(DRIFTING, days=6, rows_per_day=300, seed=5, schedule=DRIFT)
    frame = pd.concat([stream[day].labelled() for day in range(1, 4)], ignore_index=True)
    _, version = rebuild(
        workspace,
        DRIFTING,
        frame,
        params={"max_iter": 200},
        ticket=ticket if ticket is not None else "rebuilt",
        tracking_uri=stack.env["ZENOPS_TRACKING_URI"],
        inferred_requirements=True,
    )
    announced = f"{DRIFTING} version {version}: announced"
    wait_for("the webhook's announcement", lambda: announced in stack.log_file(".zenops/logs/webhooks.log"))

    (run,) = stack.finished_runs("the triggered evaluation", "evaluate-candidate/evaluate-candidate")
    assert run.state.is_completed(), f"{run.state}\n{stack.log('worker')[-3000:]}"
    assert (run.parameters["model"], str(run.parameters["version"])) == (DRIFTING, version)
    assert run.parameters["on_event"] is True

    (latest, *_) = history(workspace.registry(), DRIFTING)["events"]  # read through the MLflow server
    assert latest["to_version"] == version and latest["flow_run"] == str(run.id), latest
    assert latest["action"] in ("candidate", "candidate-rejected"), latest
    champion = workspace.registry().aliases(DRIFTING)["champion"]
    if latest["action"] == "candidate":
        assert champion == version
        if ticket is not None:
            assert store.get(ticket).status == "done"
    else:
        assert champion == latest["from_version"] and latest["evidence"]


def test_the_plan_deployment_publishes_the_plan(stack: Stack) -> None:
    zenops = str(BIN / "zenops")
    for title, kind, extra in zip(
        BACKLOG, ("new_project", "tooling_rnd"), (["--value", "7"], []), strict=True
    ):
        stack.run(zenops, "tickets", "new", "--kind", kind, "--title", title, "--sla", "silver", *extra)
    planned = stack.run_deployment("plan-demand/plan", timeout=600)
    assert planned.state.is_completed(), planned.state
    stack.facts["plan_run"] = planned.id
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with stack.client() as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[planned.id]))
        )
    assert {"plan", "plan-gantt"} <= {a.key for a in artifacts}


def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM}: no Chromium to drive (apt-get install chromium, or set ZENOPS_CHROMIUM)")
    return sync_playwright()


def test_an_mlops_engineer_sees_the_cycle_in_the_prefect_ui(stack: Stack, tmp_path: Path) -> None:
    shots = Path(os.environ.get("ZENOPS_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    monitor_run, plan_run = stack.facts["monitor_run"], stack.facts["plan_run"]
    with browser() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = chromium.new_page(viewport={"width": 1500, "height": 1000})
        page.set_default_timeout(60_000)

        def tab(name: str) -> None:
            page.get_by_text(name, exact=True).click()

        page.goto(f"{stack.ui}/runs/flow-run/{monitor_run}", wait_until="networkidle")
        page.get_by_text(f"monitor {stack.root.name}").first.wait_for()
        tab("Task Runs")
        for model in (DRIFTING, STABLE):
            page.get_by_text(f"model:{model}", exact=True).wait_for()
            page.get_by_text(f"monitor {model}", exact=True).first.wait_for()
        page.get_by_text("notice-candidates", exact=False).first.wait_for()
        assert "3 Task runs" in page.inner_text("body")  # one per model, and the candidates' notice
        page.screenshot(path=str(shots / "monitor-flow-run.png"))

        tab("Artifacts")
        page.get_by_text("monitor-cycle", exact=True).wait_for()
        page.get_by_text(f"monitor-{STABLE}", exact=True).wait_for()
        page.get_by_text(f"monitor-{DRIFTING}", exact=True).click()
        page.wait_for_url("**/artifacts/artifact/**")
        page.get_by_text("drifted feature", exact=True).wait_for()
        shown = page.inner_text("body")
        assert f"{DRIFTING}: rebuild" in shown or f"{DRIFTING}: refresh" in shown, shown[:2000]
        assert "features drifted" in shown and "Evidently report" in shown and "Ticket: #" in shown
        page.screenshot(path=str(shots / "monitor-artifact.png"), full_page=True)

        page.goto(f"{stack.ui}/runs/flow-run/{plan_run}", wait_until="networkidle")
        tab("Artifacts")
        page.get_by_text("plan-gantt", exact=True).click()
        page.wait_for_url("**/artifacts/artifact/**")
        page.get_by_text("Timeline", exact=True).wait_for()
        shown = page.inner_text("body")
        assert "zenops plan" in shown and "gantt" in shown and "assignee" in shown, shown[:2000]
        for title in BACKLOG:
            assert title in shown, title
        page.screenshot(path=str(shots / "plan-artifact.png"), full_page=True)
        chromium.close()
    for name in ("monitor-flow-run.png", "monitor-artifact.png", "plan-artifact.png"):
        assert (shots / name).stat().st_size > 10_000


def test_the_monitor_artifacts_links_open_on_loopback(stack: Stack) -> None:
    evidently, mlflow = recorded_uis(stack.root)
    with stack.client() as client:
        links = artifact_links(client, stack.facts["monitor_run"], DRIFTING)
    check_links_answer(links, evidently, mlflow)


def test_an_mlops_engineer_follows_the_drift_in_the_evidently_and_mlflow_uis(
    stack: Stack, tmp_path: Path
) -> None:
    shots = Path(os.environ.get("ZENOPS_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    evidently, mlflow = recorded_uis(stack.root)
    registry = stack.workspace.registry()
    run = registry.latest_run(DRIFTING, {"zenops.run": "monitoring"})
    assert run is not None and "drift_share" in run.metrics
    with browser() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = chromium.new_page(viewport={"width": 1500, "height": 1000})
        page.set_default_timeout(60_000)
        check_evidently_ui(page, evidently, DRIFTING, kept_batches(stack.root, DRIFTING), shots)
        check_mlflow_ui(page, mlflow, registry.ensure_experiment(DRIFTING), run.run_id, shots)
        chromium.close()
    for name in ("evidently-dashboard.png", "evidently-report.png", "mlflow-monitoring-run.png"):
        assert (shots / name).stat().st_size > 10_000
