"""A candidate read and checked: the version (or run) a data scientist brings back, and its lineage.

Every check runs before anything is stored, so that bad input loses nothing: an
unknown model, version or run; a run that logged no model; a version or run of
another model; lineage tags missing; features the model's batches do not carry; a
version that is the champion already; a ticket that is not an open rebuild or
refresh ticket of the model; training data that does not re-hydrate (its md5 differs
from the recorded one). Each is one line (a :class:`~zenops.kernel.errors.UsageError`,
exit code 2) naming what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from registry import candidates
from registry.lineage import Lineage
from registry.versions import CHAMPION
from zenops.kernel import clock
from zenops.kernel.config import ModelSpec
from zenops.kernel.errors import LineageError, NotFoundError, UsageError
from zenops.ports import ModelRegistry, TicketRepository
from zenops.services.refresh.context import RefreshPorts
from zenops.services.refresh.window import timestamps

__all__ = [
    "CandidateRef",
    "check_run",
    "check_ticket",
    "prepare",
    "read_candidate",
    "rehydrate_candidate",
    "trained_until",
]

TICKET_KINDS = ("rebuild", "refresh")


@dataclass(frozen=True)
class CandidateRef:
    """A registered version brought back as a candidate: its run's tags and parameters, its lineage."""

    model: str
    version: str
    run_id: str
    run_tags: dict[str, str]
    params: dict[str, str]
    version_tags: dict[str, str]
    lineage: Lineage
    features: tuple[list[str], list[str]] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"model '{self.model}' version {self.version} (run {self.run_id})"

    @property
    def ticket(self) -> int | None:
        """The ticket its ``zenops.candidate`` tag names, if any."""
        return candidates.ticket_of(self.version_tags.get(candidates.CANDIDATE))

    @property
    def decision(self) -> str | None:
        return self.version_tags.get(candidates.DECISION)


def _registered(registry: ModelRegistry, model: str) -> None:
    if not registry.is_registered(model):
        raise NotFoundError(f"model '{model}' is not a registered model in the tracking store")


def read_candidate(ports: RefreshPorts, spec: ModelSpec, version: str) -> CandidateRef:
    """The registered ``version`` of the model as a candidate, checked (see the module's notes)."""
    registry = ports.registry
    _registered(registry, spec.name)
    known = registry.all_version_tags(spec.name)
    if str(version) not in known:
        listed = ", ".join(sorted(known, key=lambda v: int(v) if v.isdigit() else 0)) or "none"
        raise NotFoundError(f"model '{spec.name}' has no version {version} (versions: {listed})")
    info = registry.version(spec.name, str(version))
    facts = registry.run_facts(info.run_id)
    where = f"model '{spec.name}' version {version} (run {info.run_id})"
    other = candidates.other_model(spec.name, facts.tags, facts.experiment)
    if other:
        raise UsageError(f"{where}: its run was logged for model '{other}', not '{spec.name}'")
    trail = candidates.candidate_lineage(facts.tags, where)
    features = candidates.recorded_features(facts.tags, spec.features.all, where)
    return CandidateRef(
        model=spec.name,
        version=str(version),
        run_id=info.run_id,
        run_tags=dict(facts.tags),
        params=dict(facts.params),
        version_tags=dict(known[str(version)]),
        lineage=trail,
        features=features,
    )


def check_run(ports: RefreshPorts, spec: ModelSpec, run_id: str) -> tuple[str, Lineage]:
    """A run to register as a candidate: the URI of the model it logged, and its lineage."""
    registry = ports.registry
    try:
        facts = registry.run_facts(run_id)
    except NotFoundError:
        raise NotFoundError(f"--run: no run '{run_id}' in the tracking store") from None
    where = f"run {run_id}"
    other = candidates.other_model(spec.name, facts.tags, facts.experiment)
    if other:
        raise UsageError(f"{where}: logged for model '{other}', not '{spec.name}'")
    logged = registry.logged_models(run_id)
    if not logged:
        raise UsageError(
            f"{where}: logged no model "
            "(log one in the run, e.g. mlflow.sklearn.log_model(model, name='model'))"
        )
    named = [uri for name, uri in logged if name == "model"]
    if len(logged) > 1 and len(named) != 1:
        names = ", ".join(name for name, _ in logged)
        raise UsageError(f"{where}: logged {len(logged)} models ({names}); name the one to evaluate 'model'")
    trail = candidates.candidate_lineage(facts.tags, where)
    candidates.recorded_features(facts.tags, spec.features.all, where)
    return (named[0] if named else logged[0][1]), trail


def check_ticket(tickets: TicketRepository, spec: ModelSpec, ticket: int | None) -> int | None:
    """``ticket`` when it is an open rebuild or refresh ticket of the model; a UsageError otherwise."""
    if ticket is None:
        return None
    found = tickets.get(ticket)
    if found.model != spec.name or found.kind not in TICKET_KINDS:
        raise UsageError(
            f"--ticket {ticket}: a {found.kind} ticket of model '{found.model}', "
            f"not a rebuild or refresh of '{spec.name}'"
        )
    if not found.is_open:
        raise UsageError(f"--ticket {ticket}: already {found.status}; a candidate answers an open ticket")
    return ticket


def rehydrate_candidate(ports: RefreshPorts, candidate: CandidateRef) -> pd.DataFrame:
    """The candidate's training data, restored through the data store and md5-checked.

    Data that cannot be restored or does not match its md5 is the candidate's lineage
    at fault: a UsageError naming the version.
    """
    try:
        return ports.data.read_frame(candidate.lineage.data)
    except LineageError as error:
        raise UsageError(f"{candidate.where}: its training data does not re-hydrate: {error}") from None


def trained_until(spec: ModelSpec, frame: pd.DataFrame) -> Any:
    """The newest timestamp of the candidate's training data (None without the column)."""
    if spec.timestamp_column not in frame.columns:
        return None
    found = timestamps(frame[spec.timestamp_column]).max()
    return None if pd.isna(found) else found


def prepare(
    ports: RefreshPorts, spec: ModelSpec, *, run: str | None, version: str | None, ticket: int | None
) -> str:
    """Check a candidate given by run or version, then make it a tagged version; returns its number.

    Everything is checked before anything is stored: a run is registered as a new
    version only once its model, lineage and data are found good. A version is tagged
    ``zenops.candidate`` (and ``zenops.candidate.seen``, so no monitor cycle or webhook
    announces it again) when it is not tagged yet.
    """
    registry = ports.registry
    _registered(registry, spec.name)
    check_ticket(ports.tickets, spec, ticket)
    value = str(ticket) if ticket is not None else "zenops candidate"
    seen = clock.now().isoformat()
    if run is not None:
        uri, trail = check_run(ports, spec, run)
        try:
            ports.data.read_frame(trail.data)
        except LineageError as error:
            raise UsageError(f"run {run}: its training data does not re-hydrate: {error}") from None
        tags = {**trail.tags(), candidates.CANDIDATE: value, candidates.SEEN: seen}
        return registry.register(spec.name, uri, run, tags)
    assert version is not None
    candidate = read_candidate(ports, spec, version)
    if registry.aliases(spec.name).get(CHAMPION) == candidate.version:
        raise UsageError(f"{candidate.where} is the champion already")
    rehydrate_candidate(ports, candidate)
    if candidates.SEEN not in candidate.version_tags:
        registry.set_version_tag(spec.name, candidate.version, candidates.SEEN, seen)
    if candidates.CANDIDATE not in candidate.version_tags or ticket is not None:
        registry.set_version_tag(spec.name, candidate.version, candidates.CANDIDATE, value)
    return candidate.version
