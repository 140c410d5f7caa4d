"""Shared test set-up: offline, no telemetry, one Prefect test server per session."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from zenops.kernel.offline import stay_offline

stay_offline()

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

    with prefect_test_harness(server_startup_timeout=60):
        yield PREFECT_API_URL.value()
