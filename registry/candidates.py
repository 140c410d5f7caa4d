"""Candidates: models a data scientist rebuilt, brought back through the promotion gate.

A candidate is a registered version of the model tagged ``zenops.candidate`` (its
value: the rebuild ticket it answers, or any text), or a run handed to ``zenops
candidate MODEL --run ID``. It may change the trainer, its parameters and the
features (any of the model's columns: production batches carry no others), but it
must re-hydrate like any champion: its run carries the lineage tags
(:data:`registry.lineage.LINEAGE_TAGS`) of training data versioned in the workspace,
and ``zenops.features`` when it uses other features than ``zenops.yaml`` lists.

The version tags zenops writes on a candidate (the data scientist's ``zenops.candidate``
is never changed):

- ``zenops.candidate.seen``: when zenops first announced it (a webhook, or the monitor
  cycle where webhooks are not set up), so it is announced once;
- ``zenops.candidate.decision``: ``promoted``, ``rejected`` or ``awaiting_approval``,
  with ``zenops.candidate.decided_at``.

Pure: rules over tags and names; the registry port reads and writes them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from registry import lineage
from registry.lineage import Lineage
from registry.versions import experiment_name
from zenops.kernel.errors import UsageError

__all__ = [
    "CANDIDATE",
    "DECIDED_AT",
    "DECISION",
    "FEATURES",
    "SEEN",
    "candidate_lineage",
    "features_tag",
    "not_announced",
    "other_model",
    "recorded_features",
    "ticket_of",
]

CANDIDATE = "zenops.candidate"
SEEN = "zenops.candidate.seen"
DECISION = "zenops.candidate.decision"
DECIDED_AT = "zenops.candidate.decided_at"
FEATURES = "zenops.features"

PROMOTED, REJECTED, AWAITING_APPROVAL = "promoted", "rejected", "awaiting_approval"


def ticket_of(value: str | None) -> int | None:
    """The ticket a ``zenops.candidate`` value names (``12`` or ``#12``), else None."""
    text = (value or "").strip().removeprefix("#")
    return int(text) if text.isdigit() else None


def not_announced(versions: Mapping[str, Mapping[str, str]]) -> list[str]:
    """The versions tagged ``zenops.candidate`` that zenops has not announced yet, oldest first."""
    found = [v for v, tags in versions.items() if CANDIDATE in tags and SEEN not in tags]
    return sorted(found, key=lambda v: int(v) if v.isdigit() else 0)


def other_model(model: str, run_tags: Mapping[str, str], experiment: str | None) -> str | None:
    """The other model a run belongs to (its ``zenops.model`` tag, or a zenops experiment), else None."""
    tagged = run_tags.get(lineage.MODEL)
    if tagged and tagged != model:
        return tagged
    prefix = experiment_name("")
    if experiment and experiment.startswith(prefix) and experiment != experiment_name(model):
        return experiment.removeprefix(prefix)
    return None


def candidate_lineage(tags: Mapping[str, str], where: str) -> Lineage:
    """What the candidate was built from; missing lineage tags are a UsageError naming them.

    A candidate's lineage is the data scientist's input, so a gap is theirs to fix
    (exit code 2), not a store that failed.
    """
    missing = [tag for tag in lineage.LINEAGE_TAGS if not tags.get(tag)]
    if missing:
        raise UsageError(
            f"{where}: lineage tag(s) missing: {', '.join(missing)}; a candidate must carry the tags "
            "that re-hydrate it (its training data versioned with DVC in the workspace, its trainer "
            "and code revision)"
        )
    return Lineage.from_tags(dict(tags), where)


def features_tag(numerical: Sequence[str], categorical: Sequence[str]) -> str:
    """The ``zenops.features`` tag of a run trained on these columns."""
    return json.dumps({"numerical": list(numerical), "categorical": list(categorical)}, sort_keys=True)


def recorded_features(
    tags: Mapping[str, str], columns: Sequence[str], where: str
) -> tuple[list[str], list[str]] | None:
    """The features a run records (``zenops.features``), checked against the model's ``columns``.

    None when the run records none (it used ``zenops.yaml``'s). A feature the model's
    batches do not carry, or a tag that does not parse, is a UsageError naming it.
    """
    text = tags.get(FEATURES)
    if not text:
        return None
    try:
        found = json.loads(text)
        numerical, categorical = list(found.get("numerical", [])), list(found.get("categorical", []))
    except (ValueError, AttributeError, TypeError):
        raise UsageError(
            f'{where}: tag {FEATURES}: \'{text[:200]}\' is not {{"numerical": [...], "categorical": [...]}}'
        ) from None
    unknown = [c for c in [*numerical, *categorical] if c not in columns]
    if unknown:
        raise UsageError(
            f"{where}: tag {FEATURES}: {', '.join(unknown)} not among the model's columns "
            f"({', '.join(columns)}); production batches carry no other"
        )
    if not numerical and not categorical:
        raise UsageError(f"{where}: tag {FEATURES}: no feature listed")
    return numerical, categorical
