"""Refreshing a deployed model: the steps the refresh flow calls, and rollback.

A refresh re-hydrates what the champion was built from (its run, parameters and
the exact training data at its DVC version, md5-checked), adds the labelled
production rows that arrived since, holds out the most recent labelled window,
retrains with the champion's trainer, registers the challenger, compares both
models on the held-out window with the pure statistics of
:mod:`registry.comparison`, and then either promotes the challenger (aliases moved,
audit written, ticket closed) or hands the model back to the data scientists with
a rebuild ticket and a dossier.

The refreshed training set, written to the model's ``training_data`` path and
snapshotted as a new DVC version, is the champion's data plus the labelled
production rows outside the comparison window (``promotion.train_window_days``
may keep only recent rows). Production rows are the batch files in
``batches`` that pass the monitor's checks, joined on the id column with the
label files in ``labels``; ids already in the champion's data are not added again.
The work tree's training file is the refreshed set from then on, hand-back or not;
every version stays restorable from its DVC revision.

The comparison scores both models on the held-out window (the champion loaded by
version, not alias). MLflow's ``validate_evaluation_results`` gets evaluation
results built from those figures: ``mlflow.models.evaluate`` would score both
models again (about 3 s each here), offers no ROC AUC for a plain predict
function, and failed on pandas' string columns.

Every step is a plain function of the workspace and the model's spec; the flow in
``flows/refresh.py`` is a list of task calls over them.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from demand.tickets import ACTIVE, TicketDraft, incident_key
from registry import lineage
from registry.comparison import decide, paired_bootstrap, paired_test
from registry.lineage import DataVersion, Lineage
from registry.promotion import AliasMove, AuditRecord
from registry.versions import CHALLENGER, CHAMPION, LoggedTraining
from zenops.kernel import clock
from zenops.kernel.config import ModelSpec, TrainerSpec
from zenops.kernel.errors import DataError, NotFoundError, UsageError
from zenops.kernel.paths import STATE_DIR
from zenops.services.refresh.dossier import BuiltFrom, DossierInput, render
from zenops.services.train.fitting import PREDICTION, PROBABILITY, TrainingResult, metrics, predict_frame
from zenops.workspace import Workspace

__all__ = [
    "HANDED_BACK",
    "PROMOTED",
    "SUPERSEDED",
    "ChampionRef",
    "Comparison",
    "WindowSplit",
    "claim_ticket",
    "compare",
    "current_champion",
    "production_rows",
    "read_champion",
    "refresh_spec",
    "refreshed_training_set",
    "rehydrate",
    "rollback",
    "split_window",
    "write_training_set",
]

ACTOR = "zenops refresh"
ROLLBACK_ACTOR = "zenops rollback"
REFRESH_TICKET = "zenops.refresh.ticket"
PROMOTED, HANDED_BACK, SUPERSEDED = "promoted", "handed_back", "superseded"
HANDBACK_INCIDENT = "refresh-handback"  # the incident of the rebuild ticket a hand-back opens


# -- the champion ---------------------------------------------------------------------


@dataclass(frozen=True)
class ChampionRef:
    """The champion a refresh starts from: its version, run tags and parameters."""

    model: str
    version: str
    run_id: str
    tags: dict[str, str]
    params: dict[str, str]
    metrics: dict[str, float]

    @property
    def lineage(self) -> Lineage:
        """What the champion was built from; a missing lineage tag is a LineageError naming it."""
        return Lineage.from_tags(self.tags, f"{self.model} version {self.version} (run {self.run_id})")


def read_champion(workspace: Workspace, spec: ModelSpec) -> ChampionRef:
    """``models:/NAME@champion`` down to its run, tags and parameters (lineage is read on re-hydration)."""
    registry = workspace.registry()
    info = registry.alias(spec.name, CHAMPION) if registry.is_registered(spec.name) else None
    if info is None:
        raise NotFoundError(f"model '{spec.name}' has no champion to refresh: run 'zenops train {spec.name}'")
    return ChampionRef(
        spec.name, info.version, info.run_id, dict(info.tags), dict(info.params), dict(info.metrics)
    )


def current_champion(workspace: Workspace, model: str) -> str | None:
    """The version holding ``champion`` now."""
    return workspace.registry().aliases(model).get(CHAMPION)


def rehydrate(workspace: Workspace, champion: ChampionRef) -> pd.DataFrame:
    """The champion's exact training data, restored through DVC and md5-checked.

    A revision missing from git, content DVC cannot restore, or content whose md5
    differs from the recorded one is a :class:`~zenops.kernel.errors.LineageError`.
    """
    return workspace.data_store().read_frame(champion.lineage.data)


def refresh_spec(spec: ModelSpec, champion: ChampionRef) -> tuple[ModelSpec, str | None]:
    """The spec to retrain with: the champion's trainer, parameters, seed and holdout share.

    When ``zenops.yaml`` still says what the champion was trained with, that is the
    spec as it is; otherwise the recorded trainer and parameters win (a note says so).
    """
    recorded = {k.removeprefix("trainer."): v for k, v in champion.params.items() if k.startswith("trainer.")}
    configured = {k: str(v)[:6000] for k, v in spec.trainer.params.items()}
    update: dict[str, Any] = {}
    notes = []
    if champion.lineage.trainer != spec.trainer.reference or recorded != configured:
        reference = champion.lineage.trainer
        params = {k: _literal(v) for k, v in recorded.items()}
        kind = "entry_point" if ":" in reference else "estimator"
        update["trainer"] = TrainerSpec(**{kind: reference, "params": params})
        notes.append(
            f"zenops.yaml's trainer ({spec.trainer.reference} {configured}) differs from the champion's "
            f"({reference} {recorded}); the refresh retrains with the champion's"
        )
    for name, cast in (("seed", int), ("holdout_fraction", float)):
        if name in champion.params:
            value = cast(_literal(champion.params[name]))
            if value != getattr(spec, name):
                update[name] = value
                notes.append(
                    f"{name} {value} as recorded with the champion (zenops.yaml: {getattr(spec, name)})"
                )
    if not update:
        return spec, None
    return spec.model_copy(update=update), "; ".join(notes)


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


# -- the ticket ---------------------------------------------------------------------


def claim_ticket(workspace: Workspace, spec: ModelSpec, ticket: int | None, champion: ChampionRef) -> int:
    """The refresh ticket this refresh works on, moved to ``in_progress``.

    ``ticket`` must be an active refresh ticket of the model. Without one, the
    model's oldest active refresh ticket is taken; without any, a refresh ticket is
    opened (incident ``manual``) so that the refresh has an audit trail.
    """
    store = workspace.ticket_store()
    if ticket is not None:
        found = store.get(ticket)
        if found.model != spec.name or found.kind != "refresh":
            raise UsageError(
                f"ticket {ticket}: a {found.kind} ticket of model '{found.model}', "
                f"not a refresh of '{spec.name}'"
            )
        if not found.is_open:
            raise UsageError(f"ticket {ticket}: already {found.status}; nothing to refresh on it")
    else:
        active = store.list(status=ACTIVE, kind="refresh", model=spec.name)
        if active:
            found = active[0]
        else:
            draft = TicketDraft(
                kind="refresh",
                title=f"Refresh {spec.name}: requested",
                model=spec.name,
                idempotency_key=incident_key(spec.name, "refresh", "manual"),
                evidence={"event": "refresh_requested", "champion_version": champion.version},
            )
            found, _ = store.open_or_update(draft, actor=ACTOR)
    if found.status != "in_progress":
        note = f"refresh of version {champion.version} started"
        found = store.transition(found.id, "in_progress", note=note, actor=ACTOR)
    return int(found.id)


def event_refresh_not_needed(workspace: Workspace, spec: ModelSpec, ticket: int | None) -> str | None:
    """Why a refresh an event started should not run, or None when it should.

    Not when its ticket is closed already (another refresh dealt with the incident),
    nor while the rebuild a hand-back opened is still open: a refresh did not help,
    and the data scientists have the model.
    """
    store = workspace.ticket_store()
    if ticket is not None:
        found = store.get(ticket)
        if not found.is_open:
            return f"ticket {ticket} is {found.status} already: another refresh dealt with the incident"
    handback = incident_key(spec.name, "rebuild", HANDBACK_INCIDENT)
    for open_ticket in store.list(status=ACTIVE, kind="rebuild", model=spec.name):
        if open_ticket.idempotency_key == handback:
            return (
                f"an earlier refresh was handed back and rebuild ticket {open_ticket.id} is still open; "
                "the model waits for its rebuild"
            )
    return None


def note_failure(workspace: Workspace, ticket: int, error: BaseException) -> None:
    """Record a failed refresh on its ticket and block the ticket on it."""
    store = workspace.ticket_store()
    message = str(error) or type(error).__name__
    store.add_evidence(
        ticket,
        {"event": "refresh_failed", "at": clock.now().isoformat(), "error": message[:2000]},
        actor=ACTOR,
    )
    if store.get(ticket).status in ("open", "scheduled", "in_progress"):
        store.transition(ticket, "blocked", note=f"refresh failed: {message[:500]}", actor=ACTOR)


def refresh_evidence(workspace: Workspace, ticket: int) -> list[dict[str, Any]]:
    return list(workspace.ticket_store().get(ticket).evidence)


# -- the refreshed training set -----------------------------------------------------


@dataclass
class WindowSplit:
    """Labelled production rows split at the comparison window.

    ``train`` may join the training set; ``compare`` is the window (the challenger
    never trains on it); ``start``/``end`` are its first and last day.
    """

    train: pd.DataFrame
    compare: pd.DataFrame
    start: date | None
    end: date | None

    @property
    def days(self) -> int:
        return 0 if self.start is None or self.end is None else (self.end - self.start).days + 1

    def describe(self) -> dict[str, Any]:
        return {
            "start": None if self.start is None else self.start.isoformat(),
            "end": None if self.end is None else self.end.isoformat(),
            "days": self.days,
            "rows": len(self.compare),
        }


def timestamps(values: pd.Series) -> pd.Series:
    """A timestamp column as naive UTC datetimes (aware values converted, naive read as UTC)."""
    parsed = pd.to_datetime(values, utc=True, errors="coerce", format="mixed")
    return parsed.dt.tz_convert(None)


def production_rows(
    workspace: Workspace, spec: ModelSpec, reference: pd.DataFrame
) -> tuple[pd.DataFrame, list[str]]:
    """Labelled production rows: valid batches joined with the label files on the id column.

    Batches failing the monitor's checks are skipped (a note names each); ids already
    in ``reference`` (the champion's data) are left out. Returns the rows (id,
    timestamp, features, target) in time order, and the notes.
    """
    from drift.batches import check_batch
    from drift.labels import canonical_ids, read_label_file
    from zenops.services.monitor.cycle import pending

    notes: list[str] = []
    columns = [spec.id_column, spec.timestamp_column, *spec.features.all]
    frames = []
    for path in pending(workspace.path(spec.batches), None):
        name = str(path.relative_to(workspace.root))
        check = check_batch(path, spec, reference, label=name)
        if not check.ok or check.frame is None:
            notes.append(f"skipped batch {name}: {check.messages[0] if check.messages else 'invalid'}")
            continue
        frames.append(check.frame[columns])
    classes = None
    if spec.task == "classification" and spec.target in reference.columns:
        classes = sorted(reference[spec.target].dropna().unique().tolist())
    labels = []
    for path in pending(workspace.path(spec.labels), None):
        file = read_label_file(path, spec, classes, str(path.relative_to(workspace.root)))
        if not file.ok or file.frame is None:
            notes.append(f"skipped label file {file.problem}")
            continue
        labels.append(file.frame[["id", "target"]])
    empty = pd.DataFrame(columns=[*columns, spec.target])
    if not frames or not labels:
        return empty, notes
    # One label rule with monitoring: by id whatever the file names, the later label wins.
    batches = pd.concat(frames, ignore_index=True).drop_duplicates(spec.id_column, keep="last")
    targets = pd.concat(labels, ignore_index=True).drop_duplicates("id", keep="last")
    batches["id"] = canonical_ids(batches[spec.id_column])
    rows = batches.merge(targets.rename(columns={"target": spec.target}), on="id", how="inner")
    rows = rows.drop(columns=["id"])
    rows[spec.id_column] = rows[spec.id_column].astype(str)
    known = set(reference[spec.id_column].astype(str)) if spec.id_column in reference.columns else set()
    rows = rows[~rows[spec.id_column].isin(known)].copy()
    rows[spec.timestamp_column] = timestamps(rows[spec.timestamp_column])
    rows = rows.dropna(subset=[spec.timestamp_column])
    return rows.sort_values(spec.timestamp_column, kind="stable").reset_index(drop=True), notes


def split_window(rows: pd.DataFrame, spec: ModelSpec) -> WindowSplit:
    """Hold out the most recent labelled window (``promotion.window_days``; see the config)."""
    if rows.empty:
        return WindowSplit(rows, rows.iloc[0:0], None, None)
    day = timestamps(rows[spec.timestamp_column]).dt.normalize()
    days = sorted(day.unique())
    window_days = spec.promotion.window_days
    if window_days is not None:
        start = days[-1] - pd.Timedelta(days=window_days - 1)
    else:
        counts = day.value_counts()
        wanted, held, start = spec.holdout_fraction * len(rows), 0, days[-1]
        for candidate in reversed(days):
            held += int(counts[candidate])
            start = candidate
            if held >= wanted:
                break
    inside = day >= start
    return WindowSplit(
        train=rows[~inside].reset_index(drop=True),
        compare=rows[inside].reset_index(drop=True),
        start=pd.Timestamp(start).date(),
        end=pd.Timestamp(days[-1]).date(),
    )


def refreshed_training_set(champion_data: pd.DataFrame, split: WindowSplit, spec: ModelSpec) -> pd.DataFrame:
    """The champion's data plus the production rows before the window, in the champion's columns.

    Ids repeated keep their latest row. With ``promotion.train_window_days``, only
    rows from that many days before the window's start are kept.
    """
    columns = list(champion_data.columns)
    for column in spec.columns:
        if column not in columns:
            columns.append(column)
    old = champion_data.reindex(columns=columns).copy()
    old[spec.timestamp_column] = timestamps(old[spec.timestamp_column])
    new = split.train.reindex(columns=columns)
    frame = pd.concat([old, new], ignore_index=True) if len(new) else old
    frame[spec.id_column] = frame[spec.id_column].astype(str)
    frame = frame.drop_duplicates(spec.id_column, keep="last")
    keep_days = spec.promotion.train_window_days
    if keep_days is not None and split.start is not None:
        since = pd.Timestamp(split.start) - pd.Timedelta(days=keep_days)
        frame = frame[frame[spec.timestamp_column] >= since]
    if frame.empty:
        raise DataError(
            f"model '{spec.name}': the refreshed training set is empty "
            f"(promotion.train_window_days {keep_days} before {split.start})"
        )
    return frame.sort_values(spec.timestamp_column, kind="stable").reset_index(drop=True)


@contextmanager
def workspace_lock(workspace: Workspace, name: str) -> Iterator[None]:
    """An exclusive lock on the workspace (``.zenops/locks/<name>.lock``), across threads and processes."""
    import fcntl

    path = workspace.root / STATE_DIR / "locks" / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_training_set(workspace: Workspace, spec: ModelSpec, frame: pd.DataFrame) -> DataVersion:
    """Write the refreshed set to the model's ``training_data`` path and snapshot it with DVC.

    The snapshot (dvc add, push to the remote, git commit) holds a workspace-wide
    file lock: DVC and git allow one writer per repository.
    """
    path = workspace.path(spec.training_data)
    path.parent.mkdir(parents=True, exist_ok=True)
    with workspace_lock(workspace, "data"):
        if path.suffix.lower() == ".parquet":
            frame.to_parquet(path, index=False)
        else:
            out = frame.copy()
            out[spec.timestamp_column] = out[spec.timestamp_column].dt.strftime("%Y-%m-%dT%H:%M:%S")
            out.to_csv(path, index=False)
        return workspace.data_store().snapshot(
            spec.training_data, f"data: {spec.name} refreshed training data"
        )


# -- the challenger -------------------------------------------------------------------


def register_challenger(
    workspace: Workspace,
    spec: ModelSpec,
    version: DataVersion,
    result: TrainingResult,
    frame: pd.DataFrame,
    champion: ChampionRef,
    ticket: int,
) -> LoggedTraining:
    """Log the retrained model with lineage tags plus the version it refreshes; alias ``challenger``."""
    from zenops.services.train.steps import record_training

    extra = {lineage.REFRESHES: champion.version, lineage.RUN_KIND: "refresh", REFRESH_TICKET: str(ticket)}
    logged = record_training(
        workspace,
        spec,
        version,
        result,
        frame,
        extra_tags=extra,
        run_name=f"refresh {spec.name} from v{champion.version}",
    )
    registry = workspace.registry()
    registry.set_version_tag(spec.name, logged.version, lineage.REFRESHES, champion.version)
    registry.set_alias(spec.name, CHALLENGER, logged.version)
    return logged


# -- the comparison -------------------------------------------------------------------


@dataclass
class Comparison:
    """Champion and challenger on the held-out window, and the gate's decision."""

    figures: dict[str, Any]
    promote: bool
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**self.figures, "promote": self.promote, "reasons": list(self.reasons)}

    def summary(self) -> str:
        b = self.figures.get("bootstrap") or {}
        metric = self.figures.get("metric")
        return (
            f"{metric} {_fmt(b.get('champion'))} -> {_fmt(b.get('challenger'))} "
            f"({_pct(b.get('relative_improvement'))}, {_pct(b.get('confidence'), sign=False)} interval "
            f"{_pct(b.get('relative_low'))} to {_pct(b.get('relative_high'))}) "
            f"on {self.figures.get('rows')} rows"
        )


