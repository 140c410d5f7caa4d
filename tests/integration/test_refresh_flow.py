"""The refresh and rollback flows on the real stack: Prefect harness, MLflow on SQLite, git + DVC.

The production stream drifts from its first day (covariate drift, then concept
drift from the second day) and labels arrive a day late, so the labelled rows
of six days are there when the refresh runs: enough for a retrained challenger
to beat the champion clearly on the held-out last days.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from flows.refresh import TRAINING_LIMIT, refresh_limit, refresh_model, rollback_flow, rollback_model
from flows.train import train_model
from registry import lineage
from registry.adapters.mlflow import MlflowRegistry
from registry.promotion import CHAMPION_ACTION, CHAMPION_REPLACED, CHAMPION_TICKET, audit_trail
from registry.versions import CHALLENGER, CHAMPION, PREVIOUS_CHAMPION
from tests.dossiers import shell_blocks
from tests.faults import crash_at
from tests.integration.conftest import write_training_data
from zenops.app.demo.datagen import DriftSchedule, production_stream, write_stream
from zenops.kernel.errors import LineageError, NotFoundError, ZenopsError
from zenops.workspace import Workspace

MODEL = "loan-default"
DRIFT = DriftSchedule(covariate_start=0, covariate_ramp_days=1, concept_start=1, label_delay_days=1)


def drifted_workspace(workspace: Workspace, days: int = 7, rows: int = 300) -> Workspace:
    """Train the champion on 2,000 rows, then drop ``days`` drifted production days and their labels."""
    write_training_data(workspace, MODEL, rows=2000)
    train_model(model=MODEL, workspace=str(workspace.root))
    spec = workspace.config.model(MODEL)
    stream = production_stream(MODEL, days=days, rows_per_day=rows, seed=5, schedule=DRIFT)
    write_stream(stream, workspace.path(spec.batches), workspace.path(spec.labels), through=stream[-1].day)
    return workspace


def open_refresh_ticket(workspace: Workspace) -> int:
    """The ticket monitoring opens for a drifting batch (same function, same evidence)."""
    from zenops.services.monitor.cycle import BatchOutcome, open_ticket

    outcome = BatchOutcome(
        model=MODEL,
        batch="2024-07-03.csv",
        rows=300,
        verdict="refresh",
        reasons=["4 of 9 features drifted (44%) for 2 batches in a row"],
        drift_share=4 / 9,
        drifted_features=[{"feature": "income", "p_value": 1e-12}, {"feature": "region", "p_value": 1e-6}],
        performance={"kind": "estimated", "metric": "roc_auc", "value": 0.69, "baseline": 0.76},
        report_uri="file:///reports/2024-07-03/report.html",
        run_id="monitoring-run",
        champion_version="1",
    )
    open_ticket(workspace, workspace.config.model(MODEL), outcome)
    return outcome.ticket


def set_promotion(workspace: Workspace, **keys) -> Workspace:
    """Rewrite ``zenops.yaml`` with ``promotion`` keys for the model; a fresh Workspace reads it."""
    data = yaml.safe_load(workspace.config_path.read_text())
    for model in data["models"]:
        if model["name"] == MODEL:
            model["promotion"] = {**model.get("promotion", {}), **keys}
    workspace.config_path.write_text(yaml.safe_dump(data, sort_keys=False))
    return Workspace(workspace.root)


def champion_moves(registry) -> list[dict[str, str]]:
    """The audit trail after the first training's entry (version 1 made champion)."""
    trail = audit_trail(registry, MODEL)
    assert trail[0]["zenops.audit.action"] == "trained" and trail[0]["zenops.audit.to_version"] == "1"
    return trail[1:]


def version_tags(workspace: Workspace, version: str) -> dict[str, str]:
    return workspace.registry().version_tags(MODEL, version)


def versions(workspace: Workspace) -> list[str]:
    client = workspace.registry().client
    return sorted(str(v.version) for v in client.search_model_versions(f"name='{MODEL}'"))


@pytest.fixture
def drifted(saved_drifted, restore) -> Workspace:
    """:func:`drifted_workspace` of a fresh workspace (built once, restored for each test)."""
    return restore(saved_drifted)


