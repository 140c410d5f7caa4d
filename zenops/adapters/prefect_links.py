"""Where Prefect is: its API and UI as the environment and Prefect's settings name them, the current run.

The one place zenops reads ``PREFECT_API_URL``, ``PREFECT_UI_URL`` and the running
flow run, for the command line and for the links of notifications. What the UI's
address is, from these readings, is the pure rule
:func:`zenops.services.messages.first_prefect_ui`. :class:`PrefectLinks` is the run
links port of :mod:`zenops.services.notify`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

__all__ = ["PrefectLinks", "current_flow_run_id", "prefect_api_url", "prefect_urls"]

Urls = tuple[str | None, str | None]  # (PREFECT_UI_URL, PREFECT_API_URL)


def prefect_api_url() -> str | None:
    """The Prefect API this process talks to (``PREFECT_API_URL``), or None for a temporary one."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or None


def prefect_urls() -> Iterator[Urls]:
    """(``PREFECT_UI_URL``, ``PREFECT_API_URL``): from the environment, then from Prefect's settings.

    The settings are those Prefect itself runs with (its profile, or a temporary API
    such as a test server); they are read only when asked for, and not at all when
    Prefect cannot say.
    """
    yield os.environ.get("PREFECT_UI_URL"), os.environ.get("PREFECT_API_URL")
    try:
        from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL

        settings = (PREFECT_UI_URL.value(), PREFECT_API_URL.value())
    except Exception:
        return
    yield settings


def current_flow_run_id() -> str | None:
    """The id of the Prefect flow run this code runs in, or None outside one."""
    from prefect.runtime import flow_run

    found = flow_run.id
    return str(found) if found else None


class PrefectLinks:
    """Run links from Prefect: where its UI is named and which flow run is current."""

    def prefect_urls(self) -> Iterator[Urls]:
        """See :func:`prefect_urls`."""
        return prefect_urls()

    def current_flow_run(self) -> str | None:
        """See :func:`current_flow_run_id`."""
        return current_flow_run_id()
