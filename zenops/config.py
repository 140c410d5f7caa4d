"""The workspace configuration, ``zenops.yaml``, as validated data.

Every key a user writes is declared here with its type and default; unknown keys
are refused. :func:`load_config` turns any problem into a :class:`ConfigError`
whose one line names the file and the field (``zenops.yaml: models[0].sla: ...``).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from zenops.errors import ConfigError

CONFIG_FILE = "zenops.yaml"

TICKET_KINDS = (
    "refresh",
    "rebuild",
    "data_quality",
    "new_project",
    "tooling_rnd",
    "ethics_review",
)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([wdhm])\s*$")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}


def parse_duration(value: Any) -> timedelta:
    """Read ``2d``, ``12h``, ``30m`` or ``1w`` (or a timedelta) as a timedelta."""
    if isinstance(value, timedelta):
        return value
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"'{value}' is not a duration such as 2d, 12h, 30m or 1w")
    amount, unit = float(match.group(1)), match.group(2)
    return timedelta(**{_UNITS[unit]: amount})


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=64)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Stores(_Strict):
    """Where the workspace keeps its state. Relative paths are inside the workspace.

    Each can be overridden by the environment: ``ZENOPS_TRACKING_URI``,
    ``ZENOPS_TICKETS_URL``, ``ZENOPS_DVC_REMOTE``, ``ZENOPS_ARTIFACT_ROOT``.
    """

    tracking_uri: str = "sqlite:///.zenops/mlflow.db"
    tickets_url: str = "sqlite:///.zenops/zenops.db"
    dvc_remote: str = ".zenops/dvc-remote"
    artifact_root: str = ".zenops/mlartifacts"


class SlaTier(_Strict):
    """How long each kind of ticket may stay open before its SLA is breached.

    - ``weight``: how much a day of lateness on this tier weighs in the plan,
      relative to other tiers. Default: ``7d / refresh``, kept within 0.5–5, so a
      tier that refreshes within 2 days weighs 3.5 and one with 7 days weighs 1.
    """

    refresh: Duration
    rebuild: Duration
    data_quality: Duration
    new_project: Duration = timedelta(days=90)
    tooling_rnd: Duration = timedelta(days=60)
    ethics_review: Duration = timedelta(days=14)
    weight: float | None = Field(None, gt=0, le=100)

    def due_after(self, kind: str) -> timedelta:
        """The time a ticket of ``kind`` has before its due time."""
        if kind not in TICKET_KINDS:
            raise ConfigError(f"unknown ticket kind '{kind}'")
        return getattr(self, kind)

    @property
    def lateness_weight(self) -> float:
        """``weight`` if given, else derived from how fast the tier wants refreshes."""
        if self.weight is not None:
            return self.weight
        days = max(self.refresh.total_seconds() / 86400, 1e-9)
        return min(5.0, max(0.5, 7.0 / days))


class Features(_Strict):
    numerical: list[str] = []
    categorical: list[str] = []

    @property
    def all(self) -> list[str]:
        return [*self.numerical, *self.categorical]


class TrainerSpec(_Strict):
    """An estimator by import path with parameters, or a ``module:function`` entry point.

    The entry point is called as ``function(train: DataFrame, spec: ModelSpec,
    params: dict) -> fitted estimator`` and must return an object with ``predict``
    (and ``predict_proba`` for classification).
    """

    estimator: str | None = None
    entry_point: str | None = None
    params: dict[str, Any] = {}

    @model_validator(mode="after")
    def _one_of(self) -> TrainerSpec:
        if (self.estimator is None) == (self.entry_point is None):
            raise ValueError("give exactly one of 'estimator' or 'entry_point'")
        if self.estimator and "." not in self.estimator:
            raise ValueError(
                f"estimator '{self.estimator}' is not an import path such as sklearn.linear_model.Ridge"
            )
        if self.entry_point and ":" not in self.entry_point:
            raise ValueError(f"entry_point '{self.entry_point}' is not of the form module:function")
        return self

    @property
    def reference(self) -> str:
        """What the ``zenops.trainer`` tag records."""
        return self.estimator or self.entry_point or ""


class DriftPolicy(_Strict):
    """Thresholds that turn a monitoring report into a verdict (rules in ``drift/policy.py``).

    - ``alpha``: family-wise false-alarm rate per batch; the per-column drift tests
      (and the prediction's) are corrected for multiple testing with Holm's procedure
      at this level. Also the one-sided level at which a performance drop must be
      significant against its standard error.
    - ``min_rows``: a batch with fewer rows is not tested for drift (``warn`` only).
    - ``drift_share_warn`` / ``drift_share_refresh``: share of features that must
      drift for a ``warn`` / a ``refresh``. The default warn share, 0, warns as soon
      as one feature drifts: after the Holm correction that happens on at most
      ``alpha`` of the batches without drift, and a strong shift of a single feature
      among many deserves a look.
    - ``persistence``: consecutive drifting batches needed before ``refresh``.
    - ``performance_drop_refresh`` / ``performance_drop_rebuild``: relative drop of
      the model's metric against its holdout baseline that asks for a refresh / a
      rebuild. Measured on labels, both apply at once; an estimate (no labels) asks
      for a refresh at most — a rebuild waits for labels to confirm the drop.
    - ``reference_sample``: rows sampled (seeded) from large training data.
    - ``min_effect`` (default 0.05): a significant column counts as drifted only if
      its effect size — the KS statistic for numerical columns, the total variation
      distance for categorical ones, both in [0, 1]: the largest share of probability
      mass that moved — is at least this. Significance alone grows with the batch: at
      50,000 rows a shift of 0.05 standard deviations is certain and harmless. Below
      a few thousand rows the Holm-corrected test already needs a larger effect, so
      the floor changes nothing there (``benchmarks/README.md``, "The policy"); 0 turns
      it off.
    - ``performance_first`` (default true): when the batch has a trustworthy
      performance reading — measured on at least ``min_labelled_rows`` labels, or a
      trusted estimate — and it shows no significant drop, drift gives ``warn`` at
      most; drift alone asks for a refresh (``persistence``) only without such a
      reading. False: drift escalates whatever the performance says.
    - ``min_labelled_rows`` (default 100): fewer labelled rows are reported but not
      judged; the estimate (if any) is used instead.
    - ``unseen_category_tolerance`` (default 0.01): a batch is refused as a data
      problem when more than this share of a categorical column's values are
      categories absent from the training data; below it, those values are left out
      of the drift test.
    - ``allow_extra_columns`` (default false): columns the model does not know make
      the batch a data problem (a renamed column shows up as one missing and one
      extra); set true to ignore them instead.
    """

    alpha: float = Field(0.01, gt=0, lt=1)
    min_rows: int = Field(200, ge=1)
    drift_share_warn: float = Field(0.0, ge=0, le=1)
    drift_share_refresh: float = Field(0.25, ge=0, le=1)
    persistence: int = Field(2, ge=1)
    performance_drop_refresh: float = Field(0.05, ge=0, le=1)
    performance_drop_rebuild: float = Field(0.15, ge=0, le=1)
    reference_sample: int = Field(10_000, ge=100)
    min_effect: float = Field(0.05, ge=0, le=1)
    min_labelled_rows: int = Field(100, ge=1)
    unseen_category_tolerance: float = Field(0.01, ge=0, le=1)
    allow_extra_columns: bool = False
    performance_first: bool = True


class PromotionGate(_Strict):
    """How much better a challenger must be to replace the champion (rules in ``zenops/comparison.py``).

    - ``margin`` (default 0): the relative improvement of the model's metric the
      challenger must show, e.g. 0.02 = 2% better than the champion.
    - ``confidence`` (default 0.95): the two-sided level of the paired bootstrap
      interval of the relative improvement; the challenger is promoted only when the
      interval's lower bound is above ``margin``.
    - ``window_days`` (default none): the comparison window, held out from the
      challenger's training: the most recent this many days of labelled production
      rows. None: the most recent whole days that hold at least the model's
      ``holdout_fraction`` of the labelled production rows.
    - ``train_window_days`` (default none = all): the refreshed training set keeps
      only rows (the champion's data and production rows alike) from this many days
      before the comparison window.
    - ``min_rows`` (default 200): fewer labelled rows in the comparison window hand
      the refresh back instead of promoting on too little evidence.
    - ``resamples`` (default 1000): paired bootstrap resamples (seeded by the model's ``seed``).
    - ``require_paired_test`` (default false): also require the paired test
      (McNemar on classification errors, Wilcoxon signed-rank on absolute regression
      errors) to favour the challenger at level ``1 - confidence``.
    - ``training_slots`` (default 2): trainings that may run at once across all
      models (the Prefect global concurrency limit ``zenops-training``); the limit is
      the smallest value any model of the workspace sets.
    """

    margin: float = Field(0.0, ge=0)
    confidence: float = Field(0.95, gt=0, lt=1)
    window_days: int | None = Field(None, ge=1)
    train_window_days: int | None = Field(None, ge=1)
    min_rows: int = Field(200, ge=1)
    resamples: int = Field(1000, ge=100, le=100_000)
    require_paired_test: bool = False
    training_slots: int = Field(2, ge=1, le=64)


CLASSIFICATION_METRICS = ("roc_auc", "accuracy", "f1", "log_loss")
REGRESSION_METRICS = ("rmse", "mae", "r2")


class ModelSpec(_Strict):
    """One deployed model: its data, trainer, policy and who cares about it."""

    name: Name
    task: Literal["classification", "regression"]
    target: str
    id_column: str
    timestamp_column: str
    features: Features
    training_data: str
    batches: str
    labels: str
    label_wait: Duration = timedelta(days=7)
    trainer: TrainerSpec
    metric: str | None = None
    sla: str = "silver"
    value: int = Field(5, ge=1, le=10)
    sponsor: str | None = None
    owner: str | None = None
    holdout_fraction: float = Field(0.2, gt=0, lt=1)
    seed: int = 0
    drift: DriftPolicy = DriftPolicy()
    promotion: PromotionGate = PromotionGate()

    @model_validator(mode="before")
    @classmethod
    def _label_folder(cls, data: Any) -> Any:
        """``labels`` is a folder, or ``{path: FOLDER, wait: 7d}`` with how long labels wait."""
        if isinstance(data, dict) and isinstance(data.get("labels"), dict):
            data = dict(data)
            folder = dict(data.pop("labels"))
            unknown = sorted(set(folder) - {"path", "wait"})
            if unknown:
                raise ValueError(f"labels: unknown key {', '.join(unknown)} (expected path, wait)")
            if "path" not in folder:
                raise ValueError("labels: path is required (the folder where label files arrive)")
            data["labels"] = folder["path"]
            if "wait" in folder:
                try:
                    data["label_wait"] = parse_duration(folder["wait"])
                except (ValueError, TypeError) as error:
                    raise ValueError(f"labels.wait: {error}") from None
        return data

    @field_validator("training_data")
    @classmethod
    def _tabular_file(cls, value: str) -> str:
        if Path(value).suffix.lower() not in (".csv", ".parquet"):
            raise ValueError(f"'{value}' is neither a .csv nor a .parquet file")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ModelSpec:
        allowed = CLASSIFICATION_METRICS if self.task == "classification" else REGRESSION_METRICS
        if self.metric is not None and self.metric not in allowed:
            raise ValueError(f"metric '{self.metric}' is not one of {', '.join(allowed)} for {self.task}")
        if not self.features.all:
            raise ValueError("features: at least one numerical or categorical column is needed")
        seen: set[str] = set()
        for column in self.features.all:
            if column in seen:
                raise ValueError(f"features: column '{column}' is listed twice")
            seen.add(column)
        for role in ("target", "id_column", "timestamp_column"):
            if getattr(self, role) in seen:
                raise ValueError(f"{role}: column '{getattr(self, role)}' is also listed as a feature")
        return self

    @property
    def metric_name(self) -> str:
        """The model's metric, defaulting to roc_auc (classification) or rmse (regression)."""
        return self.metric or ("roc_auc" if self.task == "classification" else "rmse")

    @property
    def columns(self) -> list[str]:
        """Every column the model's data must have."""
        return [self.id_column, self.timestamp_column, *self.features.all, self.target]


class TeamMember(_Strict):
    """A person on the team. ``capacity`` is the share of a full week they give (0–1]."""

    name: Name
    role: Literal["mlops_engineer", "data_scientist"]
    skills: list[str] = []
    level: Literal["junior", "mid", "senior"] = "mid"
    capacity: float = Field(1.0, gt=0, le=1)
    available_from: date | None = None


class Resources(_Strict):
    gpus: int = Field(0, ge=0)


class PlanningPolicy(_Strict):
    """Portfolio balance and planning limits.

    - ``quick_win_share``: share of capacity kept for small quick wins.
    - ``rnd_share``: share of capacity kept for tooling R&D.
    - ``horizon_days``: how far ahead the plan schedules.
    - ``time_limit_s``: the optimiser's time limit; the greedy plan is the fallback.
      With ``deterministic`` it is CP-SAT's deterministic time (close to seconds).
    - ``sponsor_weights``: weight per sponsor (default 1.0).
    - ``quick_win_days``: effort (person-days) up to which a ticket is a quick win (default 2).
    - ``balance_window_days``: the first days of the plan over which the quick-win and
      R&D shares are kept (default 28, at most the horizon).
    - ``review_share``: share of a stretch ticket's effort its senior reviewer spends
      reviewing, at the end of the work (default 0.2).
    - ``reuse_discount``: how much of a ticket's effort is saved when all the data
      assets it uses were already produced by done tickets (default 0.3).
    - ``deterministic``: the same inputs give the same plan on the same machine
      (default true): the optimiser stops on deterministic time, interleaving its
      workers; false stops on wall time with free-running workers.
    - ``workers``: optimiser threads (default 2).
    - ``seed``: the optimiser's random seed (default 0).
    """

    quick_win_share: float = Field(0.15, ge=0, le=1)
    rnd_share: float = Field(0.1, ge=0, le=1)
    horizon_days: int = Field(180, ge=1)
    time_limit_s: float = Field(5.0, gt=0)
    sponsor_weights: dict[str, float] = {}
    quick_win_days: float = Field(2.0, gt=0)
    balance_window_days: int = Field(28, ge=1)
    review_share: float = Field(0.2, ge=0, le=1)
    reuse_discount: float = Field(0.3, ge=0, le=0.9)
    deterministic: bool = True
    workers: int = Field(2, ge=1, le=64)
    seed: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _shares(self) -> PlanningPolicy:
        if self.quick_win_share + self.rnd_share > 1:
            raise ValueError("quick_win_share + rnd_share: together they must not exceed 1")
        for sponsor, weight in self.sponsor_weights.items():
            if not weight > 0:
                raise ValueError(f"sponsor_weights.{sponsor}: weight must be greater than 0")
        return self


class MonitoringSettings(_Strict):
    """How a monitoring cycle runs.

    - ``workers``: models monitored at once (threads of the flow's task runner).
    - ``html_reports``: when to store Evidently's HTML report (about 4–8 MB each) with
      a batch's MLflow run: ``always``; ``on_alert`` (any verdict but ok);
      ``on_change`` (the first batch, a verdict that differs from the previous
      batch's, or a newly opened ticket); ``never``. The JSON snapshot is always kept.
    - ``runner``: how the models of a cycle run at once: ``thread`` (default, threads
      of the flow's process), ``process`` (a pool of ``workers`` processes on this
      machine) or ``dask`` (through ``prefect-dask``: a local cluster of ``workers``
      single-threaded processes, or the existing cluster at ``dask_address``).
    - ``dask_address``: a Dask scheduler such as ``tcp://scheduler:8786`` (runner
      ``dask`` only); its workers need zenops installed and the workspace's stores
      reachable (a shared folder or servers, see the README's scaling section).
    - ``retries`` (default 2) / ``retry_delay_s`` (default 5): how often, and after
      how long, a model's task is tried again when a store (MLflow, DVC, git, the
      ticket database) fails; other failures are not retried.
    """

    workers: int = Field(2, ge=1, le=64)
    html_reports: Literal["always", "on_alert", "on_change", "never"] = "on_change"
    runner: Literal["thread", "process", "dask"] = "thread"
    dask_address: str | None = None
    retries: int = Field(2, ge=0, le=10)
    retry_delay_s: float = Field(5.0, ge=0, le=3600)

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
    from datetime import datetime

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
      model within this time, however many ``zenops.model.degraded`` events arrive.
    """

    monitor: Cron = "0 * * * *"
    plan: Cron = "0 6 * * *"
    sla_watch: Cron = "30 * * * *"
    timezone: str = "UTC"
    refresh_debounce: Duration = timedelta(hours=1)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"'{value}' is not a time zone such as UTC or Europe/Paris") from None
        return value


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
    - ``kinds`` (default the operational kinds): the ticket kinds watched.
    """

    near_share: float = Field(0.25, gt=0, lt=1)
    kinds: list[str] = ["refresh", "rebuild", "data_quality"]

    @field_validator("kinds")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        for kind in value:
            if kind not in TICKET_KINDS:
                raise ValueError(f"'{kind}' is not a ticket kind ({', '.join(TICKET_KINDS)})")
        return value


DEFAULT_SLA_TIERS = {
    "gold": SlaTier(refresh="2d", rebuild="14d", data_quality="1d"),
    "silver": SlaTier(refresh="7d", rebuild="30d", data_quality="3d"),
}


class ZenopsConfig(_Strict):
    """The whole of ``zenops.yaml``."""

    stores: Stores = Stores()
    sla_tiers: dict[str, SlaTier] = DEFAULT_SLA_TIERS
    models: list[ModelSpec] = []
    team: list[TeamMember] = []
    resources: Resources = Resources()
    planning: PlanningPolicy = PlanningPolicy()
    monitoring: MonitoringSettings = MonitoringSettings()
    schedules: Schedules = Schedules()
    notifications: Notifications = Notifications()
    sla_watch: SlaWatch = SlaWatch()

    @model_validator(mode="after")
    def _references(self) -> ZenopsConfig:
        names = [m.name for m in self.models]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise ValueError(f"models[{i}].name: model '{name}' is defined twice")
        for i, model in enumerate(self.models):
            if model.sla not in self.sla_tiers:
                raise ValueError(
                    f"models[{i}].sla: tier '{model.sla}' is not in sla_tiers ({', '.join(self.sla_tiers)})"
                )
        people = [p.name for p in self.team]
        for i, name in enumerate(people):
            if name in people[:i]:
                raise ValueError(f"team[{i}].name: person '{name}' is listed twice")
        return self

    def model(self, name: str) -> ModelSpec:
        """The spec of the model called ``name``."""
        from zenops.errors import NotFoundError

        for spec in self.models:
            if spec.name == name:
                return spec
        known = ", ".join(m.name for m in self.models) or "none"
        raise NotFoundError(f"{CONFIG_FILE}: no model named '{name}' (models: {known})")


def _location(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif str(part).startswith("function-") or part in ("timedelta",):
            continue
        else:
            path += f".{part}" if path else str(part)
    return path


def config_error(source: str, error: ValidationError) -> ConfigError:
    """One line naming the file and the first invalid field."""
    first = error.errors()[0]
    where = _location(first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    elif first["type"] == "missing":
        message = "required key is missing"
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    prefix = f"{source}: {where}: " if where else f"{source}: "
    return ConfigError(f"{prefix}{message}{more}")


def parse_config(data: Any, source: str = CONFIG_FILE) -> ZenopsConfig:
    """Validate already-parsed YAML data."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the file must hold a mapping of keys, not {type(data).__name__}")
    try:
        return ZenopsConfig.model_validate(data)
    except ValidationError as error:
        raise config_error(source, error) from None


def load_config(path: Path) -> ZenopsConfig:
    """Read and validate ``zenops.yaml``; any problem is a one-line :class:`ConfigError`."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such file (run 'zenops init' to create a workspace)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise ConfigError(f"{path}:{where}: {problem}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None
    if data is None or data == {}:  # an empty file is a mistake, never "no settings"
        raise ConfigError(f"{path}: no models: add one under models: (see zenops init)")
    return parse_config(data, source=str(path))
