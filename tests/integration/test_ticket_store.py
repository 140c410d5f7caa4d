"""The SQL ticket store on a real SQLite file and a real PostgreSQL server.

PostgreSQL tests need ``ZENOPS_TEST_POSTGRES_URL`` (``scripts/postgres.sh start``
prints one); without it they are skipped, or fail when ``CI`` is set.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import MetaData, Table, create_engine, func, insert, inspect, select

from demand.adapters.plan_log import SqlPlanLog, plans_table
from demand.adapters.plan_log import metadata as plan_metadata
from demand.adapters.sql import SqlTicketRepository, mask_url, metadata, open_store, tickets_table
from demand.phases import Phase
from tests.unit.test_demand_plan_log import PlanLogContract
from tests.unit.test_demand_repository import Clock, RepositoryContract, draft
from zenops.kernel.errors import StoreError

ROOT = Path(__file__).resolve().parents[2]


def postgres_url() -> str:
    """The test server's URL, or skip (fail on CI) when there is none."""
    url = os.environ.get("ZENOPS_TEST_POSTGRES_URL")
    if url:
        return url
    message = (
        "ZENOPS_TEST_POSTGRES_URL is not set: start a server with 'scripts/postgres.sh start' "
        "and export the URL it prints (scripts/run-tests.sh does this)"
    )
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def fresh_postgres() -> str:
    """The PostgreSQL URL with the store's tables dropped."""
    url = postgres_url()
    engine = create_engine(url)
    try:
        metadata.drop_all(engine)
    finally:
        engine.dispose()
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/store/tickets.db"
    return fresh_postgres()


class TestSqlTicketRepository(RepositoryContract):
    @pytest.fixture
    def repo(self, store_url):
        store = SqlTicketRepository(store_url, clock=Clock())
        yield store
        store.dispose()


class TestSqlPlanLog(PlanLogContract):
    @pytest.fixture
    def log(self, store_url):
        if store_url.startswith("postgresql"):
            engine = create_engine(store_url)
            plan_metadata.drop_all(engine)
            engine.dispose()
        store = SqlTicketRepository(store_url, clock=Clock())  # makes the SQLite folder
        yield SqlPlanLog(store_url, engine=store._engine)
        store.dispose()

    @staticmethod
    def count(log, mode):
        with log._engine.connect() as conn:
            return conn.execute(select(func.count()).where(plans_table.c.mode == mode)).scalar_one()


def test_tables_are_created_once_and_data_survives_reopening(store_url):
    with open_store(store_url) as first:
        ticket, _ = first.open_or_update(draft(evidence={"a": 1}))
    with open_store(store_url) as second:
        assert second.get(ticket.id).evidence == ({"a": 1},)
    engine = create_engine(store_url)
    try:
        inspector = inspect(engine)
        assert {"tickets", "ticket_evidence", "ticket_events"} <= set(inspector.get_table_names())
        indexes = {i["name"]: i for i in inspector.get_indexes("tickets")}
        assert indexes["uq_tickets_open_incident"]["unique"]
    finally:
        engine.dispose()


def test_the_database_refuses_a_second_open_ticket_for_one_incident(store_url):
    """The partial unique index holds even for writers that skip the repository."""
    from sqlalchemy import insert

    from demand.adapters.sql import _row, tickets_table

    with open_store(store_url) as store:
        ticket, _ = store.open_or_update(draft())
        engine = create_engine(store_url)
        try:
            with pytest.raises(Exception, match="(?i)unique"), engine.begin() as conn:
                conn.execute(insert(tickets_table).values(**_row(ticket)))
            store.close(ticket.id, outcome="x", status="cancelled")
            with engine.begin() as conn:  # a closed incident no longer blocks a new one
                conn.execute(insert(tickets_table).values(**_row(ticket)))
        finally:
            engine.dispose()


def test_a_store_made_before_phases_gains_their_columns_and_keeps_its_tickets(store_url):
    """A database an earlier release created: its tickets read as having no phases and no waits."""
    old = MetaData()
    Table(
        "tickets",
        old,
        *(
            column.copy()
            for column in tickets_table.columns
            if column.name not in ("phases", "after_tickets")
        ),
    )
    if store_url.startswith("sqlite:///"):
        Path(store_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(store_url)
    try:
        old.create_all(engine)
        ticket = draft(None)
        values = {c.name: getattr(ticket, c.name) for c in old.tables["tickets"].columns if c.name != "id"}
        values.update(skills=[], data_assets=[], produces=[])
        with engine.begin() as conn:
            conn.execute(insert(old.tables["tickets"]).values(**values))
    finally:
        engine.dispose()
    with open_store(store_url) as store:
        (kept,) = store.list()
        assert kept.phases == () and kept.after == () and kept.title == ticket.title
        phased, _ = store.open_or_update(draft(None, phases=(Phase("build", effort=2.0),), after=(kept.id,)))
        assert store.get(phased.id).phases == (Phase("build", effort=2.0),)
    columns = {c["name"] for c in inspect(create_engine(store_url)).get_columns("tickets")}
    assert {"phases", "after_tickets"} <= columns


def test_the_sqlite_folder_is_created(tmp_path):
    url = f"sqlite:///{tmp_path}/a/b/c/zenops.db"
    with open_store(url) as store:
        store.open_or_update(draft())
    assert (tmp_path / "a/b/c/zenops.db").is_file()


def test_store_errors_name_the_url_without_its_password():
    assert (
        mask_url("postgresql+psycopg://zenops:s3cret@127.0.0.1:1/db")
        == "postgresql+psycopg://zenops:***@127.0.0.1:1/db"
    )
    with pytest.raises(StoreError) as caught:
        open_store("postgresql+psycopg://zenops:s3cret@127.0.0.1:1/zenops?connect_timeout=2")
    message = str(caught.value)
    assert "s3cret" not in message and "zenops:***@127.0.0.1:1" in message and "\n" not in message
    with pytest.raises(StoreError, match="nosuchdb://"):
        open_store("nosuchdb://u:p@h/x")


_PROCESS_SCRIPT = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from demand.adapters.sql import open_store
    from demand.tickets import TicketDraft, new_ticket
    url, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    now = datetime(2025, 1, 6, 9, tzinfo=UTC)
    with open_store(url) as store:
        for i in range(count):
            draft = TicketDraft(kind="refresh", model="loan-default", sla="gold", incident="drift",
                                evidence={"reporter": f"{name}-{i}"})
            store.open_or_update(new_ticket(draft, now=now))
    """
)


def test_two_processes_reporting_one_incident_open_one_ticket(store_url):
    open_store(store_url).dispose()  # the tables exist before the race starts
    count = 10
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _PROCESS_SCRIPT, store_url, name, str(count)],
            cwd=ROOT,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("p1", "p2")
    ]
    for worker in workers:
        _, stderr = worker.communicate(timeout=120)
        assert worker.returncode == 0, stderr
    with open_store(store_url) as store:
        (ticket,) = store.list()
        reporters = sorted(e["reporter"] for e in ticket.evidence)
        assert reporters == sorted(f"{p}-{i}" for p in ("p1", "p2") for i in range(count))
        actions = [e.action for e in store.history(ticket.id)]
        assert actions.count("opened") == 1 and actions.count("evidence") == 2 * count


def test_a_memory_database_works_for_one_process():
    with open_store("sqlite://") as store:
        ticket, created = store.open_or_update(draft())
        assert created and store.get(ticket.id).id == ticket.id
