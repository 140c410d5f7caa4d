"""Refreshes at once: the model's global concurrency limit lets exactly one of them promote."""

from __future__ import annotations

import contextlib
import threading
import time

import pytest

from flows.concurrency import TRAINING_LIMIT, ensure_limits, holding, refresh_limit, refresh_limits
from flows.refresh import refresh_model
from registry.versions import CHAMPION, PREVIOUS_CHAMPION
from tests.integration.test_refresh_flow import (
    MODEL,
    champion_moves,
    drifted_workspace,
    open_refresh_ticket,
    versions,
)
from zenops.kernel.errors import StoreError, ZenopsError
from zenops.workspace import Workspace


def completed_task_runs(name: str) -> int:
    from prefect import get_client
    from prefect.client.schemas.filters import (
        TaskRunFilter,
        TaskRunFilterName,
        TaskRunFilterState,
        TaskRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            task_run_filter=TaskRunFilter(
                name=TaskRunFilterName(like_=name),
                state=TaskRunFilterState(type=TaskRunFilterStateType(any_=[StateType.COMPLETED])),
            ),
            limit=200,
        )
    return len(runs)


def test_two_refreshes_of_one_model_at_once_promote_exactly_once(saved_drifted, restore) -> None:
    drifted = restore(saved_drifted)  # drifted_workspace() of a fresh workspace
    open_refresh_ticket(drifted)
    ensure_limits(refresh_limits(drifted.config, MODEL))
    results: list[dict] = []
    errors: list[BaseException] = []

    def refresh() -> None:
        try:
            results.append(refresh_model(model=MODEL, workspace=str(drifted.root)))
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    before = completed_task_runs("read-champion")
    threads = [threading.Thread(target=refresh) for _ in range(2)]
    # Hold the model's limit until both refreshes have read the champion, so both start from version 1.
    with holding(refresh_limit(MODEL), "test"):
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 120
        while completed_task_runs("read-champion") < before + 2:
            assert time.monotonic() < deadline, "the refreshes did not start"
            time.sleep(0.5)
    for thread in threads:
        thread.join(timeout=900)
    assert not errors, errors
    decisions = sorted(result["decision"] for result in results)
    assert decisions == ["promoted", "superseded"]
    superseded = next(r for r in results if r["decision"] == "superseded")
    assert superseded["challenger_version"] is None and superseded["serving_version"] == "2"
    assert drifted.registry().aliases(MODEL) == {CHAMPION: "2", PREVIOUS_CHAMPION: "1"}
    assert versions(drifted) == ["1", "2"]  # the superseded refresh trained nothing
    assert [a["zenops.audit.action"] for a in champion_moves(drifted.registry())] == ["promoted"]


def test_a_second_refresh_gives_up_after_its_wait(prefect_api, workspace: Workspace) -> None:
    drifted = drifted_workspace(workspace, days=3)
    ensure_limits(refresh_limits(drifted.config, MODEL))
    with holding(refresh_limit(MODEL), "test"), pytest.raises(ZenopsError, match="gave up after 1 s"):
        refresh_model(model=MODEL, workspace=str(drifted.root), wait_seconds=1)
    assert versions(drifted) == ["1"]


def test_a_missing_limit_is_an_error_not_a_silent_pass(prefect_api) -> None:
    from prefect import get_client

    with get_client(sync_client=True) as client, contextlib.suppress(Exception):  # absent already
        client.delete_global_concurrency_limit_by_name(TRAINING_LIMIT)
    missing = pytest.raises(StoreError, match=f"cannot acquire the concurrency limit '{TRAINING_LIMIT}'")
    with missing, holding(TRAINING_LIMIT, "retrain"):
        pass