def compare(
    workspace: Workspace,
    spec: ModelSpec,
    champion: ChampionRef,
    challenger_model: Any,
    split: WindowSplit,
) -> Comparison:
    """Both models on the same held-out window: metric, paired bootstrap, paired test, MLflow check.

    The champion is loaded by version (not alias); the challenger is the model just
    fitted, which is the one registered.
    """
    from registry.promotion import validate_thresholds

    gate = spec.promotion
    rows = split.compare
    figures: dict[str, Any] = {
        "metric": spec.metric_name,
        "rows": len(rows),
        "window": split.describe(),
        "margin": gate.margin,
        "champion_version": champion.version,
    }
    if rows.empty:
        figures.update(
            bootstrap={}, test={}, mlflow_validation={}, champion_metrics={}, challenger_metrics={}
        )
        reason = "no labelled production rows since the champion's data: nothing to compare on"
        return Comparison(figures, promote=False, reasons=[reason])
    champion_model = workspace.registry().load_version(spec.name, champion.version)
    y = rows[spec.target].to_numpy()
    a, b = predict_frame(champion_model, rows, spec), predict_frame(challenger_model, rows, spec)
    bootstrap = paired_bootstrap(
        spec.metric_name,
        y,
        a[PREDICTION].to_numpy(),
        b[PREDICTION].to_numpy(),
        a[PROBABILITY].to_numpy() if PROBABILITY in a else None,
        b[PROBABILITY].to_numpy() if PROBABILITY in b else None,
        resamples=gate.resamples,
        confidence=gate.confidence,
        seed=spec.seed,
    )
    test = paired_test(spec.task, y, a[PREDICTION].to_numpy(), b[PREDICTION].to_numpy())
    if math.isfinite(bootstrap.champion) and math.isfinite(bootstrap.challenger):
        passed, message, thresholds = validate_thresholds(
            spec.metric_name,
            bootstrap.champion,
            bootstrap.challenger,
            margin=gate.margin,
            greater_is_better=bootstrap.greater_is_better,
        )
    else:
        passed, message, thresholds = False, f"{spec.metric_name} is undefined on the window", {}
    decision = decide(
        bootstrap,
        test,
        margin=gate.margin,
        min_rows=gate.min_rows,
        validation_passed=passed,
        validation_message=message,
        require_paired_test=gate.require_paired_test,
    )
    figures.update(
        bootstrap=bootstrap.to_dict(),
        test=test.to_dict(),
        mlflow_validation={"passed": passed, "message": message, "thresholds": thresholds},
        champion_metrics=_finite_values(metrics(y, a, spec)),
        challenger_metrics=_finite_values(metrics(y, b, spec)),
    )
    return Comparison(figures, promote=decision.promote, reasons=decision.reasons)


