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


def arrive(ws: Workspace, days: int = 6, per_day: int = 120, flipped: bool = True) -> None:
    """Production days from June 1st: one batch file and one label file per day."""
    spec = ws.config.model(MODEL)
    for day in range(days):
        start = datetime(2024, 6, 1) + timedelta(days=day)
        frame = rows(per_day, start, 1, seed=100 + day, flipped=flipped, prefix=f"p{day}-")
        name = start.strftime("%Y-%m-%d.csv")
        frame.drop(columns=[spec.target]).to_csv(ws.path(spec.batches) / name, index=False)
        frame[[spec.id_column, spec.target]].to_csv(ws.path(spec.labels) / name, index=False)
