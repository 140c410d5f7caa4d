"""Candidates and approvals on fakes of the registry, the data store and the ticket store.

The champion (version 1) is trained on January's concept by the training service; a
data scientist's rebuild (:func:`tests.unit.training_world.rebuild`) is trained on June
days and logged with lineage. The window it is compared on is the labelled June days
after its own data.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from demand.tickets import TicketDraft
from registry import approval, candidates
from registry.versions import CHALLENGER, CHAMPION, PREVIOUS_CHAMPION
from tests.fakes.events import FakeEventBus
from tests.unit.training_world import MODEL, arrive, ports, rebuild, workspace
from zenops.kernel.errors import NotFoundError, UsageError
from zenops.services.candidate.notice import CANDIDATE_EVENT, notice_candidates
from zenops.services.candidate.read import prepare
from zenops.services.candidate.run import evaluate
from zenops.services.history import history
from zenops.services.refresh import approval as approvals
from zenops.services.refresh.context import RefreshPorts, Runner
from zenops.services.refresh.run import refresh
from zenops.services.train.run import train


def trained(tmp_path: Path, flipped: bool, **promotion: str) -> RefreshPorts:
    ws = workspace(tmp_path / "ws")
    if promotion:
        text = ws.config_path.read_text().replace(
            "promotion: {window_days: 2,",
            "promotion: {" + "".join(f"{k}: {v}, " for k, v in promotion.items()),
        )
        ws.config_path.write_text(text)
    world = ports(type(ws)(ws.root))
    train(world, world.workspace.config.model(MODEL))
    arrive(world.workspace, flipped=flipped)
    return world


@pytest.fixture
def flipped(tmp_path: Path) -> RefreshPorts:
    """June's concept flipped: a model rebuilt on June beats the champion."""
    return trained(tmp_path, flipped=True)


def rebuild_ticket(world: RefreshPorts) -> int:
    draft = TicketDraft(kind="rebuild", title="Rebuild churn", model=MODEL, incident="refresh-handback")
    return int(world.tickets.open_or_update(draft)[0].id)


def ledger(world: RefreshPorts) -> list[tuple[str, str | None, str | None]]:
    return [
        (e["action"], e["from_version"], e["to_version"]) for e in history(world.registry, MODEL)["events"]
    ]


def test_a_better_candidate_is_promoted_and_closes_the_rebuild_tickets(flipped: RefreshPorts) -> None:
    handback = rebuild_ticket(flipped)
    monitoring = flipped.tickets.open_or_update(
        TicketDraft(kind="rebuild", title="Rebuild churn: lost", model=MODEL, incident="monitoring")
    )[0].id
    version = rebuild(flipped, ticket=handback)
    spec = flipped.workspace.config.model(MODEL)

    result = evaluate(flipped, spec, version)

    assert result["decision"] == "promoted", result["comparison"]["reasons"]
    assert (result["champion_version"], result["candidate_version"], result["serving_version"]) == (
        "1",
        "2",
        "2",
    )
    assert result["comparison"]["rows"] == 240  # June 5 and 6: after its data, never trained on
    assert result["comparison"]["window"]["start"] == "2024-06-05"
    assert flipped.registry.aliases(MODEL) == {CHAMPION: "2", PREVIOUS_CHAMPION: "1"}
    assert result["closed_tickets"] == [handback, monitoring] and result["ticket"] == handback
    for ticket in (handback, monitoring):
        closed = flipped.tickets.get(ticket)
        assert closed.status == "done" and closed.outcome.startswith("candidate version 2 promoted over 1")
    assert flipped.registry.version_tags(MODEL, "2")[candidates.DECISION] == "promoted"
    assert ledger(flipped) == [("candidate", "1", "2"), ("train", None, "1")]
    event = history(flipped.registry, MODEL)["events"][0]
    assert event["ticket"] == handback and event["actor"] == "zenops candidate"
    assert event["evidence"]["metric"] == "roc_auc" and event["evidence"]["rows"] == 240
    # The candidate's run carries the comparison, as a challenger's does.
    run = flipped.registry.runs[result["run_id"]]
    assert run.artifacts["comparison.json"]["promote"] is True

    # A second evaluation of the same candidate stands down: it is the champion now.
    again = evaluate(flipped, spec, version)
    assert again["decision"] == "superseded" and "champion already" in again["notes"][0]
    assert len(history(flipped.registry, MODEL)["events"]) == 2