def log_comparison(workspace: Workspace, challenger_run: str, comparison: Comparison) -> None:
    """The comparison's figures on the challenger's MLflow run (metrics and ``comparison.json``)."""
    registry = workspace.registry()
    b = comparison.figures.get("bootstrap") or {}
    values = {
        "compare_champion": b.get("champion"),
        "compare_challenger": b.get("challenger"),
        "compare_relative_improvement": b.get("relative_improvement"),
        "compare_relative_low": b.get("relative_low"),
        "compare_relative_high": b.get("relative_high"),
        "compare_rows": comparison.figures.get("rows"),
        "compare_p_value": (comparison.figures.get("test") or {}).get("p_value"),
    }
    with registry.errors(f"log comparison on run {challenger_run}"):
        for key, value in values.items():
            if isinstance(value, int | float) and math.isfinite(value):
                registry.client.log_metric(challenger_run, key, float(value))
        registry.client.set_tag(
            challenger_run,
            "zenops.refresh.decision",
            PROMOTED if comparison.promote else HANDED_BACK,
        )
        registry.client.log_dict(challenger_run, comparison.to_dict(), "comparison.json")


# -- promotion --------------------------------------------------------------------------


def move_aliases(workspace: Workspace, model: str, challenger: str, expected_champion: str) -> AliasMove:
    """``previous-champion`` ← champion, ``champion`` ← challenger; refused if the champion moved."""
    from registry.promotion import promote

    return promote(workspace.registry(), model, challenger, expected_champion)


