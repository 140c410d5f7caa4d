"""Shared test set-up: offline, no telemetry, one Prefect test server per session.

Also: seeded property tests without deadlines, one OpenMP thread per process (set before
any library starts its thread pool), and the order test files go to the workers of
``-n N --dist loadfile`` (``tests/scheduling.py``).
"""

from __future__ import annotations

import ipaddress
import os
import socket

# The test workers (and the commands and servers they start) share a few cores: with a
# thread pool per process, scikit-learn's gradient boosting waits on threads that
# cannot run and takes many times longer; with one thread it fits the same model.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

from zenops.kernel.offline import stay_offline  # noqa: E402

stay_offline()

# Property tests are seeded (the same examples on every run) and carry no time limit: a
# wall-clock deadline fails them on a busy machine, and speed is measured in benchmarks.
settings.register_profile("zenops", deadline=None, derandomize=True)
settings.load_profile("zenops")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):  # type: ignore[no-untyped-def]
    """Longest test files first under ``--dist loadfile`` (see ``tests/scheduling.py``)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from tests.scheduling import LongestFirst

    return LongestFirst(config, log)


_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address) -> None:  # type: ignore[no-untyped-def]
    """Refuse any connection that would leave this machine: no code path may go online."""
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            local = ipaddress.ip_address(host).is_loopback
        except ValueError:
            local = host == "localhost"
        if not local:
            raise OSError(f"test network guard: connection to {host} refused (zenops must stay offline)")
    return _connect(self, address)


@pytest.fixture(scope="session", autouse=True)
def offline_network():
    socket.socket.connect = _loopback_only  # type: ignore[method-assign]
    yield
    socket.socket.connect = _connect  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def prefect_api():
    """A real Prefect API (test harness) for the whole session; yields its URL."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    from zenops.app.flow_runs import without_heartbeats

    # The flows run in the tests' own process, as a command runs them: without heartbeats.
    with prefect_test_harness(server_startup_timeout=60), without_heartbeats():
        yield PREFECT_API_URL.value()
