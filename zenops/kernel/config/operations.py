"""Configuration of operations: stores, monitoring, schedules, notifications, the SLA watch."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    Field,
    field_validator,
    model_validator,
)

from zenops.kernel.config.base import Duration, _Strict
from zenops.kernel.config.demand import TICKET_KINDS


class Stores(_Strict):
    """Where the workspace keeps its state. Relative paths are inside the workspace.

    Each can be overridden by the environment: ``ZENOPS_TRACKING_URI``,
    ``ZENOPS_TICKETS_URL``, ``ZENOPS_DVC_REMOTE``, ``ZENOPS_ARTIFACT_ROOT``,
    ``ZENOPS_EVIDENTLY``.

    ``evidently`` (default ``.zenops/evidently``): the Evidently workspace every kept
    report is also added to, a project per model — a folder, the ``http(s)://`` URL of
    an Evidently UI service, or ``none`` for no workspace.
    """

    tracking_uri: str = "sqlite:///.zenops/mlflow.db"
    tickets_url: str = "sqlite:///.zenops/zenops.db"
    dvc_remote: str = ".zenops/dvc-remote"
    artifact_root: str = ".zenops/mlartifacts"
    evidently: str = ".zenops/evidently"


class MonitoringSettings(_Strict):
    """How a monitoring cycle runs.

    - ``workers``: models monitored at once (threads of the flow's task runner).
    - ``html_reports``: which batches keep Evidently's reports (drift, data summary
      and, with labels, quality; about 4–8 MB each) with their MLflow run: ``always``;
      ``on_alert`` (any verdict but ok); ``on_change`` (the first batch, a verdict that
      differs from the previous batch's, or a newly opened ticket); ``never``. Only
      those batches run Evidently; every verdict comes from the exact tests, whose
      figures are always kept as the run's snapshot, and ``zenops report`` builds any
      other batch's reports later.
    - ``report_cadence``: also keep the reports of the first batch of each UTC day
      (``daily``) or ISO week (``weekly``, the default) since the last kept report, so a
      model whose verdict does not change still has a recent report; ``none`` keeps only
      what ``html_reports`` keeps. With ``html_reports: never`` nothing is kept.
    - ``runner``: how the models of a cycle run at once: ``thread`` (default, threads
      of the flow's process), ``process`` (``workers`` warm processes on this machine,
      kept for the life of the process that started them) or ``dask`` (through
      ``prefect-dask``: a local cluster of ``workers`` single-threaded processes, or the
      existing cluster at ``dask_address``).
    - ``dask_address``: a Dask scheduler such as ``tcp://scheduler:8786`` (runner
      ``dask`` only); its workers need zenops installed and the workspace's stores
      reachable (a shared folder or servers, see the README's scaling section).
    - ``retries`` (default 2) / ``retry_delay_s`` (default 5): how often, and after
      how long, a model's task is tried again when a store (MLflow, DVC, git, the
      ticket database) fails; other failures are not retried.
    - ``stale_after`` (default: three intervals of ``schedules.monitor``, 3h for the
      hourly default): a model whose last completed monitoring cycle is older than this
      is an incident of its own, a ``stale_monitoring`` ticket the SLA watch opens (see
      :attr:`ZenopsConfig.stale_after`).
    """

    workers: int = Field(2, ge=1, le=64)
    html_reports: Literal["always", "on_alert", "on_change", "never"] = "on_change"
    report_cadence: Literal["none", "daily", "weekly"] = "weekly"
    runner: Literal["thread", "process", "dask"] = "thread"
    dask_address: str | None = None
    retries: int = Field(2, ge=0, le=10)
    retry_delay_s: float = Field(5.0, ge=0, le=3600)
    stale_after: Duration | None = None

    @model_validator(mode="after")
    def _dask_address(self) -> MonitoringSettings:
        if self.dask_address is not None:
            if self.runner != "dask":
                raise ValueError("dask_address: only used with runner: dask")
            if not re.match(r"^(tcp|tls|ucx|inproc)://\S+$", self.dask_address):
                raise ValueError(
                    f"dask_address: '{self.dask_address}' is not a Dask scheduler address "
                    "such as tcp://scheduler:8786"
                )
        return self


def _cron(value: str) -> str:
    from cronsim import CronSim, CronSimError

    try:
        CronSim(value, datetime(2024, 1, 1))
    except (CronSimError, ValueError, TypeError):
        raise ValueError(f"'{value}' is not a cron expression such as '0 * * * *'") from None
    return value


Cron = Annotated[str, AfterValidator(_cron)]


class Schedules(_Strict):
    """When ``zenops serve`` runs the deployments (``prefect.yaml`` holds the same defaults).

    - ``monitor`` (default hourly, ``0 * * * *``): a monitoring cycle over every model.
    - ``plan`` (default daily at 06:00, ``0 6 * * *``): the team's plan.
    - ``sla_watch`` (default hourly at :30, ``30 * * * *``): escalate tickets near or past due.
    - ``timezone`` (default ``UTC``): the time zone of the cron expressions.
    - ``refresh_debounce`` (default ``1h``): the refresh deployment starts at most once per
      model and verdict within this time, however many ``zenops.model.degraded`` events
      arrive; the ``evaluate-candidate`` deployment at most once per model and version.
    """

    monitor: Cron = "0 * * * *"
    plan: Cron = "0 6 * * *"
    sla_watch: Cron = "30 * * * *"
    timezone: str = "UTC"
    refresh_debounce: Duration = timedelta(hours=1)

    def monitor_interval(self) -> timedelta:
        """The longest gap between two consecutive runs of the ``monitor`` cron (over a year)."""
        from cronsim import CronSim

        times = CronSim(self.monitor, datetime(2024, 1, 1))
        previous, longest = next(times), timedelta(0)
        for _ in range(400):
            current = next(times)
            longest = max(longest, current - previous)
            previous = current
            if current.year > 2024:
                break
        return longest

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"'{value}' is not a time zone such as UTC or Europe/Paris") from None
        return value

    def next_monitor(self, after: datetime) -> datetime:
        """When the ``monitor`` schedule fires next after ``after`` (aware), in UTC."""
        from cronsim import CronSim

        local = after.astimezone(ZoneInfo(self.timezone))
        return next(CronSim(self.monitor, local)).astimezone(UTC)


_APPRISE_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://\S*$")


def _apprise_urls(value: list[str]) -> list[str]:
    for url in value:
        if not isinstance(url, str) or not _APPRISE_URL.match(url):
            raise ValueError(f"'{url}' is not a notification URL such as json://host/path or slack://...")
    return value


NotifyUrls = Annotated[list[str], AfterValidator(_apprise_urls)]


class Notifications(_Strict):
    """Who hears about what, as Apprise URLs (``json://``, ``slack://``, ``mailto://``, ...).

    - ``oncall``: the MLOps on-call: incidents (a ``refresh``, ``rebuild`` or
      ``data_quality`` ticket opened by monitoring) and failed flow runs.
    - ``owners``: per model owner (a model's ``owner``): refresh hand-backs, with the
      dossier and the rebuild ticket.
    - ``sponsors``: per sponsor (a model's or ticket's ``sponsor``): SLA risk, when the
      SLA watch escalates a ticket near or past its due time.
    - ``fallback``: URLs for an owner or sponsor with no entry of their own (default none).
    - ``ui_url``: the Prefect UI that links point to (default: ``PREFECT_UI_URL``, else
      ``PREFECT_API_URL`` without ``/api``).
    - ``mlflow_url``: the MLflow UI that links point to (default: the tracking URI when
      it is an ``http(s)`` server).

    A URL may name environment variables as ``${NAME}``: secrets (tokens, passwords)
    belong in the environment, never in ``zenops.yaml``. Nothing is sent when no URL
    applies; a failed delivery is logged and never fails the work it reports on.
    """

    oncall: NotifyUrls = []
    owners: dict[str, NotifyUrls] = {}
    sponsors: dict[str, NotifyUrls] = {}
    fallback: NotifyUrls = []
    ui_url: str | None = None
    mlflow_url: str | None = None


class SlaWatch(_Strict):
    """What the SLA watch escalates.

    - ``near_share`` (default 0.25): a ticket is *near* its due time once less than this
      share of its SLA window (due time minus opening time) is left; past the due time
      it is *breached*. Each ticket is escalated once per level.
    - ``kinds`` (default the operational kinds: ``refresh``, ``rebuild``, ``data_quality``,
      ``approval``, ``stale_monitoring``): the ticket kinds watched.
    """

    near_share: float = Field(0.25, gt=0, lt=1)
    kinds: list[str] = ["refresh", "rebuild", "data_quality", "approval", "stale_monitoring"]

    @field_validator("kinds")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        for kind in value:
            if kind not in TICKET_KINDS:
                raise ValueError(f"'{kind}' is not a ticket kind ({', '.join(TICKET_KINDS)})")
        return value