def restore_aliases(workspace: Workspace, model: str, snapshot: dict[str, str]) -> None:
    """Put the aliases back as ``snapshot`` holds them."""
    from registry.promotion import restore_aliases as restore

    restore(workspace.registry(), model, snapshot)


def aliases_now(workspace: Workspace, model: str) -> dict[str, str]:
    """The model's zenops aliases now, as ``{alias: version}``."""
    from registry.promotion import alias_snapshot

    return alias_snapshot(workspace.registry(), model)


def ensure_aliases(workspace: Workspace, model: str, expected: dict[str, str]) -> None:
    """After a failed promotion: the aliases must be as before it; put them back if not."""
    import logging

    if aliases_now(workspace, model) == expected:
        return
    logging.getLogger("zenops.refresh").warning(
        "%s: aliases not restored by the rollback hooks; restoring", model
    )
    restore_aliases(workspace, model, expected)
    if aliases_now(workspace, model) != expected:
        from zenops.kernel.errors import StoreError

        raise StoreError(f"{model}: could not restore the aliases to {expected}; check the MLflow registry")


def write_promotion_audit(
    workspace: Workspace, move: AliasMove, ticket: int, comparison: Comparison, flow_run: str | None
) -> AuditRecord:
    """The MLflow audit of a promotion (audit run and version tags).

    ``ZENOPS_CRASH_AT=after-alias-move`` fails here, after the aliases moved and
    before any audit is written, to test that the aliases roll back.
    """
    from registry.promotion import write_audit
    from zenops.services.monitor.cycle import crash_point

    crash_point("after-alias-move")
    return write_audit(
        workspace.registry(),
        move,
        at=clock.now(),
        reason=f"refresh: {comparison.summary()}",
        ticket=ticket,
        actor=ACTOR,
        evidence={"comparison": comparison.to_dict(), "flow_run": flow_run},
    )