def test_a_refresh_after_drift_promotes_with_aliases_audit_and_ticket(drifted: Workspace) -> None:
    from prefect import get_client

    from flows.monitor import monitor_models

    summary = monitor_models(workspace=str(drifted.root), models=[MODEL])["models"][0]
    ticket = summary["ticket"]
    assert summary["verdict"] in ("refresh", "rebuild") and ticket is not None
    if drifted.ticket_store().get(ticket).kind != "refresh":  # labels showed a drop beyond a refresh
        ticket = open_refresh_ticket(drifted)

    result = refresh_model(model=MODEL, workspace=str(drifted.root), ticket=ticket)

    assert result["decision"] == "promoted", result["comparison"]["reasons"]
    assert (result["champion_version"], result["challenger_version"]) == ("1", "2")
    assert result["serving_version"] == "2" and result["ticket"] == ticket
    comparison = result["comparison"]
    assert comparison["metric"] == "roc_auc" and comparison["rows"] >= 200
    assert comparison["bootstrap"]["relative_low"] > 0
    assert comparison["test"]["name"] == "mcnemar" and comparison["mlflow_validation"]["passed"]
    registry = drifted.registry()
    assert registry.aliases(MODEL) == {CHAMPION: "2", PREVIOUS_CHAMPION: "1"}
    # The challenger carries the champion's lineage tags, on a new data version.
    challenger = registry.version(MODEL, "2")
    assert challenger.tags[lineage.REFRESHES] == "1"
    assert (
        challenger.tags[lineage.DATA_REV]
        == result["data_rev"]
        != registry.version(MODEL, "1").tags[lineage.DATA_REV]
    )
    assert challenger.tags[lineage.DATA_MD5] == result["data_md5"]
    assert challenger.tags[lineage.TRAINER] == "sklearn.ensemble.HistGradientBoostingClassifier"
    assert challenger.params["trainer.max_iter"] == "150"
    assert result["training_rows"] > 2000
    # The audit: version tags, one audit run, the ticket's evidence and outcome.
    tags = version_tags(drifted, "2")
    assert tags[CHAMPION_ACTION] == "promoted" and tags[CHAMPION_REPLACED] == "1"
    assert tags[CHAMPION_TICKET] == str(ticket)
    assert version_tags(drifted, "1")["zenops.champion.replaced_by"] == "2"
    (audit,) = champion_moves(registry)
    assert audit["zenops.audit.action"] == "promoted" and audit["zenops.audit.state"] == "committed"
    assert (audit["zenops.audit.from_version"], audit["zenops.audit.to_version"]) == ("1", "2")
    assert audit["zenops.audit.ticket"] == str(ticket)
    stored = drifted.ticket_store().get(ticket)
    assert stored.status == "done" and stored.outcome.startswith("promoted version 2 over 1")
    promoted = stored.evidence[-1]
    assert promoted["event"] == "promoted" and promoted["audit_run"] == audit["run_id"]
    assert promoted["aliases_before"][CHAMPION] == "1"
    moves = [e.detail for e in drifted.ticket_store().history(ticket) if e.action == "moved"]
    assert {"from": "open", "to": "in_progress"}.items() <= moves[0].items()
    # The global concurrency limits exist with their limits.
    with get_client(sync_client=True) as client:
        assert client.read_global_concurrency_limit_by_name(refresh_limit(MODEL)).limit == 1
        assert client.read_global_concurrency_limit_by_name(TRAINING_LIMIT).limit == 2

    # Rollback restores version 1 and audits it; a second rollback undoes the first.
    rolled = rollback_flow(model=MODEL, workspace=str(drifted.root))
    assert rolled["champion_version"] == "1" and rolled["previous_champion_version"] == "2"
    assert registry.aliases(MODEL) == {CHAMPION: "1", PREVIOUS_CHAMPION: "2"}
    assert (
        rolled["ticket"] == ticket
        and drifted.ticket_store().get(ticket).evidence[-1]["event"] == "rolled_back"
    )
    assert version_tags(drifted, "1")[CHAMPION_ACTION] == "rolled-back-to"
    assert [a["zenops.audit.action"] for a in champion_moves(registry)] == ["promoted", "rolled-back-to"]
    rollback_model(MODEL, str(drifted.root))
    assert registry.aliases(MODEL) == {CHAMPION: "2", PREVIOUS_CHAMPION: "1"}


