"""The rebuild's return path on the real stack: Prefect harness, MLflow on SQLite, git + DVC, Apprise.

The workspace is the refresh tests' drifted one (the champion trained on 2,000 rows; seven
production days whose concept flips from the second day, labels a day late). A data
scientist rebuilds the model as the dossier says (:mod:`tests.candidates`) on the labelled
days 1–3; the gate compares it with the champion on the labelled days after them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pandas as pd
import pytest

from demand.tickets import TicketDraft
from flows.candidate import approve_promotion, evaluate_candidate
from flows.refresh import refresh_model, refresh_ports, rollback_flow
from registry.versions import CHALLENGER, CHAMPION, PREVIOUS_CHAMPION
from tests.candidates import rebuild
from tests.integration.test_notifications import configure
from tests.integration.test_refresh_flow import DRIFT, MODEL, open_refresh_ticket, set_promotion, versions
from tests.loopback import Endpoints
from zenops.app.demo.datagen import production_stream
from zenops.kernel.errors import UsageError
from zenops.services.candidate.read import prepare
from zenops.services.history import history
from zenops.workspace import Workspace


@pytest.fixture
def drifted(saved_drifted, restore) -> Workspace:
    return restore(saved_drifted)


@pytest.fixture
def endpoints() -> Iterator[Endpoints]:
    server = Endpoints()
    yield server
    server.close()


def labelled_days(days: range) -> pd.DataFrame:
    """The drifted stream's labelled rows of ``days`` (as the workspace's batches and labels hold them)."""
    stream = production_stream(MODEL, days=7, rows_per_day=300, seed=5, schedule=DRIFT)
    return pd.concat([stream[day].labelled() for day in days], ignore_index=True)


def rebuild_ticket(ws: Workspace) -> int:
    draft = TicketDraft(
        kind="rebuild", title="Rebuild loan-default", model=MODEL, incident="refresh-handback"
    )
    return int(ws.ticket_store().open_or_update(draft)[0].id)


def actions(ws: Workspace) -> list[tuple[str, str | None, str | None]]:
    return [
        (e["action"], e["from_version"], e["to_version"]) for e in history(ws.registry(), MODEL)["events"]
    ]


def test_a_scripted_story_promotes_rejects_and_promotes_and_the_ledger_lists_it_in_order(
    drifted: Workspace, endpoints: Endpoints
) -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    ws = configure(drifted, endpoints)
    refreshed = refresh_model(model=MODEL, workspace=str(ws.root), ticket=open_refresh_ticket(ws))
    assert refreshed["decision"] == "promoted"
    assert rollback_flow(model=MODEL, workspace=str(ws.root))["champion_version"] == "1"
    ticket = rebuild_ticket(ws)

    # A candidate that learned nothing: rejected, nothing moves, its owner hears why.
    _, worse = rebuild(ws, MODEL, labelled_days(range(1, 4)), shuffled=True, ticket=ticket)
    rejected = evaluate_candidate(model=MODEL, version=worse, workspace=str(ws.root))
    assert rejected["decision"] == "rejected" and rejected["serving_version"] == "1"
    assert ws.registry().aliases(MODEL) == {CHAMPION: "1", PREVIOUS_CHAMPION: "2"}
    assert ws.ticket_store().get(ticket).status == "open"
    (told,) = endpoints.bodies("owner")
    assert told["title"] == f"zenops: {MODEL} candidate version {worse} rejected by the promotion gate"
    assert (
        "not surely above the margin" in told["message"]
        and f"Ticket it answers: #{ticket}" in told["message"]
    )

    # The rebuilt model, on the days after the concept changed: promoted, its rebuild ticket closed.
    _, better = rebuild(ws, MODEL, labelled_days(range(1, 4)), params={"max_iter": 200}, ticket=ticket)
    promoted = evaluate_candidate(model=MODEL, version=better, workspace=str(ws.root))
    assert promoted["decision"] == "promoted", promoted["comparison"]["reasons"]
    assert promoted["comparison"]["window"] == {
        "start": "2024-07-05",
        "end": "2024-07-06",
        "days": 2,
        "rows": 600,
    }
    assert ws.registry().aliases(MODEL) == {CHAMPION: better, PREVIOUS_CHAMPION: "1"}
    closed = ws.ticket_store().get(ticket)
    assert closed.status == "done" and closed.outcome.startswith(
        f"candidate version {better} promoted over 1"
    )
    assert len(endpoints.bodies("owner")) == 1  # a promotion tells no owner

    assert actions(ws) == [
        ("candidate", "1", better),
        ("candidate-rejected", "1", worse),
        ("rollback", "2", "1"),
        ("promotion", "1", "2"),
        ("train", None, "1"),
    ]
    latest = history(ws.registry(), MODEL)["events"][0]
    assert latest["ticket"] == ticket and latest["actor"] == "zenops candidate"
    assert latest["flow_run"] == promoted["flow_run"] and latest["evidence"]["rows"] == 600
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=["candidate-loan-default", "ledger-loan-default"])
            )
        )
    texts = {a.key: a.data for a in sorted(found, key=lambda a: a.created)}  # the latest of each key
    assert "/artifacts/key/ledger-loan-default" in texts["candidate-loan-default"]
    assert f"| candidate | 1 | {better} | zenops candidate | #{ticket} |" in texts["ledger-loan-default"]


def test_a_candidate_without_lineage_tags_is_refused_and_nothing_is_stored(drifted: Workspace) -> None:
    run_id, _ = rebuild(drifted, MODEL, labelled_days(range(1, 4)), lineage_tags=False, register=False)
    spec = drifted.config.model(MODEL)
    with pytest.raises(UsageError, match=rf"^run {run_id}: lineage tag\(s\) missing: zenops.data.path, "):
        prepare(refresh_ports(drifted), spec, run=run_id, version=None, ticket=None)
    assert versions(drifted) == ["1"]


def test_two_evaluations_of_one_candidate_at_once_promote_it_once(drifted: Workspace) -> None:
    _, version = rebuild(drifted, MODEL, labelled_days(range(1, 4)), ticket="yes")
    results: list[dict] = []

    def evaluate() -> None:
        results.append(evaluate_candidate(model=MODEL, version=version, workspace=str(drifted.root)))

    threads = [threading.Thread(target=evaluate) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert sorted(r["decision"] for r in results) == ["promoted", "superseded"]
    (stood_down,) = [r for r in results if r["decision"] == "superseded"]
    assert stood_down["notes"] == [
        f"version {version} is the champion already: another evaluation promoted it"
    ]
    assert [a for a, _, _ in actions(drifted)] == ["candidate", "train"]


def test_an_approval_required_model_waits_then_promotes_on_approve(drifted: Workspace) -> None:
    ws = set_promotion(drifted, approval="required")
    ticket = rebuild_ticket(ws)
    _, version = rebuild(ws, MODEL, labelled_days(range(1, 4)), ticket=ticket)

    waiting = evaluate_candidate(model=MODEL, version=version, workspace=str(ws.root))

    assert waiting["decision"] == "awaiting_approval"
    assert ws.registry().aliases(MODEL) == {CHAMPION: "1", CHALLENGER: version}
    approval = ws.ticket_store().get(waiting["approval_ticket"])
    assert approval.kind == "approval" and approval.due - approval.created == timedelta(days=2)  # gold tier
    with pytest.raises(
        UsageError, match=f"^model 'loan-default' version 1 is not waiting for approval: version {version} is"
    ):
        approve_promotion(model=MODEL, version="1", by="ana", workspace=str(ws.root))

    approved = approve_promotion(model=MODEL, version=version, by="ana", workspace=str(ws.root))

    assert approved["decision"] == "approved" and approved["champion_version"] == version
    assert ws.registry().aliases(MODEL) == {CHAMPION: version, PREVIOUS_CHAMPION: "1"}
    assert {ws.ticket_store().get(t).status for t in (ticket, approval.id)} == {"done"}
    assert actions(ws)[:2] == [("approval", "1", version), ("awaiting-approval", "1", version)]
    assert history(ws.registry(), MODEL)["events"][0]["actor"] == "ana"