def undo_promotion_audit(workspace: Workspace, model: str, record: dict[str, Any]) -> None:
    from registry.promotion import undo_audit

    undo_audit(workspace.registry(), model, AuditRecord(**record))


def close_promoted(
    workspace: Workspace, ticket: int, move: AliasMove, comparison: Comparison, audit: AuditRecord
) -> str:
    """The refresh ticket's audit evidence, and the ticket closed as done with its outcome."""
    store = workspace.ticket_store()
    outcome = f"promoted version {move.champion_to} over {move.champion_from}: {comparison.summary()}"
    store.add_evidence(
        ticket,
        {
            "event": PROMOTED,
            "at": clock.now().isoformat(),
            "model": move.model,
            "champion_version": move.champion_to,
            "previous_champion_version": move.champion_from,
            "aliases_before": move.before,
            "aliases_after": move.after,
            "reasons": comparison.reasons,
            "comparison": _json_ready(comparison.to_dict()),
            "audit_run": audit.run_id,
        },
        actor=ACTOR,
    )
    store.close(ticket, outcome=outcome, actor=ACTOR)
    return outcome


# -- hand back ------------------------------------------------------------------------


def write_dossier(
    workspace: Workspace,
    spec: ModelSpec,
    champion: ChampionRef,
    challenger: LoggedTraining,
    data: DataVersion,
    trained_spec: ModelSpec,
    comparison: Comparison,
    ticket: int,
    tried: list[str],
) -> tuple[Path, str]:
    """The rebuild dossier as Markdown, under ``.zenops/dossiers/<model>/`` and on the challenger's run."""
    registry = workspace.registry()
    info = registry.version(spec.name, challenger.version)
    evidence = refresh_evidence(workspace, ticket)
    built_champion = BuiltFrom(
        role="champion",
        version=champion.version,
        run_id=champion.run_id,
        data_path=champion.lineage.data.path,
        data_rev=champion.lineage.data.rev,
        data_md5=champion.lineage.data.md5,
        code_rev=champion.lineage.code_rev,
        trainer=champion.lineage.trainer,
        params={k: v for k, v in champion.params.items() if k.startswith("trainer.")},
    )
    built_challenger = BuiltFrom(
        role="challenger",
        version=challenger.version,
        run_id=challenger.run_id,
        data_path=data.path,
        data_rev=data.rev,
        data_md5=data.md5,
        code_rev=info.tags.get(lineage.CODE_REV, data.rev),
        trainer=trained_spec.trainer.reference,
        params={k: v for k, v in info.params.items() if k.startswith("trainer.")},
    )
    now = clock.now()
    markdown = render(
        DossierInput(
            model=spec.name,
            task=spec.task,
            workspace=str(workspace.root),
            tracking_uri=workspace.stores.tracking_uri,
            champion=built_champion,
            challenger=built_challenger,
            comparison=comparison.figures,
            reasons=comparison.reasons,
            refresh_ticket=ticket,
            evidence=evidence,
            tried=tried,
            at=now.strftime("%Y-%m-%d %H:%M UTC"),
        )
    )
    folder = workspace.root / STATE_DIR / "dossiers" / spec.name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"refresh-{ticket}-v{challenger.version}.md"
    path.write_text(markdown, encoding="utf-8")
    with registry.errors(f"log dossier on run {challenger.run_id}"):
        registry.client.log_text(challenger.run_id, markdown, "dossier.md")
    return path, markdown


