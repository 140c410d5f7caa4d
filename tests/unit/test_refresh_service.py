"""The refresh service on fakes of the registry, the data store and the ticket store.

The champion is trained by the training service on the same fakes; production days
arrive as files. The fakes keep their state in memory, and the tests assert on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from demand.tickets import TicketDraft
from registry import lineage
from registry.promotion import AUDIT_RUN_KIND, AUDIT_STATE, CHAMPION_ACTION, CHAMPION_REPLACED_BY
from registry.versions import CHALLENGER, CHAMPION, PREVIOUS_CHAMPION
from tests.faults import crash_at
from tests.unit.training_world import MODEL, arrive, ports, workspace
from zenops.kernel.errors import NotFoundError, ZenopsError
from zenops.services.champion_profile import SHA_TAG
from zenops.services.refresh import steps
from zenops.services.refresh.context import RefreshPorts, Runner
from zenops.services.refresh.rollback import rollback
from zenops.services.refresh.run import refresh
from zenops.services.train.run import train


@pytest.fixture
def world(tmp_path: Path) -> RefreshPorts:
    """The champion (version 1) trained, six production days arrived whose concept flipped."""
    world = ports(workspace(tmp_path / "ws"))
    train(world, world.workspace.config.model(MODEL))
    arrive(world.workspace, flipped=True)
    return world


def audits(world: RefreshPorts) -> list[tuple[str, dict[str, str]]]:
    """The audit runs after the first training's (which made version 1 champion)."""
    found = world.registry.runs_with_tags(MODEL, {lineage.RUN_KIND: AUDIT_RUN_KIND})
    assert found[0][1]["zenops.audit.action"] == "trained"
    return found[1:]


def test_a_challenger_that_wins_is_promoted_with_aliases_audit_and_ticket(world: RefreshPorts) -> None:
    spec = world.workspace.config.model(MODEL)

    result = refresh(world, spec)

    assert result["decision"] == "promoted", result["comparison"]["reasons"]
    versions = (result["champion_version"], result["challenger_version"], result["serving_version"])
    assert versions == ("1", "2", "2")
    assert result["comparison"]["bootstrap"]["relative_low"] > 0 and result["comparison"]["rows"] == 240
    assert world.registry.aliases(MODEL) == {CHAMPION: "2", PREVIOUS_CHAMPION: "1"}
    # The challenger's run: the champion's lineage on the refreshed data version, the decision, the figures.
    run = world.registry.runs[world.registry.version(MODEL, "2").run_id]
    assert run.tags[lineage.REFRESHES] == "1" and run.tags[lineage.RUN_KIND] == "refresh"
    assert run.tags["zenops.refresh.ticket"] == str(result["ticket"])
    assert run.tags["zenops.refresh.decision"] == "promoted"
    assert run.tags[lineage.DATA_REV] == result["data_rev"] == world.data.head()
    assert len(world.data.commits) == 2
    assert run.artifacts["comparison.json"]["promote"] is True and run.metrics["compare_rows"] == 240
    assert result["training_rows"] == 480  # only the four production days before the window are kept
    # One audit run, committed; the versions' champion tags; the ticket closed with the evidence.
    ((audit_run, tags),) = audits(world)
    assert tags[AUDIT_STATE] == "committed" and tags["zenops.audit.to_version"] == "2"
    record = world.registry.runs[audit_run].artifacts["audit.json"]
    assert record["aliases_before"] == {CHAMPION: "1", CHALLENGER: "2"}
    assert world.registry.version_tags(MODEL, "2")[CHAMPION_ACTION] == "promoted"
    assert world.registry.version_tags(MODEL, "1")[CHAMPION_REPLACED_BY] == "2"
    ticket = world.tickets.get(result["ticket"])
    assert ticket.status == "done" and ticket.outcome.startswith("promoted version 2 over 1")
    assert ticket.idempotency_key == f"{MODEL}/refresh/manual"
    assert ticket.evidence[-1]["event"] == "promoted" and ticket.evidence[-1]["audit_run"] == audit_run
    # The new champion's profile is built on the refresh's own registry, not the workspace's.
    assert world.registry.version_tags(MODEL, "2")[SHA_TAG]

    rolled = rollback(world, MODEL)
    assert world.registry.aliases(MODEL) == {CHAMPION: "1", PREVIOUS_CHAMPION: "2"}
    assert (
        rolled["ticket"] == result["ticket"]
        and world.tickets.get(ticket.id).evidence[-1]["event"] == "rolled_back"
    )


