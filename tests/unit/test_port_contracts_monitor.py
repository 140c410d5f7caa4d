"""The monitoring ports' contracts: one set of checks, run on the fake and on the real adapter.

- :class:`~zenops.ports.MonitorState` (with its leases): the fake of ``tests/fakes`` and
  :class:`~zenops.adapters.monitor_state.MonitorStateStore` on a SQLite file in ``tmp_path``.
- :class:`~zenops.ports.EventBus`: the fake here; :class:`~zenops.adapters.prefect_events.PrefectEvents`
  against a real Prefect API in ``tests/integration/test_port_contracts_events.py``, with
  the same :func:`check_event_bus`.

SQLAlchemy is imported only where the real store is opened (its fixture, the schema test).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from drift.labels import MATCHED, WAITING, LabelRow
from tests.fakes.events import FakeEventBus
from tests.fakes.monitor_state import FakeMonitorState
from zenops.ports import Changes, EventBus, FileRecord, LeaseTaken, ModelState, MonitorState, ScoredBatch

ARRIVED = datetime(2024, 7, 1, 12, tzinfo=UTC)


def real_store(tmp_path: Path) -> MonitorState:
    from zenops.adapters.monitor_state import MonitorStateStore

    return MonitorStateStore(f"sqlite:///{tmp_path / 'zenops.db'}")


@pytest.fixture(params=["fake", "sqlite"])
def state(request, tmp_path: Path) -> MonitorState:
    return FakeMonitorState() if request.param == "fake" else real_store(tmp_path)


def label(row_id: str, status: str = WAITING, batch: str | None = None, target: str = "1") -> LabelRow:
    return LabelRow(row_id, target, "labels/2024-07-01.csv", ARRIVED, batch, status)


def by_id(rows: list[LabelRow]) -> list[LabelRow]:
    return sorted(rows, key=lambda row: row.row_id)


def test_a_model_never_seen_has_no_watermark(state: MonitorState) -> None:
    assert state.get("m") == ModelState("m")
    assert state.files("m") == {}
    assert state.labels("m") == []
    assert state.all() == []


def test_advancing_stores_the_watermark_with_its_files_and_labels_at_once(state: MonitorState) -> None:
    watermark = ModelState(
        "m", "2024-07-01.csv", "2024-07-01.csv", drift_streak=2, last_verdict="warn", last_report=ARRIVED
    )
    read = FileRecord("labels", "2024-07-01.csv", "abc", "read", rows=2)
    ignored = FileRecord("batches", "notes.txt", None, "ignored", note="not read")
    state.advance(watermark, Changes(files=[read, ignored], labels=[label("a"), label("b", MATCHED, "b1")]))
    state.advance(ModelState("k", "x.csv"))

    assert state.get("m") == watermark
    assert [s.model for s in state.all()] == ["k", "m"]
    assert state.files("m") == {("labels", "2024-07-01.csv"): read, ("batches", "notes.txt"): ignored}
    assert by_id(state.labels("m")) == [label("a"), label("b", MATCHED, "b1")]
    assert state.labels("m", ids=["b", "zz"]) == [label("b", MATCHED, "b1")]
    assert state.labels("m", status=WAITING) == [label("a")]
    assert state.labels("k") == [] and state.files("k") == {}


def test_advancing_again_replaces_a_file_read_again_and_a_label_that_matched(state: MonitorState) -> None:
    first = FileRecord("labels", "l.csv", "abc", "read", rows=1)
    state.advance(ModelState("m", "1.csv"), Changes(files=[first], labels=[label("a"), label("b")]))
    changed = FileRecord("labels", "l.csv", "def", "refused", note="l.csv: no id column")
    state.advance(ModelState("m", "2.csv"), Changes(files=[changed], labels=[label("a", MATCHED, "2")]))

    assert state.get("m").last_batch == "2.csv"
    assert state.files("m") == {("labels", "l.csv"): changed}
    assert by_id(state.labels("m")) == [label("a", MATCHED, "2"), label("b")]


def test_scored_ids_are_stored_with_the_watermark_and_looked_up_by_id(state: MonitorState) -> None:
    assert state.has_scored("m") is False and state.scored("m", ["a"]) == {}
    first = ScoredBatch("2024-07-01", ("a", "b", "c"))
    state.advance(ModelState("m", "2024-07-01.csv"), Changes(scored=[first]))
    state.advance(ModelState("k", "x.csv"), Changes(scored=[ScoredBatch("x", ("a",))]))
    # A later batch scoring an id again is the one that scored it last.
    state.advance(ModelState("m", "2024-07-02.csv"), Changes(scored=[ScoredBatch("2024-07-02", ("c", "d"))]))

    assert state.get("m").last_batch == "2024-07-02.csv"
    assert state.has_scored("m") and state.has_scored("k") and not state.has_scored("other")
    assert state.scored("m", ["a", "c", "d", "zz", "a"]) == {
        "a": "2024-07-01",
        "c": "2024-07-02",
        "d": "2024-07-02",
    }
    assert state.scored("k", ["a", "c"]) == {"a": "x"}
    assert state.scored("m", []) == {}


def test_a_batch_stored_again_keeps_only_its_new_ids(state: MonitorState) -> None:
    state.advance(ModelState("m", "1.csv"), Changes(scored=[ScoredBatch("1", ("a", "b"))]))
    # One advance filling several batches at once: in order, the later batch of an id wins.
    again = [ScoredBatch("1", ("b", "c")), ScoredBatch("2", ("c", "e")), ScoredBatch("3", ())]
    state.advance(ModelState("m", "3.csv"), Changes(scored=again))

    assert state.scored("m", ["a", "b", "c", "e"]) == {"b": "1", "c": "2", "e": "2"}


def test_many_ids_are_stored_and_looked_up_past_any_chunk(state: MonitorState) -> None:
    ids = tuple(f"r{i}" for i in range(1234))
    state.advance(ModelState("m", "1.csv"), Changes(scored=[ScoredBatch("1", ids)]))
    state.advance(ModelState("m", "2.csv"), Changes(scored=[ScoredBatch("2", ids[1000:])]))
    found = state.scored("m", [*ids, "missing"])
    assert len(found) == 1234 and found["r999"] == "1" and found["r1000"] == found["r1233"] == "2"


def test_a_database_made_before_the_scored_index_gets_it_and_its_indexes_on_opening(tmp_path: Path) -> None:
    from sqlalchemy import inspect, text

    from zenops.adapters.monitor_state import MonitorStateStore

    url = f"sqlite:///{tmp_path / 'zenops.db'}"
    before = MonitorStateStore(url)
    before.advance(ModelState("m", "2024-07-01.csv"), Changes(labels=[label("a")]))
    with before.engine.begin() as connection:
        connection.execute(text("DROP TABLE scored_ids"))
        connection.execute(text("DROP INDEX ix_label_rows_status"))
    before.engine.dispose()
    assert "scored_ids" not in inspect(before.engine).get_table_names()
    assert inspect(before.engine).get_indexes("label_rows") == []

    store = MonitorStateStore(url)
    MonitorStateStore(url)  # opening it again changes nothing

    assert "scored_ids" in inspect(store.engine).get_table_names()
    assert [i["name"] for i in inspect(store.engine).get_indexes("label_rows")] == ["ix_label_rows_status"]
    assert store.get("m").last_batch == "2024-07-01.csv" and store.labels("m") == [label("a")]
    assert store.labels("m", status=WAITING) == [label("a")]
    assert store.has_scored("m") is False
    store.advance(ModelState("m", "2024-07-02.csv"), Changes(scored=[ScoredBatch("2024-07-02", ("a",))]))
    assert store.scored("m", ["a"]) == {"a": "2024-07-02"}


def test_a_database_made_before_the_report_cadence_gets_its_column_on_opening(tmp_path: Path) -> None:
    from sqlalchemy import inspect, text

    from zenops.adapters.monitor_state import MonitorStateStore

    url = f"sqlite:///{tmp_path / 'zenops.db'}"
    before = MonitorStateStore(url)
    before.advance(ModelState("m", "2024-07-01.csv", last_verdict="ok"))
    with before.engine.begin() as connection:
        connection.execute(text("ALTER TABLE monitor_state DROP COLUMN last_report"))
    before.engine.dispose()
    assert "last_report" not in {c["name"] for c in inspect(before.engine).get_columns("monitor_state")}

    store = MonitorStateStore(url)
    MonitorStateStore(url)  # opening it again changes nothing

    assert store.get("m") == ModelState("m", "2024-07-01.csv", last_verdict="ok")
    store.advance(ModelState("m", "2024-07-02.csv", last_verdict="ok", last_report=ARRIVED))
    assert store.get("m").last_report == ARRIVED and store.all()[0].last_report == ARRIVED


def test_a_lease_is_held_by_one_holder_at_a_time(state: MonitorState) -> None:
    leases = state.leases()
    with leases.hold("monitor:m"):
        held = leases.current("monitor:m")
        assert held is not None
        with pytest.raises(LeaseTaken, match=f"monitor:m is held by {held.holder}"):
            leases.acquire("monitor:m", "elsewhere:2:b", ttl=30)
        assert leases.renew("monitor:m", "elsewhere:2:b", ttl=30) is False
        with leases.hold("monitor:k"):  # another name is free
            assert leases.current("monitor:k") is not None
    assert leases.current("monitor:m") is None


def test_an_expired_lease_is_taken_over(state: MonitorState) -> None:
    leases = state.leases()
    leases.acquire("monitor:m", "gone-host:7:x", ttl=0)
    assert leases.acquire("monitor:m", "here:1:a", ttl=30).holder == "gone-host:7:x"
    assert leases.current("monitor:m").holder == "here:1:a"
    leases.release("monitor:m", "here:1:a")
    assert leases.current("monitor:m") is None


# -- the event bus -------------------------------------------------------------

ReadBack = Callable[[str, str], dict[str, Any]]


def check_event_bus(bus: EventBus, read_back: ReadBack) -> None:
    """Emit one event; ``read_back(event, resource_id)`` must give its resource, payload and related."""
    resource = {"prefect.resource.id": "zenops.model.contract", "zenops.verdict": "refresh"}
    related = [{"prefect.resource.id": "zenops.ticket.7", "prefect.resource.role": "ticket"}]
    payload = {"model": "contract", "ticket": 7, "reasons": ["drift"], "report_uri": None}
    bus.emit("zenops.contract.checked", resource, payload, related=related)
    bus.emit("zenops.contract.checked", {"prefect.resource.id": "zenops.model.other"}, {"n": 1})

    found = read_back("zenops.contract.checked", "zenops.model.contract")
    assert {k: found["resource"].get(k) for k in resource} == resource
    assert found["payload"] == payload
    for item in related:
        assert any(item.items() <= got.items() for got in found["related"]), found["related"]


def fake_read_back(bus: FakeEventBus) -> ReadBack:
    def read(event: str, resource_id: str) -> dict[str, Any]:
        (found,) = [e for e in bus.named(event) if e.resource["prefect.resource.id"] == resource_id]
        return {"resource": found.resource, "payload": found.payload, "related": found.related}

    return read


def test_the_fake_event_bus_keeps_what_was_emitted() -> None:
    bus = FakeEventBus()
    check_event_bus(bus, fake_read_back(bus))
    assert [e.resource["prefect.resource.id"] for e in bus.emitted] == [
        "zenops.model.contract",
        "zenops.model.other",
    ]


def test_leases_expire_on_the_clock_not_on_zenops_now(state: MonitorState, monkeypatch) -> None:
    monkeypatch.setenv("ZENOPS_NOW", (datetime.now(UTC) - timedelta(days=30)).isoformat())
    leases = state.leases()
    with leases.hold("monitor:m"), pytest.raises(LeaseTaken):
        leases.acquire("monitor:m", "elsewhere:2:b", ttl=30)
