"""``zenops candidate``, ``history``, ``approve`` and ``reject`` as a user runs them.

One trained workspace; each bad input exits 2 with one line on stderr and changes
nothing stored (the versions, aliases, version tags and tickets are compared before and
after). Every case is a row of ``docs/reliability.md`` (``tests/reliability.py``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from demand.tickets import TicketDraft
from registry.approval import Waiting
from tests.candidates import rebuild
from tests.e2e.conftest import Result, command_runner
from tests.reliability import Table
from tests.workspaces import SavedWorkspace
from zenops.app.demo.datagen import production_stream
from zenops.workspace import Workspace

TABLE = Table("candidates", "Candidates, the ledger and approvals")
RUN_ID = re.compile(r"\b[0-9a-f]{32}\b")
MODEL = "loan-default"


@pytest.fixture(scope="module")
def run(prefect_api):
    return command_runner(prefect_api)


@pytest.fixture(scope="module")
def trained(saved_cli_trained: SavedWorkspace) -> Path:
    """The workspace ``zenops train`` trained, put back once for this module."""
    return saved_cli_trained.restore_root()


def stored(root: Path) -> tuple:
    """What bad input must not change: versions with their tags, aliases, tickets."""
    ws = Workspace(root)
    registry = ws.registry()
    tickets = [(t.id, t.status, len(t.evidence)) for t in ws.ticket_store().list()]
    return registry.all_version_tags(MODEL), registry.aliases(MODEL), tickets


def case(run, root: Path, name: str, command: str, *fragments: str) -> str:
    """Run ``command`` (bad input); the table shows MLflow's random run ids as ``<run>``."""
    before = stored(root)
    result = run(*command.split()[1:], cwd=root)
    shown = Result(result.code, result.stdout, RUN_ID.sub("<run>", result.stderr))
    line = TABLE.record(name, RUN_ID.sub("<run>", command), shown, {root: "<workspace>"})
    assert result.code == 2, (result.code, result.stderr)
    assert len(result.error_lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in line, line
    assert stored(root) == before
    return line


def test_history_prints_the_ledger_as_json(run, trained: Path) -> None:
    result = run("history", MODEL, "--json", cwd=trained)
    assert result.code == 0, result.stderr
    ledger = result.json()
    assert ledger["model"] == MODEL
    (event,) = ledger["events"]
    assert {"at", "action", "from_version", "to_version", "actor", "ticket", "evidence"} <= set(event)
    assert (event["action"], event["from_version"], event["to_version"]) == ("train", None, "1")
    assert event["actor"] == "zenops train" and "holdout roc_auc" in event["evidence"]["reason"]
    shown = run("history", MODEL, cwd=trained)
    assert shown.code == 0 and "train" in shown.stdout and "v- → v1" in shown.stdout


def test_bad_candidates_are_refused_and_nothing_changes(run, trained: Path) -> None:
    ws = Workspace(trained)
    other_run, _ = rebuild(ws, "demand-forecast", labelled("demand-forecast"), register=False)
    bare_run, _ = rebuild(ws, MODEL, labelled(MODEL), lineage_tags=False, register=False)
    empty_run = ws.registry().record_run(MODEL, "notes only", {"zenops.model": MODEL}, {})
    closed = ws.ticket_store().open_or_update(TicketDraft(kind="refresh", title="done", model=MODEL))[0].id
    store = ws.ticket_store()
    store.transition(closed, "in_progress")
    store.close(closed, outcome="done")
    foreign = store.open_or_update(TicketDraft(kind="rebuild", title="x", model="demand-forecast"))[0].id

    case(run, trained, "an unknown model", "zenops candidate nope --version 1", "no model named 'nope'")
    case(
        run,
        trained,
        "neither --run nor --version",
        f"zenops candidate {MODEL}",
        "give --run RUN_ID or --version N",
    )
    case(
        run,
        trained,
        "an unknown version",
        f"zenops candidate {MODEL} --version 9",
        "has no version 9 (versions: 1)",
    )
    case(
        run,
        trained,
        "the champion itself",
        f"zenops candidate {MODEL} --version 1",
        "is the champion already",
    )
    case(run, trained, "an unknown run", f"zenops candidate {MODEL} --run 0123abc", "--run: no run '0123abc'")
    case(
        run,
        trained,
        "a run that logged no model",
        f"zenops candidate {MODEL} --run {empty_run}",
        "logged no model",
    )
    case(
        run, trained, "a run of another model", f"zenops candidate {MODEL} --run {other_run}",
        "logged for model 'demand-forecast', not 'loan-default'",
    )  # fmt: skip
    case(
        run, trained, "a run without lineage tags", f"zenops candidate {MODEL} --run {bare_run}",
        "lineage tag(s) missing: zenops.data.path",
    )  # fmt: skip
    case(
        run,
        trained,
        "a ticket that does not exist",
        f"zenops candidate {MODEL} --run {bare_run} --ticket 99",
        "99",
    )
    case(
        run, trained, "a closed ticket", f"zenops candidate {MODEL} --version 1 --ticket {closed}",
        f"--ticket {closed}: already done",
    )  # fmt: skip
    case(
        run, trained, "a ticket of another model", f"zenops candidate {MODEL} --version 1 --ticket {foreign}",
        "not a rebuild or refresh of 'loan-default'",
    )  # fmt: skip
    # A version registered from another model's run.
    registry = ws.registry()
    other = registry.logged_models(other_run)[0][1]
    version = registry.register(MODEL, other, other_run, {})
    case(
        run, trained, "a version of another model", f"zenops candidate {MODEL} --version {version}",
        "its run was logged for model 'demand-forecast'",
    )  # fmt: skip
    case(run, trained, "the ledger of an unknown model", "zenops history nope", "no model named 'nope'")
    case(
        run, trained, "the ledger of a model never trained", "zenops history demand-forecast",
        "is not a registered model in the tracking store",
    )  # fmt: skip


def test_approvals_by_someone_outside_the_team_or_of_a_version_not_waiting_are_refused(
    run, trained: Path
) -> None:
    registry = Workspace(trained).registry()
    case(
        run,
        trained,
        "an approval when no version waits",
        f"zenops approve {MODEL} 1 --by ana",
        "no version of it is waiting",
    )
    versions = sorted(registry.all_version_tags(MODEL), key=int)
    if versions == ["1"]:  # run on its own: no earlier test of the module registered a candidate
        first = registry.version(MODEL, "1").run_id
        versions.append(registry.register(MODEL, registry.logged_models(first)[0][1], first, {}))
    waiting = Waiting(MODEL, versions[-1], 5, "1", "candidate")
    for key, value in waiting.tags().items():  # the tags a passed gate leaves on the version
        registry.set_version_tag(MODEL, waiting.version, key, value)
    case(
        run, trained, "an approval by someone not in the team",
        f"zenops approve {MODEL} {waiting.version} --by zed", "--by: 'zed' is not in the team of zenops.yaml",
    )  # fmt: skip
    case(
        run, trained, "a stale approval (another version waits)", f"zenops approve {MODEL} 1 --by ana",
        f"version 1 is not waiting for approval: version {waiting.version} is (approval ticket #5)",
    )  # fmt: skip
    case(
        run,
        trained,
        "a rejection by someone not in the team",
        f"zenops reject {MODEL} {waiting.version} --by zed",
        "'zed'",
    )


def test_a_candidate_with_nothing_to_compare_on_is_rejected_with_json(run, trained: Path) -> None:
    ws = Workspace(trained)
    run_id, _ = rebuild(ws, MODEL, labelled(MODEL), register=False)
    ticket = ws.ticket_store().open_or_update(TicketDraft(kind="rebuild", title="rebuild", model=MODEL))[0].id
    result = run("candidate", MODEL, "--run", run_id, "--ticket", str(ticket), "--json", cwd=trained)
    assert result.code == 0, result.stderr
    found = result.json()
    assert {"model", "champion_version", "candidate_version", "comparison", "decision", "ticket"} <= set(
        found
    )
    assert found["decision"] == "rejected" and found["ticket"] == ticket
    assert found["comparison"]["reasons"] == [
        "no labelled production rows newer than the candidate's training data "
        "(its newest row is of 2024-07-01 22:49): nothing to compare on"
    ]
    assert ws.registry().version_tags(MODEL, found["candidate_version"])["zenops.candidate"] == str(ticket)


def labelled(model: str):
    stream = production_stream(model, days=2, rows_per_day=300, seed=9)
    return stream[0].labelled()


def test_the_reliability_table_is_the_one_in_the_docs(request) -> None:
    TABLE.check(request)
