"""The promotion ledger in the Prefect UI: the ``ledger-MODEL`` artifact, and the link to it.

Every flow that changes (or decides on) a model's champion — refresh, candidate,
approval, rollback — publishes the model's ledger (:mod:`zenops.services.history`) as
a markdown artifact under the key ``ledger-MODEL``; the artifact of the change links to
the latest one (``{ui}/artifacts/key/ledger-MODEL``) and names the command that prints it.
"""

from __future__ import annotations

from prefect.artifacts import create_markdown_artifact

from zenops.adapters.prefect_links import prefect_urls
from zenops.services.history import history, ledger_key, ledger_link, ledger_markdown
from zenops.services.messages import first_prefect_ui
from zenops.workspace import Workspace

__all__ = ["ledger_lines", "publish_ledger"]


def publish_ledger(workspace: Workspace, model: str) -> None:
    """The model's ledger as the ``ledger-MODEL`` artifact of the current flow run."""
    found = history(workspace.registry(), model)
    create_markdown_artifact(
        key=ledger_key(model),
        markdown=ledger_markdown(model, found["events"]),
        description=f"Promotion ledger of {model}",
    )


def ledger_lines(workspace: Workspace, model: str) -> list[str]:
    """The lines a change's artifact ends with: where its ledger is, in the UI and on the command line."""
    ui = first_prefect_ui(workspace.config.notifications.ui_url, prefect_urls())
    link = ledger_link(ui, model)
    shown = f"[{ledger_key(model)}]({link})" if link else f"`{ledger_key(model)}`"
    return [
        "",
        f"Promotion ledger: {shown} (artifact), or `zenops --workspace {workspace.root} history {model}`",
    ]
