"""A small world for the training and refresh services on fakes: one model, seeded data, in-memory stores.

The model ``churn`` (classification, a logistic regression on three features) is
trained on 400 rows from January; production days from June arrive as batch and label
files, their concept either the same or flipped (what a refresh can fix: the challenger,
trained on the recent days only, wins on the held-out last two days). The stores are
fakes of the ports (:mod:`tests.fakes`) and the in-memory ticket repository.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from demand.repository import InMemoryTicketRepository
from tests.fakes.data_store import FakeDataStore
from tests.fakes.registry import FakeRegistry
from tests.fakes.workspace import no_estimator
from zenops.kernel import clock
from zenops.services.refresh.context import RefreshPorts
from zenops.workspace import Workspace

MODEL = "churn"
CONFIG = f"""
models:
  - name: {MODEL}
    task: classification
    target: churned
    id_column: customer_id
    timestamp_column: seen_at
    features:
      numerical: [usage, tenure]
      categorical: [plan]
    training_data: data/{MODEL}/train.parquet
    batches: data/{MODEL}/batches
    labels: data/{MODEL}/labels
    trainer:
      estimator: sklearn.linear_model.LogisticRegression
      params: {{max_iter: 200}}
    metric: roc_auc
    sla: gold
    sponsor: retention
    owner: ds-retention
    promotion: {{window_days: 2, train_window_days: 5, min_rows: 100, resamples: 200}}
team:
  - {{name: ana, role: mlops_engineer, level: senior}}
  - {{name: raj, role: data_scientist}}
"""


def rows(
    n: int, start: datetime, days: int, seed: int, flipped: bool = False, prefix: str = "c"
) -> pd.DataFrame:
    """``n`` customers seen over ``days`` from ``start``; churn follows usage (or, flipped, its opposite)."""
    rng = np.random.default_rng(seed)
    usage, tenure = rng.normal(size=n), rng.normal(size=n)
    churned = (2.0 * usage + 0.5 * tenure + rng.normal(scale=0.5, size=n) > 0).astype(int)
    seconds = np.sort(rng.integers(0, days * 86_400, size=n))
    return pd.DataFrame(
        {
            "customer_id": [f"{prefix}{i:05d}" for i in range(n)],
            "seen_at": [start + timedelta(seconds=int(s)) for s in seconds],
            "usage": usage,
            "tenure": tenure,
            "plan": rng.choice(["basic", "plus"], size=n),
            "churned": 1 - churned if flipped else churned,
        }
    )


def workspace(root: Path) -> Workspace:
    """A workspace folder with ``zenops.yaml`` and the champion's training data (no stores)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "zenops.yaml").write_text(CONFIG, encoding="utf-8")
    ws = Workspace(root)
    spec = ws.config.model(MODEL)
    path = ws.path(spec.training_data)
    path.parent.mkdir(parents=True)
    rows(400, datetime(2024, 1, 1), 20, seed=1).to_parquet(path, index=False)
    for folder in (spec.batches, spec.labels):
        ws.path(folder).mkdir(parents=True)
    return ws


def ports(ws: Workspace) -> RefreshPorts:
    """Fakes of the registry and data store, and an in-memory ticket store, over ``ws``."""
    tickets = InMemoryTicketRepository(clock=clock.now, config=ws.config)
    return RefreshPorts(ws, FakeRegistry(), FakeDataStore(ws.root), tickets, no_estimator)


def june_day(day: int, per_day: int = 120, flipped: bool = True) -> pd.DataFrame:
    """Production day ``day`` of June (0-based), labels included: what :func:`arrive` drops."""
    start = datetime(2024, 6, 1) + timedelta(days=day)
    return rows(per_day, start, 1, seed=100 + day, flipped=flipped, prefix=f"p{day}-")


def rebuild(
    world: RefreshPorts,
    days: range = range(4),
    *,
    flipped: bool = True,
    shuffled: bool = False,
    ticket: int | str | None = "yes",
    lineage_tags: bool = True,
) -> str:
    """A data scientist's rebuilt model of the June ``days``, versioned, logged with lineage, registered.

    The training set is written to ``data/churn/rebuild.parquet`` and snapshotted; the
    model (the spec's trainer, ``C=0.5``) is logged with the lineage tags (unless
    ``lineage_tags`` is false) and registered as a new version tagged ``zenops.candidate``
    = ``ticket`` (no tag when None). ``shuffled`` permutes the labels: a model that learned nothing.
    """
    from registry import candidates, lineage
    from registry.lineage import Lineage
    from zenops.services.train.fitting import train_and_evaluate

    ws, spec = world.workspace, world.workspace.config.model(MODEL)
    frame = pd.concat([june_day(day, flipped=flipped) for day in days], ignore_index=True)
    if shuffled:
        frame[spec.target] = np.random.default_rng(3).permutation(frame[spec.target].to_numpy())
    path = "data/churn/rebuild.parquet"
    frame.to_parquet(ws.path(path), index=False)
    version = world.data.snapshot(path, "data: churn rebuilt by the data scientists")
    rebuilt = spec.model_copy(update={"trainer": spec.trainer.model_copy(update={"params": {"C": 0.5}})})
    result = train_and_evaluate(rebuilt, frame)
    trail = Lineage(data=version, trainer=rebuilt.trainer.reference, code_rev=version.rev, code_version="0")
    tags = {**(trail.tags() if lineage_tags else {}), lineage.MODEL: MODEL}
    run_id, uri = world.registry.log_training(
        MODEL,
        run_name="rebuild churn",
        fitted=result.model,
        params={"C": 0.5},
        metrics=result.metrics,
        tags=tags,
        train_frame=frame,
        holdout=result.holdout,
        data_source=path,
        data_name=path,
        target=spec.target,
        features=spec.features.all,
    )
    version_tags = {} if ticket is None else {candidates.CANDIDATE: str(ticket)}
    return world.registry.register(MODEL, uri, run_id, version_tags)


def arrive(ws: Workspace, days: int = 6, per_day: int = 120, flipped: bool = True) -> None:
    """Production days from June 1st: one batch file and one label file per day."""
    spec = ws.config.model(MODEL)
    for day in range(days):
        start = datetime(2024, 6, 1) + timedelta(days=day)
        frame = june_day(day, per_day, flipped)
        name = start.strftime("%Y-%m-%d.csv")
        frame.drop(columns=[spec.target]).to_csv(ws.path(spec.batches) / name, index=False)
        frame[[spec.id_column, spec.target]].to_csv(ws.path(spec.labels) / name, index=False)