def test_a_failing_gate_hands_back_with_a_dossier_and_moves_nothing(drifted: Workspace) -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    ticket = open_refresh_ticket(drifted)
    ws = set_promotion(drifted, margin=0.9)

    result = refresh_model(model=MODEL, workspace=str(ws.root))

    assert result["decision"] == "handed_back" and result["ticket"] == ticket
    assert result["serving_version"] == "1" and result["challenger_version"] == "2"
    assert any("not surely above the margin 90.00%" in r for r in result["comparison"]["reasons"])
    assert ws.registry().aliases(MODEL) == {CHAMPION: "1", CHALLENGER: "2"}
    assert champion_moves(ws.registry()) == []
    store = ws.ticket_store()
    refresh = store.get(ticket)
    assert refresh.status == "done" and refresh.outcome.startswith("handed back: challenger version 2")
    rebuild = store.get(result["rebuild_ticket"])
    assert rebuild.kind == "rebuild" and rebuild.status == "open"
    assert rebuild.idempotency_key == "loan-default/rebuild/refresh-handback"
    assert (
        rebuild.evidence[0]["dossier"] == result["dossier"]
        and rebuild.evidence[0]["refresh_ticket"] == ticket
    )
    text = Path(result["dossier"]).read_text()
    assert "| 2024-07-03.csv | refresh | 44% | income, region |" in text  # the ticket's drift evidence
    assert "| roc_auc (gate) |" in text and "models:/loan-default/2" in text
    assert text == rebuild.notes
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["dossier-loan-default"]))
        )
    assert any(a.data == text for a in artifacts)  # other tests' hand-backs publish under the key too

    # A second hand-back adds evidence to the same rebuild ticket.
    again = refresh_model(model=MODEL, workspace=str(ws.root))
    assert again["decision"] == "handed_back" and again["rebuild_ticket"] == result["rebuild_ticket"]
    assert len(store.get(result["rebuild_ticket"]).evidence) == 2