def test_a_challenger_that_loses_is_handed_back_with_a_dossier(tmp_path: Path) -> None:
    world = ports(workspace(tmp_path / "ws"))
    spec = world.workspace.config.model(MODEL)
    train(world, spec)
    arrive(world.workspace, flipped=False)  # nothing a refresh can fix

    result = refresh(world, spec)

    assert result["decision"] == "handed_back" and result["serving_version"] == "1"
    assert world.registry.aliases(MODEL) == {CHAMPION: "1", CHALLENGER: "2"}
    assert audits(world) == []
    rebuild = world.tickets.get(result["rebuild_ticket"])
    assert rebuild.kind == "rebuild" and rebuild.status == "open"
    assert rebuild.idempotency_key == f"{MODEL}/rebuild/refresh-handback"
    text = Path(result["dossier"]).read_text()
    assert text == rebuild.notes == rebuild.evidence[0]["dossier_markdown"]
    assert f"models:/{MODEL}/2" in text and "| roc_auc (gate) |" in text
    run = world.registry.runs[world.registry.version(MODEL, "2").run_id]
    assert run.artifacts["dossier.md"] == text and run.tags["zenops.refresh.decision"] == "handed_back"
    refreshed = world.tickets.get(result["ticket"])
    assert refreshed.status == "done" and refreshed.outcome.startswith("handed back: challenger version 2")

    # A refresh an event starts now stands down: the rebuild is still open.
    again = refresh(world, spec, on_event=True)
    assert again["decision"] == "superseded" and "rebuild ticket" in again["notes"][0]
    assert list(world.registry.versions[MODEL]) == ["1", "2"]


def test_a_hand_back_takes_in_the_rebuild_ticket_monitoring_opened(tmp_path: Path) -> None:
    world = ports(workspace(tmp_path / "ws"))
    spec = world.workspace.config.model(MODEL)
    train(world, spec)
    arrive(world.workspace, flipped=False)
    monitoring, _ = world.tickets.open_or_update(
        TicketDraft(
            kind="rebuild",
            title="Rebuild: performance lost beyond a refresh",
            model=MODEL,
            incident="monitoring",
            evidence={"batch": "2024-07-03.csv", "verdict": "rebuild"},
        ),
        actor="zenops monitor",
    )

    result = refresh(world, spec)

    assert result["decision"] == "handed_back"
    merged = world.tickets.get(monitoring.id)
    assert merged.status == "cancelled"
    assert merged.outcome == (
        f"merged into rebuild ticket #{result['rebuild_ticket']}, the hand-back that carries the dossier"
    )
    handback = world.tickets.get(result["rebuild_ticket"])
    assert handback.evidence[-1] == {
        "batch": "2024-07-03.csv",
        "verdict": "rebuild",
        "merged_from": monitoring.id,
    }
    assert [t.id for t in world.tickets.list(kind="rebuild", model=MODEL) if t.is_open] == [handback.id]


def test_a_failed_audit_write_puts_the_aliases_back_and_blocks_the_ticket(world: RefreshPorts) -> None:
    spec = world.workspace.config.model(MODEL)
    with (
        crash_at(world.registry, "record_run", "after-alias-move"),
        pytest.raises(ZenopsError, match="injected crash at after-alias-move"),
    ):
        refresh(world, spec)
    assert world.registry.aliases(MODEL) == {CHAMPION: "1", CHALLENGER: "2"}
    assert audits(world) == [] and CHAMPION_ACTION not in world.registry.version_tags(MODEL, "2")
    (ticket,) = world.tickets.list(kind="refresh")
    assert ticket.status == "blocked" and ticket.evidence[-1]["event"] == "refresh_failed"
    assert "injected crash" in ticket.evidence[-1]["error"]


def test_a_failure_after_the_audit_marks_it_rolled_back_and_puts_everything_back(world: RefreshPorts) -> None:
    spec = world.workspace.config.model(MODEL)
    with crash_at(world.tickets, "close", "ticket-close"), pytest.raises(ZenopsError, match="ticket-close"):
        refresh(world, spec)
    assert world.registry.aliases(MODEL) == {CHAMPION: "1", CHALLENGER: "2"}
    ((_, tags),) = audits(world)
    assert tags[AUDIT_STATE] == "rolled-back"
    assert CHAMPION_ACTION not in world.registry.version_tags(MODEL, "2")
    assert CHAMPION_REPLACED_BY not in world.registry.version_tags(MODEL, "1")


def test_a_model_without_a_champion_is_refused_in_one_line(tmp_path: Path) -> None:
    world = ports(workspace(tmp_path / "ws"))
    with pytest.raises(NotFoundError) as refused:
        refresh(world, world.workspace.config.model(MODEL))
    assert str(refused.value) == f"model '{MODEL}' has no champion to refresh: run 'zenops train {MODEL}'"
    assert world.tickets.list() == [] and world.data.commits == []


def test_a_refresh_whose_champion_moved_while_it_waited_stands_down(world: RefreshPorts) -> None:
    spec = world.workspace.config.model(MODEL)
    train(world, spec)  # version 2, not champion

    @contextmanager
    def another_refresh_promotes_meanwhile() -> Iterator[None]:
        world.registry.set_alias(MODEL, CHAMPION, "2")
        yield

    result = refresh(world, spec, run=Runner(steps=steps, exclusive=another_refresh_promotes_meanwhile))
    assert result["decision"] == "superseded" and result["serving_version"] == "2"
    assert result["challenger_version"] is None and "moved from version 1 to 2" in result["notes"][0]
    assert world.tickets.list() == [] and list(world.registry.versions[MODEL]) == ["1", "2"]