def open_rebuild_ticket(
    workspace: Workspace,
    spec: ModelSpec,
    ticket: int,
    challenger: LoggedTraining,
    comparison: Comparison,
    dossier: Path,
    markdown: str,
) -> int:
    """The rebuild ticket for the data scientists (one open per model), carrying the dossier."""
    draft = TicketDraft(
        kind="rebuild",
        title=f"Rebuild {spec.name}: a refresh did not beat the champion",
        model=spec.name,
        idempotency_key=incident_key(spec.name, "rebuild", HANDBACK_INCIDENT),
        evidence=_json_ready(
            {
                "event": "refresh_handed_back",
                "at": clock.now().isoformat(),
                "refresh_ticket": ticket,
                "challenger_version": challenger.version,
                "challenger_run": challenger.run_id,
                "reasons": comparison.reasons,
                "comparison": comparison.to_dict(),
                "dossier": str(dossier),
                "dossier_markdown": markdown,
            }
        ),
        notes=markdown,
    )
    stored, _ = workspace.ticket_store().open_or_update(draft, actor=ACTOR)
    return int(stored.id)


def close_handed_back(
    workspace: Workspace, ticket: int, rebuild: int, comparison: Comparison, dossier: Path, challenger: str
) -> str:
    """The refresh ticket's evidence and its closing as done, with the hand-back as outcome."""
    store = workspace.ticket_store()
    outcome = (
        f"handed back: challenger version {challenger} did not pass the gate "
        f"({comparison.summary()}); rebuild ticket #{rebuild}"
    )
    store.add_evidence(
        ticket,
        {
            "event": HANDED_BACK,
            "at": clock.now().isoformat(),
            "challenger_version": challenger,
            "rebuild_ticket": rebuild,
            "dossier": str(dossier),
            "reasons": comparison.reasons,
            "comparison": _json_ready(comparison.to_dict()),
        },
        actor=ACTOR,
    )
    store.close(ticket, outcome=outcome, actor=ACTOR)
    return outcome