def test_the_dossiers_commands_restore_the_data_and_load_the_models_in_a_fresh_shell(
    drifted: Workspace, tmp_path: Path
) -> None:
    open_refresh_ticket(drifted)
    ws = set_promotion(drifted, margin=0.9)
    result = refresh_model(model=MODEL, workspace=str(ws.root))
    (script,) = shell_blocks(Path(result["dossier"]).read_text())
    # Only the local cache's copy is gone: the DVC remote must serve the data.
    for path in (ws.root / ".dvc" / "cache").rglob("*"):
        if path.is_file():
            path.chmod(stat.S_IWUSR | stat.S_IRUSR)
    subprocess.run(["rm", "-rf", str(ws.root / ".dvc" / "cache")], check=True)
    venv_bin = str(Path(sys.executable).parent)
    clean = {"PATH": os.pathsep.join([venv_bin, "/usr/bin", "/bin"]), "HOME": str(tmp_path)}
    folder = tmp_path / "scientist"
    folder.mkdir()
    done = subprocess.run(
        ["bash", "-c", script], cwd=folder, env=clean, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    champion = ws.registry().version(MODEL, "1")
    assert f"md5 {champion.tags[lineage.DATA_MD5]}" in done.stdout
    assert f"md5 {result['data_md5']}" in done.stdout
    assert "loaded models:/loan-default/1 Pipeline" in done.stdout
    assert "loaded models:/loan-default/2 Pipeline" in done.stdout
    assert (folder / "loan-default-champion-v1.parquet").is_file()


def test_a_crash_after_the_alias_move_rolls_the_aliases_back(drifted: Workspace, monkeypatch) -> None:
    ticket = open_refresh_ticket(drifted)
    audit_run_fails = crash_at(MlflowRegistry, "record_run", "after-alias-move")  # the audit's first write
    with audit_run_fails, pytest.raises(ZenopsError, match="injected crash at after-alias-move"):
        refresh_model(model=MODEL, workspace=str(drifted.root))
    registry = drifted.registry()
    assert registry.aliases(MODEL) == {CHAMPION: "1", CHALLENGER: "2"}
    assert champion_moves(registry) == []
    assert CHAMPION_ACTION not in version_tags(drifted, "2")
    stored = drifted.ticket_store().get(ticket)
    assert stored.status == "blocked" and stored.evidence[-1]["event"] == "refresh_failed"
    assert "injected crash" in stored.evidence[-1]["error"]

    again = refresh_model(model=MODEL, workspace=str(drifted.root), ticket=ticket)  # blocked -> in_progress
    assert again["decision"] == "promoted"
    assert registry.aliases(MODEL) == {CHAMPION: again["challenger_version"], PREVIOUS_CHAMPION: "1"}


def test_a_failure_after_the_audit_undoes_the_audit_and_the_aliases(drifted: Workspace, monkeypatch) -> None:
    from demand.adapters.sql import SqlTicketRepository
    from zenops.kernel.errors import StoreError

    open_refresh_ticket(drifted)

    def ticket_store_down(*args, **kwargs):
        raise StoreError("ticket store sqlite:///x: cannot close the ticket: database is locked")

    monkeypatch.setattr(SqlTicketRepository, "close", ticket_store_down)
    with pytest.raises(StoreError, match="cannot close the ticket"):
        refresh_model(model=MODEL, workspace=str(drifted.root))
    registry = drifted.registry()
    assert registry.aliases(MODEL) == {CHAMPION: "1", CHALLENGER: "2"}
    (audit,) = champion_moves(registry)
    assert audit["zenops.audit.state"] == "rolled-back"
    assert CHAMPION_ACTION not in version_tags(drifted, "2")
    assert "zenops.champion.replaced_by" not in version_tags(drifted, "1")


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        ("md5-tag", "does not match the recorded 0000"),
        ("cache-and-remote", "does not match the recorded"),
        ("unknown-revision", "is not in the workspace's git history"),
        ("missing-tag", "lineage tag.s. missing: zenops.data.md5"),
    ],
)
def test_a_tampered_data_version_stops_the_refresh_before_training(
    drifted: Workspace, tamper: str, message: str
) -> None:
    ticket = open_refresh_ticket(drifted)
    registry = drifted.registry()
    champion = registry.version(MODEL, "1")
    head = drifted.data_store().git.head()
    if tamper == "md5-tag":
        registry.client.set_tag(champion.run_id, lineage.DATA_MD5, "0" * 32)
    elif tamper == "unknown-revision":
        registry.client.set_tag(champion.run_id, lineage.DATA_REV, "f" * 40)
    elif tamper == "missing-tag":
        registry.client.delete_tag(champion.run_id, lineage.DATA_MD5)
    else:
        md5 = champion.tags[lineage.DATA_MD5]
        for store in (drifted.root / ".dvc" / "cache", Path(drifted.stores.dvc_remote)):
            for path in store.rglob(md5[2:]):
                path.chmod(stat.S_IWUSR | stat.S_IRUSR)
                path.write_bytes(b"not the training data")
    with pytest.raises(LineageError, match=message):
        refresh_model(model=MODEL, workspace=str(drifted.root))
    assert versions(drifted) == ["1"]  # nothing was trained or registered
    assert registry.aliases(MODEL) == {CHAMPION: "1"}
    assert drifted.data_store().git.head() == head  # no refreshed data was snapshotted
    stored = drifted.ticket_store().get(ticket)
    assert stored.status == "blocked" and stored.evidence[-1]["event"] == "refresh_failed"
    assert stored.evidence[-1]["error"].startswith(
        ("data/loan-default/train.parquet", "loan-default version 1")
    )


def test_rollback_without_a_previous_champion_is_a_clear_error(drifted: Workspace) -> None:
    with pytest.raises(NotFoundError, match="no previous champion to roll back to"):
        rollback_model(MODEL, str(drifted.root))
    assert drifted.registry().aliases(MODEL) == {CHAMPION: "1"}


def test_a_model_without_a_champion_cannot_be_refreshed(prefect_api, workspace: Workspace) -> None:
    with pytest.raises(NotFoundError, match="has no champion to refresh"):
        refresh_model(model="demand-forecast", workspace=str(workspace.root))
