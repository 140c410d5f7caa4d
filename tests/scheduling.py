"""The order test files go to the workers of ``pytest -n N --dist loadfile``: longest first.

Each file runs on one worker (its module fixtures, servers and trained workspaces are
built once), so the run lasts at least as long as its longest file, and a file of
minutes handed out last keeps one worker busy while the others are idle. xdist hands
out files in collection order, those with the most tests first, and gives a worker its
next file while two of its tests are still pending; here the files expected to take
longest go first, and a worker takes its next file when its last test is pending (a
worker runs its last test once it knows the next one).

``SECONDS`` holds rough durations of each file run alone on an idle 2-core machine
(including a Prefect test server's start): only their order matters.
A file not listed counts as ``TIER_SECONDS`` of its folder.
"""

from __future__ import annotations

from xdist.scheduler import LoadFileScheduling

SECONDS = {
    "tests/e2e/test_crash_recovery.py": 190,
    "tests/integration/test_monitor_streams.py": 145,
    "tests/integration/test_refresh_flow.py": 140,
    "tests/integration/test_monitor_flow.py": 130,
    "tests/e2e/test_unattended.py": 125,
    "tests/integration/test_store_outages.py": 120,
    "tests/integration/test_server_discovery.py": 110,
    "tests/integration/test_notifications.py": 80,
    "tests/e2e/test_cli_foundation.py": 75,
    "tests/integration/test_monitor_labels.py": 70,
    "tests/e2e/test_cli_monitor.py": 60,
    "tests/integration/test_monitor_runners.py": 60,
    "tests/e2e/test_cli_unattended.py": 55,
    "tests/e2e/test_cli_demand.py": 55,
    "tests/e2e/test_cli_refresh.py": 45,
    "tests/e2e/test_cli_reliability.py": 45,
    "tests/integration/test_dvc_pipeline.py": 40,
    "tests/integration/test_drift_evaluation.py": 40,
    "tests/integration/test_refresh_concurrency.py": 35,
    "tests/integration/test_train_lineage.py": 35,
    "tests/integration/test_drift_demo_stream.py": 30,
}
TIER_SECONDS = {"tests/e2e/": 30, "tests/integration/": 10}


def expected_seconds(scope: str) -> float:
    """The rough duration of the test file ``scope`` (a path from the root)."""
    if scope in SECONDS:
        return SECONDS[scope]
    return next((seconds for tier, seconds in TIER_SECONDS.items() if scope.startswith(tier)), 1)


class LongestFirst(LoadFileScheduling):
    """``--dist loadfile``, handing out the longest files first, one file ahead at most."""

    def _assign_work_unit(self, node) -> None:  # type: ignore[no-untyped-def]
        longest = max(self.workqueue, key=expected_seconds)  # ties: in collection order
        self.workqueue.move_to_end(longest, last=False)
        super()._assign_work_unit(node)

    def _reschedule(self, node) -> None:  # type: ignore[no-untyped-def]
        if self.workqueue and not node.shutting_down and self._pending_of(self.assigned_work[node]) > 1:
            return
        super()._reschedule(node)