# -- rollback ------------------------------------------------------------------------


def rollback(workspace: Workspace, model: str, actor: str = ROLLBACK_ACTOR) -> dict[str, Any]:
    """Restore the previous champion; the replaced champion becomes ``previous-champion``.

    Audited like a promotion (an MLflow audit run and ``zenops.champion.*`` version
    tags) and, when the replaced champion was promoted on a ticket, as evidence on
    that ticket. If the audit cannot be written, the aliases are put back.
    """
    from registry.promotion import CHAMPION_TICKET, alias_snapshot, roll_back, undo_audit, write_audit

    workspace.config.model(model)
    registry = workspace.registry()
    before = alias_snapshot(registry, model)
    move = roll_back(registry, model)
    at = clock.now()
    audit = None
    try:
        replaced = move.champion_from
        reason = f"rollback: version {move.champion_to} restored in place of version {replaced}"
        audit = write_audit(
            registry, move, at=at, reason=reason, ticket=None, actor=actor, evidence={"requested_by": actor}
        )
        ticket = None
        if replaced is not None:
            tagged = registry.version_tags(model, replaced).get(CHAMPION_TICKET)
            ticket = int(tagged) if tagged and tagged.isdigit() else None
        if ticket is not None:
            workspace.ticket_store().add_evidence(
                ticket,
                {
                    "event": "rolled_back",
                    "at": at.isoformat(),
                    "champion_version": move.champion_to,
                    "replaced_version": replaced,
                    "audit_run": audit.run_id,
                    "actor": actor,
                },
                actor=actor,
            )
    except BaseException:
        restore_aliases(workspace, model, before)
        if audit is not None:
            undo_audit(registry, model, audit)
        raise
    return {
        "model": model,
        "champion_version": move.champion_to,
        "previous_champion_version": move.after.get("previous-champion"),
        "rolled_back_from": move.champion_from,
        "aliases_before": move.before,
        "aliases_after": move.after,
        "audit_run": audit.run_id,
        "ticket": ticket,
        "at": at.isoformat(),
    }