def test_a_worse_candidate_is_rejected_and_nothing_moves(tmp_path: Path) -> None:
    stable = trained(tmp_path, flipped=False)
    ticket = rebuild_ticket(stable)
    version = rebuild(stable, flipped=False, shuffled=True, ticket=ticket)

    result = evaluate(stable, stable.workspace.config.model(MODEL), version)

    assert result["decision"] == "rejected" and result["serving_version"] == "1"
    assert any("not surely above the margin" in r for r in result["comparison"]["reasons"])
    assert stable.registry.aliases(MODEL) == {CHAMPION: "1"}
    kept = stable.tickets.get(ticket)
    assert kept.status == "open" and kept.evidence[-1]["event"] == "candidate_rejected"
    assert stable.registry.version_tags(MODEL, version)[candidates.DECISION] == "rejected"
    assert ledger(stable)[0] == ("candidate-rejected", "1", "2")
    # An event does not evaluate a rejected candidate again; the command does.
    spec = stable.workspace.config.model(MODEL)
    assert evaluate(stable, spec, version, on_event=True)["decision"] == "superseded"
    assert evaluate(stable, spec, version)["decision"] == "rejected"


def test_a_candidate_without_lineage_or_data_is_refused_before_anything_is_stored(
    flipped: RefreshPorts,
) -> None:
    spec = flipped.workspace.config.model(MODEL)
    version = rebuild(flipped, lineage_tags=False, ticket=None)
    with pytest.raises(
        UsageError, match=r"version 2 \(run run\d+\): lineage tag\(s\) missing: zenops.data.path"
    ):
        evaluate(flipped, spec, version)
    run_id = flipped.registry.version(MODEL, version).run_id
    before = dict(flipped.registry.versions[MODEL])
    with pytest.raises(UsageError, match=rf"^run {run_id}: lineage tag\(s\) missing"):
        prepare(flipped, spec, run=run_id, version=None, ticket=None)
    with pytest.raises(NotFoundError, match="^--run: no run 'nope' in the tracking store$"):
        prepare(flipped, spec, run="nope", version=None, ticket=None)
    with pytest.raises(NotFoundError, match=r"^model 'churn' has no version 9 \(versions: 1, 2\)$"):
        prepare(flipped, spec, run=None, version="9", ticket=None)
    with pytest.raises(UsageError, match="is the champion already"):
        prepare(flipped, spec, run=None, version="1", ticket=None)
    with pytest.raises(NotFoundError, match="^ticket 77: no such ticket$"):
        prepare(flipped, spec, run=None, version="2", ticket=77)
    assert flipped.registry.versions[MODEL] == before  # nothing registered, nothing tagged
    assert candidates.CANDIDATE not in flipped.registry.version_tags(MODEL, "2")


def test_a_run_is_registered_as_a_tagged_candidate_once_it_checks_out(flipped: RefreshPorts) -> None:
    spec = flipped.workspace.config.model(MODEL)
    ticket = rebuild_ticket(flipped)
    version = rebuild(flipped, ticket=None)
    run_id = flipped.registry.version(MODEL, version).run_id
    empty = flipped.registry.record_run(MODEL, "no model", {"zenops.model": MODEL}, {})
    with pytest.raises(UsageError, match=rf"^run {empty}: logged no model"):
        prepare(flipped, spec, run=empty, version=None, ticket=None)
    other = flipped.registry.record_run("other-model", "other", {"zenops.model": "other-model"}, {})
    with pytest.raises(UsageError, match=f"^run {other}: logged for model 'other-model', not 'churn'$"):
        prepare(flipped, spec, run=other, version=None, ticket=None)

    registered = prepare(flipped, spec, run=run_id, version=None, ticket=ticket)

    assert registered == "3"
    tags = flipped.registry.version_tags(MODEL, registered)
    assert tags[candidates.CANDIDATE] == str(ticket) and candidates.SEEN in tags
    assert evaluate(flipped, spec, registered)["decision"] == "promoted"


