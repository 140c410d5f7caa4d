"""Bad input as a user meets it: each case exits 2 (or 1) with exactly one line on stderr.

The cases share one trained workspace; each test restores ``zenops.yaml`` after
itself. Every case is a row of ``docs/reliability.md`` (see ``tests/reliability.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.e2e.conftest import command_runner
from tests.reliability import Table
from tests.workspaces import SavedWorkspace

TABLE = Table("cli", "Configuration, stores and commands")


@pytest.fixture(scope="module")
def run(prefect_api):
    return command_runner(prefect_api)


@pytest.fixture(scope="module")
def trained(saved_cli_trained: SavedWorkspace) -> Path:
    """The workspace ``zenops train`` trained, put back once for this module."""
    return saved_cli_trained.restore_root()


@pytest.fixture
def ws(trained: Path):
    config = (trained / "zenops.yaml").read_text()
    yield trained
    (trained / "zenops.yaml").write_text(config)


def edit(root: Path, change) -> None:
    config = yaml.safe_load((root / "zenops.yaml").read_text())
    change(config)
    (root / "zenops.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def case(run, root: Path, name: str, command: str, code: int = 2, *fragments: str, env=None) -> str:
    """Run ``command`` (a line as a user types it, after any VAR=value), check and record it."""
    words = command.split()
    assert words[0] == "zenops"
    result = run(*words[1:], cwd=root, env=env)
    shown = " ".join([*(f"{k}={v}" for k, v in (env or {}).items()), command])
    line = TABLE.record(name, shown, result, {root: "<workspace>"})
    assert result.code == code, (result.code, result.stderr)
    assert len(result.error_lines) == 1, result.stderr
    assert line.startswith("zenops: error: ")
    for fragment in fragments:
        assert fragment in line, line
    return line


def test_a_mistyped_tracking_store_is_refused_and_not_created(run, ws: Path) -> None:
    typo = {"ZENOPS_TRACKING_URI": "sqlite:///.zenops/mlflw-typo.db"}
    (ws / "data" / "loan-default" / "batches" / "2024-07-01.csv").write_text("id\n1\n")
    try:
        case(
            run, ws, "tracking store: a SQLite file that does not exist", "zenops monitor", 2,
            "ZENOPS_TRACKING_URI", "mlflw-typo.db", env=typo,
        )  # fmt: skip
    finally:
        (ws / "data" / "loan-default" / "batches" / "2024-07-01.csv").unlink()
    assert not (ws / ".zenops" / "mlflw-typo.db").exists()
    edit(ws, lambda c: c.setdefault("stores", {}).update(tracking_uri="htp:/not a uri"))
    case(
        run, ws, "tracking store: `stores.tracking_uri: htp:/not a uri` in zenops.yaml", "zenops monitor", 2,
        "stores.tracking_uri", "'htp:/not a uri' is not a URI",
    )  # fmt: skip
    case(
        run, ws, "tracking store: an unknown scheme", "zenops status", 2,
        "ZENOPS_TRACKING_URI", "unknown scheme 'ftp'", env={"ZENOPS_TRACKING_URI": "ftp://host/mlflow"},
    )  # fmt: skip


def test_a_model_without_champion_where_one_is_expected(run, ws: Path) -> None:
    batch = ws / "data" / "demand-forecast" / "batches" / "2024-07-01.csv"
    batch.write_text("id\n1\n")
    try:
        case(
            run, ws, "batches wait for a model that was never trained", "zenops monitor", 2,
            "model 'demand-forecast' is not a registered model", "zenops train demand-forecast",
        )  # fmt: skip
    finally:
        batch.unlink()
    case(
        run, ws, "refresh of a model that was never trained", "zenops refresh demand-forecast", 2,
        "demand-forecast", "not a registered model",
    )  # fmt: skip
    case(
        run, ws, "rollback without a previous champion", "zenops rollback loan-default", 2,
        "no previous champion",
    )  # fmt: skip


def test_configuration_is_checked_before_any_flow(run, ws: Path) -> None:
    edit(ws, lambda c: c["models"][0]["features"]["numerical"].append("fico_score"))
    case(
        run, ws, "zenops.yaml names a feature (`fico_score`) missing from the training data",
        "zenops monitor", 2,
        "features.numerical: column 'fico_score' is not in data/loan-default/train.parquet",
    )  # fmt: skip
    edit(ws, lambda c: c["models"][0]["features"]["numerical"].remove("fico_score"))
    edit(ws, lambda c: c["models"][0].update(batches="../../etc"))
    case(
        run, ws, "`batches: ../../etc` in zenops.yaml", "zenops status", 2,
        "models[0].batches: path '../../etc' leaves the workspace",
    )  # fmt: skip
    (ws / "zenops.yaml").write_text("")
    case(run, ws, "an empty zenops.yaml", "zenops status", 2, "zenops.yaml: no models: add one under models:")
    (ws / "zenops.yaml").write_text("models: []\n")
    case(run, ws, "a zenops.yaml without models", "zenops monitor", 2, "no models")
    assert run("tickets", "list", "--json", cwd=ws).code == 0  # tickets need no model


def test_training_data_is_required_only_to_train(run, ws: Path) -> None:
    case(
        run, ws, "training of a model without its training file", "zenops train demand-forecast", 2,
        "training_data: 'data/demand-forecast/train.parquet': no such file",
    )  # fmt: skip


def test_a_malformed_tickets_url_names_the_store_and_masks_the_password(run, ws: Path) -> None:
    bad = {"ZENOPS_TICKETS_URL": "postgresql://zenops:s3cret@db:port/zenops"}
    line = case(
        run, ws, "ticket store: a URL that does not parse", "zenops tickets list", 2,
        "ZENOPS_TICKETS_URL", "zenops:***@db", env=bad,
    )  # fmt: skip
    assert "s3cret" not in line
    edit(ws, lambda c: c.setdefault("stores", {}).update(tickets_url="nosuchdb://x/y"))
    case(
        run, ws, "ticket store: `stores.tickets_url: nosuchdb://x/y` in zenops.yaml", "zenops plan", 2,
        "stores.tickets_url", "nosuchdb",
    )  # fmt: skip


def test_an_ethics_review_needs_a_ticket_that_exists(run, ws: Path) -> None:
    case(
        run, ws, "ethics review of a ticket that does not exist",
        "zenops tickets new --kind ethics_review --title review --sla silver --subject 99", 2,
        "subject: ticket 99: no such ticket",
    )  # fmt: skip
    case(run, ws, "approval of a ticket that does not exist", "zenops tickets approve 99 --by ann", 2, "99")


def test_a_failed_flow_is_one_line_and_its_logs_go_to_the_log_file(run, ws: Path) -> None:
    edit(ws, lambda c: c["models"][0]["trainer"]["params"].update(learning_rate=-1.0))
    line = case(
        run, ws, "a trainer that fails inside the training flow (`learning_rate: -1.0`)",
        "zenops train loan-default", 1,
        "(details: .zenops/logs/zenops.log)",
    )  # fmt: skip
    log = (ws / ".zenops" / "logs" / "zenops.log").read_text()
    assert "Traceback" in log and "Finished in state Failed" in log
    verbose = run("--verbose", "train", "loan-default", cwd=ws)
    assert verbose.code == 1 and len(verbose.error_lines) > 1 and line.split(" (details")[0] in verbose.stderr


def test_the_reliability_table_is_the_one_in_the_docs(request) -> None:
    TABLE.check(request)
