"""The libraries imported inside functions, on purpose, and why.

Every zenops command is a new process: a deployment's flow run, ``zenops monitor`` from
a schedule, ``zenops tickets list`` from a shell. A module-top import is paid by every
command that loads the module, whether or not it uses the library, and each of these
costs a second or more on a small machine. So each is imported in the function that uses
it. Everything else is imported at module top, and so are the project's own modules,
except in the three places :data:`LAZY_PROJECT_IMPORTS` names, each the one way a
command avoids loading what it does not use. ``tests/unit/test_architecture.py`` holds
the code to these rules.
"""

from __future__ import annotations

import threading

#: Held while a deferred library is first imported in a thread of a cycle's thread pool:
#: Evidently's first import is not thread-safe (a second thread can see a partially
#: initialised module), and NannyML's first import comes either from fitting an estimator
#: or from reading a champion profile's fitted one. Re-entrant, so a warm-up may nest.
FIRST_IMPORT = threading.RLock()

DEFERRED: dict[str, str] = {
    "prefect": "the orchestrator: only flows, the server and event emission need it",
    "prefect_dask": "the Dask task runner (and Dask itself): only a cycle configured for Dask",
    "mlflow": "the tracking and registry client: not needed by tickets, plan or status",
    "evidently": "the drift reports: only a monitoring step that measures a batch",
    "nannyml": "the label-free estimators: only a champion whose metric can be estimated",
    "sklearn": "the trainers and metrics: only training, scoring and the comparison",
    "scipy": "the statistical tests: only drift measurement and the comparison",
    "skops": "safe model serialisation: only logging or loading a model",
    "dvc": "the data store: only snapshotting or re-hydrating training data",
    "sqlalchemy": "the database engine: only commands that open a store",
    "apprise": "notifications: only a delivery or a configuration check",
    "httpx": "HTTP checks of a local server: only server start-up and discovery",
    "pyarrow": "Parquet: only reading or writing a Parquet file",
    "ortools": "the CP-SAT solver: only the planner",
    "matplotlib": "the plan's chart: only drawing it",
    "cronsim": "cron validation: only a configuration with schedules",
    "playwright": "the browser: only screenshots",
}

#: Where a project module is imported inside a function, and why (paths from the root).
LAZY_PROJECT_IMPORTS: dict[str, str] = {
    "zenops/workspace.py": "the wiring builds each adapter, and loads its library, on first use",
    "zenops/app/cli/": "a command imports its flow or service when it runs (tickets list loads no Prefect)",
    "zenops/app/demo/": "the demo imports each flow, trainer and the data generator when its step runs",
}