def what_was_tried(
    spec: ModelSpec,
    trained_spec: ModelSpec,
    champion: ChampionRef,
    split: WindowSplit,
    training_rows: int,
    production_rows: int,
    notes: list[str],
) -> list[str]:
    """What the refresh did, in words, for the dossier."""
    window = split.describe()
    keep = spec.promotion.train_window_days
    return [
        f"Re-hydrated version {champion.version}'s training data ({champion.lineage.data.path} at "
        f"{champion.lineage.data.rev[:12]}, md5 {champion.lineage.data.md5}) and parameters from MLflow run "
        f"{champion.run_id}.",
        f"Added {len(split.train)} of {production_rows} labelled production rows (batches joined with "
        f"labels on {spec.id_column}); held out {window['rows']} rows from {window['start']} to "
        f"{window['end']} for the comparison.",
        f"Retrained {trained_spec.trainer.reference} with {dict(trained_spec.trainer.params)} (seed "
        f"{trained_spec.seed}, holdout share {trained_spec.holdout_fraction}) on {training_rows} rows"
        + (f", keeping {keep} days before the window" if keep else ", all rows kept")
        + ".",
        f"Gate: margin {spec.promotion.margin:.2%}, confidence {spec.promotion.confidence:.0%}, at least "
        f"{spec.promotion.min_rows} rows, {spec.promotion.resamples} bootstrap resamples.",
        *notes,
    ]


def rollback_markdown(result: dict[str, Any]) -> str:
    """The Prefect artifact of a rollback."""
    return (
        f"# Rollback {result['model']}\n\n"
        f"- champion: version {result['champion_version']} (was {result['rolled_back_from']})\n"
        f"- previous-champion: version {result['previous_champion_version']}\n"
        f"- audit run: `{result['audit_run']}`\n"
        f"- ticket: {'#' + str(result['ticket']) if result.get('ticket') else 'none'}\n"
    )


# -- reports ---------------------------------------------------------------------------


def refresh_markdown(result: dict[str, Any]) -> str:
    """The Prefect artifact of a refresh: the decision and the comparison table."""
    from zenops.services.refresh.dossier import comparison_lines

    lines = [
        f"# Refresh {result['model']}: {result['decision']}",
        "",
        f"- champion: version {result['champion_version']}",
        f"- challenger: version {result.get('challenger_version') or 'none'}",
        f"- ticket: #{result.get('ticket')}",
    ]
    if result.get("rebuild_ticket"):
        lines.append(f"- rebuild ticket: #{result['rebuild_ticket']} (dossier `{result.get('dossier')}`)")
    comparison = result.get("comparison") or {}
    lines += ["", *[f"- {reason}" for reason in comparison.get("reasons", [])], ""]
    lines += comparison_lines(comparison)
    return "\n".join(lines) + "\n"


def artifact_key(prefix: str, model: str) -> str:
    """A Prefect artifact key (lowercase letters, digits and dashes) for ``model``."""
    return f"{prefix}-{re.sub(r'[^a-z0-9-]+', '-', model.lower())}"


def _finite_values(values: dict[str, float]) -> dict[str, float | None]:
    return {k: (v if isinstance(v, float) and math.isfinite(v) else None) for k, v in values.items()}


def _json_ready(value: Any) -> Any:
    """NaN and infinities become None, so evidence stays valid JSON."""
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, date):
        return value.isoformat()
    return value


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else "n/a"


def _pct(value: Any, sign: bool = True) -> str:
    if not isinstance(value, float) or not math.isfinite(value):
        return "n/a"
    return f"{value:+.2%}" if sign else f"{value:.0%}"


def outcome_dict(
    model: str,
    decision: str,
    champion_version: str | None,
    challenger_version: str | None,
    comparison: Comparison | None,
    ticket: int | None,
    **extra: Any,
) -> dict[str, Any]:
    """The refresh's result (the interface's JSON keys first)."""
    return _json_ready(
        {
            "model": model,
            "champion_version": champion_version,
            "challenger_version": challenger_version,
            "comparison": comparison.to_dict() if comparison is not None else {},
            "decision": decision,
            "ticket": ticket,
            **extra,
        }
    )