def test_notice_announces_each_tagged_version_once(flipped: RefreshPorts) -> None:
    events = FakeEventBus()
    version = rebuild(flipped, ticket=12)
    rebuild(flipped, ticket=None)  # not tagged: not a candidate
    assert notice_candidates(flipped.registry, events, [MODEL, "unknown"]) == [
        {"model": MODEL, "version": version}
    ]
    assert notice_candidates(flipped.registry, events, [MODEL]) == []
    (emitted,) = events.named(CANDIDATE_EVENT)
    assert emitted.resource["prefect.resource.id"] == f"zenops.model.{MODEL}"
    assert emitted.resource["zenops.version"] == version
    assert emitted.payload == {"model": MODEL, "version": version, "ticket": 12, "source": "monitor"}


def test_an_approval_required_candidate_waits_then_promotes_on_approve(tmp_path: Path) -> None:
    world = trained(tmp_path, flipped=True, approval="required")
    spec = world.workspace.config.model(MODEL)
    ticket = rebuild_ticket(world)
    first = rebuild(world, ticket=ticket)
    waiting = evaluate(world, spec, first)
    assert waiting["decision"] == "awaiting_approval" and world.registry.aliases(MODEL)[CHAMPION] == "1"
    first_approval = world.tickets.get(waiting["approval_ticket"])
    assert first_approval.kind == "approval" and first_approval.status == "open"
    assert world.tickets.get(ticket).evidence[-1]["event"] == "awaiting_approval"
    # A second candidate that passes takes the first one's place, on the same approval ticket.
    second = rebuild(world, range(1, 4), ticket=ticket)
    assert evaluate(world, spec, second)["approval_ticket"] == first_approval.id
    assert world.registry.version_tags(MODEL, first)[approval.STATE] == "superseded"
    run = Runner(steps=approvals.STEPS)
    with pytest.raises(
        UsageError, match=f"version {first} is not waiting for approval .it was superseded.: "
    ):
        approvals.approve(world, spec, first, "ana", run=run)
    with pytest.raises(
        NotFoundError, match="^--by: 'zed' is not in the team of zenops.yaml .team: ana, raj.$"
    ):
        approvals.approve(world, spec, second, "zed", run=run)
    assert world.registry.aliases(MODEL) == {CHAMPION: "1", CHALLENGER: second}

    approved = approvals.approve(world, spec, second, "ana", run=run)

    assert approved["decision"] == "approved" and world.registry.aliases(MODEL)[CHAMPION] == second
    assert set(approved["closed_tickets"]) == {first_approval.id, ticket}
    assert world.tickets.get(first_approval.id).outcome.startswith(
        f"approved by ana: version {second} promoted"
    )
    assert world.registry.version_tags(MODEL, second)[candidates.DECISION] == "promoted"
    assert ledger(world) == [
        ("approval", "1", second),
        ("awaiting-approval", "1", second),
        ("awaiting-approval", "1", first),
        ("train", None, "1"),
    ]
    assert history(world.registry, MODEL)["events"][0]["actor"] == "ana"
    with pytest.raises(UsageError, match="no version of it is waiting"):
        approvals.approve(world, spec, second, "ana", run=run)


def test_a_refresh_that_passes_waits_for_approval_and_a_rejection_closes_it(tmp_path: Path) -> None:
    world = trained(tmp_path, flipped=True, approval="required")
    spec = world.workspace.config.model(MODEL)

    result = refresh(world, spec)

    assert result["decision"] == "awaiting_approval" and result["serving_version"] == "1"
    refresh_ticket = world.tickets.get(result["ticket"])
    assert (
        refresh_ticket.status == "in_progress" and refresh_ticket.evidence[-1]["event"] == "awaiting_approval"
    )
    version = result["challenger_version"]
    rejected = approvals.reject(world, spec, version, "raj")
    assert rejected["decision"] == "rejected" and world.registry.aliases(MODEL)[CHAMPION] == "1"
    assert world.tickets.get(result["ticket"]).status == "done"
    assert world.tickets.get(result["approval_ticket"]).outcome.startswith(
        f"rejected by raj: version {version}"
    )
    assert ledger(world)[:2] == [("rejection", "1", version), ("awaiting-approval", "1", version)]
