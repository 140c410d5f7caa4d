"""The ``zenops`` command line.

Every command that reports accepts ``--json`` and then prints exactly one JSON
document on stdout (progress and logs go to stderr). Exit codes: 0 done; 1 the
work failed; 2 bad usage, configuration or input, with one line on stderr.

By command group: :mod:`~zenops.app.cli.models` (train, monitor, refresh, rollback),
:mod:`~zenops.app.cli.candidates` (candidate, history, approve, reject),
:mod:`~zenops.app.cli.tickets`, :mod:`~zenops.app.cli.plan` (plan, report sponsors, sla-watch) and
:mod:`~zenops.app.cli.operations` (init, status, serve, server, demo); the Typer
application and its global options are in :mod:`~zenops.app.cli.root`, what is
printed and how errors end in :mod:`~zenops.app.cli.output`. The commands are
registered here, in the order ``zenops --help`` lists them.
"""

from __future__ import annotations

import logging
import os

from zenops.app.cli import candidates, models, operations, plan, tickets
from zenops.app.cli.output import exit_code
from zenops.app.cli.root import app, details, report_app, tickets_app
from zenops.kernel.offline import stay_offline

__all__ = ["app", "main"]

app.command()(operations.init)
app.command()(models.train)
app.command()(models.monitor)
report_app.command("model", hidden=True)(models.report)
report_app.command("sponsors")(plan.report_sponsors)
app.command()(models.refresh)
app.command()(models.rollback)
app.command()(candidates.candidate)
app.command()(candidates.history)
app.command()(candidates.approve)
app.command()(candidates.reject)
app.command()(operations.status)
tickets_app.command("list")(tickets.tickets_list)
tickets_app.command("show")(tickets.tickets_show)
tickets_app.command("new")(tickets.tickets_new)
tickets_app.command("approve")(tickets.tickets_approve)
tickets_app.command("close")(tickets.tickets_close)
app.command()(plan.plan)
app.command("sla-watch")(plan.sla_watch_command)
app.command()(operations.serve)
app.command()(operations.server)
app.command()(operations.demo)


def main() -> None:
    """Entry point: one line and an exit code for every error zenops raises."""
    stay_offline()
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")  # MLflow sets its own level on import
    for noisy in ("mlflow", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        app(standalone_mode=False)
    except Exception as error:
        raise SystemExit(exit_code(error, details)) from None
