"""What zenops tells people, as plain data: the messages and the links they carry.

Pure functions only (no Prefect, MLflow or Apprise): each turns what a flow already
knows (a batch outcome, a refresh result, an SLA escalation, a failed flow run)
into a :class:`~zenops.kernel.notification.Message` with a short title and a
markdown body. The service in :mod:`zenops.services.notify` decides who receives it;
a notifier (Apprise, :mod:`zenops.adapters.apprise`) sends it.

The rule for the Prefect UI to link to is here too (:func:`prefect_ui_base`, applied
by :func:`first_prefect_ui` to what :mod:`zenops.adapters.prefect_links` reads), for
the notifications and the command line alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from demand.escalation import BREACHED, Escalation
from zenops.kernel.notification import Message, Severity

__all__ = [
    "BREACHED",
    "Escalation",
    "Links",
    "Message",
    "candidate_message",
    "escalation_message",
    "first_prefect_ui",
    "flow_failure_message",
    "flow_run_url",
    "handback_message",
    "incident_message",
    "mlflow_run_url",
    "mlflow_ui_base",
    "prefect_ui_base",
    "stale_message",
]

TOP_FEATURES = 5


@dataclass(frozen=True)
class Links:
    """Where the reader can look further; a link that cannot be built is None."""

    flow_run: str | None = None
    mlflow_run: str | None = None
    report: str | None = None


# -- links -------------------------------------------------------------------------------


def prefect_ui_base(configured: str | None, ui_env: str | None, api_env: str | None) -> str | None:
    """The Prefect UI to link to: ``ui_url``, else ``PREFECT_UI_URL``, else the API URL minus ``/api``.

    The one rule for the Prefect UI's address (see :func:`first_prefect_ui`).
    """
    for value in (configured, ui_env):
        if value and value.strip():
            return value.strip().rstrip("/")
    if api_env and api_env.strip():
        api = api_env.strip().rstrip("/")
        return api.removesuffix("/api") or None
    return None


def first_prefect_ui(configured: str | None, sources: Iterable[tuple[str | None, str | None]]) -> str | None:
    """The Prefect UI: ``configured``, else the first of ``sources`` that names a UI or an API.

    ``sources`` are (``PREFECT_UI_URL``, ``PREFECT_API_URL``) pairs, most specific first
    (the environment, then Prefect's settings: :func:`zenops.adapters.prefect_links.prefect_urls`);
    each is read only when the ones before it name nothing.
    """
    found = prefect_ui_base(configured, None, None)
    if found:
        return found
    for ui, api in sources:
        found = prefect_ui_base(None, ui, api)
        if found:
            return found
    return None


def flow_run_url(ui_base: str | None, flow_run_id: str | None) -> str | None:
    """The Prefect UI page of a flow run, when both the UI and the run are known."""
    if not ui_base or not flow_run_id:
        return None
    return f"{ui_base.rstrip('/')}/runs/flow-run/{flow_run_id}"


def mlflow_ui_base(configured: str | None, tracking_uri: str | None) -> str | None:
    """The MLflow UI to link to: ``mlflow_url``, else the tracking URI when it is an http(s) server."""
    if configured and configured.strip():
        return configured.strip().rstrip("/")
    if tracking_uri and tracking_uri.lower().startswith(("http://", "https://")):
        return tracking_uri.rstrip("/")
    return None


def mlflow_run_url(base: str | None, experiment_id: str | None, run_id: str | None) -> str | None:
    """The MLflow UI page of a run, when the UI, the experiment and the run are known."""
    if not base or not experiment_id or not run_id:
        return None
    return f"{base.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"


def _link_lines(links: Links) -> list[str]:
    lines = []
    if links.flow_run:
        lines.append(f"- Prefect flow run: {links.flow_run}")
    if links.mlflow_run:
        lines.append(f"- MLflow run: {links.mlflow_run}")
    if links.report:
        lines.append(f"- Evidently report: {links.report}")
    return ["", "**Links**", *lines] if lines else []


def _ticket_line(label: str, ticket: Any) -> list[str]:
    if ticket is None:
        return []
    return [f"- {label}: #{ticket} (`zenops tickets show {ticket}`)"]


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


# -- the messages ------------------------------------------------------------------------


def _feature(item: Any) -> str:
    if isinstance(item, Mapping):
        name, p_value = item.get("feature"), item.get("p_value")
    else:
        name, p_value = item, None
    return f"{name} (p={p_value:.1e})" if isinstance(p_value, int | float) else str(name)


def _performance(perf: Mapping[str, Any] | None) -> str | None:
    if not perf or perf.get("value") is None:
        return None
    value, baseline = perf.get("value"), perf.get("baseline")
    text = f"{perf.get('metric', 'metric')} {value:.4f}" if isinstance(value, float) else f"{value}"
    if isinstance(baseline, int | float):
        text += f" against {baseline:.4f} on the holdout"
    kind = perf.get("kind")
    return f"{text} ({kind})" if kind else text


def incident_message(outcome: Mapping[str, Any], links: Links) -> Message:
    """The on-call's message for a batch whose verdict opened a ticket.

    Names the model, the verdict and why, the top drifted features, the
    performance, the ticket and where to look, so the reader can act without
    opening anything first.
    """
    model, verdict = outcome.get("model"), outcome.get("verdict")
    ticket = outcome.get("ticket")
    title = f"zenops: {model} needs a {verdict}" + (f" (ticket #{ticket})" if ticket is not None else "")
    head = f"**{model}**: verdict **{verdict}** on batch `{outcome.get('batch')}`"
    if outcome.get("champion_version"):
        head += f" (champion version {outcome['champion_version']})"
    lines = [head + ".", ""]
    reasons = outcome.get("reasons") or []
    if reasons:
        lines += ["**Why**", *[f"- {_one_line(r)}" for r in reasons], ""]
    facts = []
    features = outcome.get("drifted_features") or []
    if features:
        shown = ", ".join(_feature(f) for f in features[:TOP_FEATURES])
        more = f" and {len(features) - TOP_FEATURES} more" if len(features) > TOP_FEATURES else ""
        facts.append(f"- Top drifted features: {shown}{more}")
    share = outcome.get("drift_share")
    if isinstance(share, int | float):
        facts.append(f"- Drift share: {share:.0%} of features")
    performance = _performance(outcome.get("performance"))
    if performance:
        facts.append(f"- Performance: {performance}")
    facts += _ticket_line("Ticket", ticket)
    lines += facts
    lines += _link_lines(links)
    severity: Severity = "failure" if verdict in ("rebuild", "data_quality") else "warning"
    return Message(title=title, body="\n".join(lines).strip() + "\n", severity=severity)


def handback_message(result: Mapping[str, Any], links: Links) -> Message:
    """The owner's message when a refresh hands the model back: why, the rebuild ticket, the dossier."""
    model = result.get("model")
    rebuild = result.get("rebuild_ticket")
    title = f"zenops: {model} handed back for a rebuild" + (
        f" (ticket #{rebuild})" if rebuild is not None else ""
    )
    champion, challenger = result.get("champion_version"), result.get("challenger_version")
    lines = [
        f"**{model}**: the refresh was **handed back**; the challenger (version {challenger}) "
        f"did not replace the champion (version {champion}), which keeps serving.",
        "",
    ]
    reasons = (result.get("comparison") or {}).get("reasons") or []
    if reasons:
        lines += ["**Why**", *[f"- {_one_line(r)}" for r in reasons], ""]
    lines += _ticket_line("Rebuild ticket", rebuild)
    lines += _ticket_line("Refresh ticket (done)", result.get("ticket"))
    if result.get("dossier"):
        lines.append(f"- Dossier: `{result['dossier']}`")
    if challenger is not None:
        lines.append(f"- Challenger: `models:/{model}/{challenger}` (alias `challenger`)")
    lines += _link_lines(links)
    return Message(title=title, body="\n".join(lines).strip() + "\n", severity="warning")


def candidate_message(result: Mapping[str, Any], links: Links) -> Message:
    """The owner's message when a candidate is rejected by the gate (or waits for approval)."""
    model, version = result.get("model"), result.get("candidate_version")
    champion, decision = result.get("champion_version"), result.get("decision")
    waiting = decision == "awaiting_approval"
    title = f"zenops: {model} candidate version {version} " + (
        "passed the gate and waits for approval" if waiting else "rejected by the promotion gate"
    )
    lines = [
        f"**{model}**: candidate version {version} was compared with the champion (version "
        f"{champion}) on the recent labelled rows it never trained on; "
        + (
            "it waits for approval (zenops approve / zenops reject)."
            if waiting
            else "the champion keeps serving."
        ),
        "",
    ]
    reasons = (result.get("comparison") or {}).get("reasons") or []
    if reasons:
        lines += ["**Why**", *[f"- {_one_line(r)}" for r in reasons], ""]
    window = (result.get("comparison") or {}).get("window") or {}
    if window.get("start"):
        lines.append(f"- Window: {window['start']} to {window['end']} ({window.get('rows')} rows)")
    for ticket in result.get("tickets") or []:
        lines += _ticket_line("Ticket it answers", ticket)
    lines += _ticket_line("Approval ticket", result.get("approval_ticket"))
    lines.append(f"- Ledger: `zenops history {model}`")
    lines += _link_lines(links)
    return Message(
        title=title, body="\n".join(lines).strip() + "\n", severity="info" if waiting else "warning"
    )


def stale_message(stale: Mapping[str, Any], ticket: int, links: Links) -> Message:
    """The on-call's message when no monitoring cycle completed a model within ``stale_after``."""
    model = stale.get("model")
    lines = [
        f"**{model}** has not been watched: its last completed monitoring cycle was at "
        f"{stale.get('last_cycle')}, {stale.get('age_hours')} h ago (monitoring.stale_after "
        f"{stale.get('stale_after_hours')} h). Check the monitor deployment and its last flow runs.",
        "",
    ]
    lines += _ticket_line("Ticket", ticket)
    lines += _link_lines(links)
    return Message(
        title=f"zenops: monitoring of {model} is stale (ticket #{ticket})",
        body="\n".join(lines).strip() + "\n",
        severity="failure",
    )


def _when(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
        return moment.strftime("%Y-%m-%d %H:%M UTC")
    return moment.strftime("%Y-%m-%d %H:%M")


def escalation_message(escalation: Escalation, links: Links) -> Message:
    """The sponsor's (and, once breached, the on-call's) message for a ticket near or past its SLA."""
    e = escalation
    subject = f"{e.kind} of {e.model}" if e.model else e.kind
    if e.level == BREACHED:
        title = f"zenops: SLA breached on ticket #{e.ticket} ({subject})"
        when = f"was due {_when(e.due)}, {abs(e.hours_left):.1f} h ago"
    else:
        title = f"zenops: ticket #{e.ticket} ({subject}) is near its SLA"
        when = f"is due {_when(e.due)}, in {max(e.hours_left, 0.0):.1f} h"
    lines = [
        f"Ticket **#{e.ticket}** “{_one_line(e.title)}” {when}.",
        "",
        f"- Level: **{e.level}**",
        f"- Kind: {e.kind}",
    ]
    if e.model:
        lines.append(f"- Model: {e.model}")
    if e.sponsor:
        lines.append(f"- Sponsor: {e.sponsor}")
    lines += _ticket_line("Ticket", e.ticket)
    lines += _link_lines(links)
    severity: Severity = "failure" if e.level == BREACHED else "warning"
    return Message(title=title, body="\n".join(lines).strip() + "\n", severity=severity)


def flow_failure_message(
    flow_name: str, run_name: str | None, state_name: str, state_message: str | None, links: Links
) -> Message:
    """The on-call's message for a flow run that failed or crashed: which run, what it said, where."""
    run = f" `{run_name}`" if run_name else ""
    lines = [
        f"Flow **{flow_name}**, run{run}, ended **{state_name}**.",
        "",
        f"- Error: {_one_line(state_message) if state_message else 'no message'}",
    ]
    lines += _link_lines(links)
    return Message(
        title=f"zenops: flow run {run_name or flow_name} {state_name.lower()}",
        body="\n".join(lines).strip() + "\n",
        severity="failure",
    )
