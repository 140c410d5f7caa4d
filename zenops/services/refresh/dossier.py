"""The rebuild dossier: what a data scientist needs to take over a model the refresh could not fix.

Pure text from plain data: the drift evidence the refresh ticket gathered, the
comparison of champion and challenger, what the refresh tried, and the exact
commands that re-hydrate the data, code and models, runnable as written in a
fresh shell with the project's Python on ``PATH``; and how the rebuilt model comes
back through the same gate (:func:`return_steps`).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any

SHELL_BLOCK = "```sh"


@dataclass(frozen=True)
class BuiltFrom:
    """One model version and what it was built from."""

    role: str  # champion | challenger
    version: str
    run_id: str
    data_path: str
    data_rev: str
    data_md5: str
    code_rev: str
    trainer: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DossierInput:
    """Everything the dossier tells, gathered by the refresh."""

    model: str
    task: str
    workspace: str
    tracking_uri: str
    champion: BuiltFrom
    challenger: BuiltFrom
    comparison: dict[str, Any]
    reasons: list[str]
    refresh_ticket: int | None
    evidence: list[dict[str, Any]]
    tried: list[str]
    at: str
    holdout_fraction: float = 0.2
    seed: int = 0


def render(dossier: DossierInput) -> str:
    """The dossier as Markdown."""
    c = dossier.comparison
    lines = [
        f"# Rebuild dossier: {dossier.model}",
        "",
        f"A refresh of `{dossier.model}` ({dossier.task}) on {dossier.at} retrained the champion "
        f"(version {dossier.champion.version}) on its own data plus the labelled production data, and "
        f"the challenger (version {dossier.challenger.version}) did not pass the promotion gate. "
        "The champion still serves; the model needs a data scientist.",
        "",
        "## Why it was handed back",
        "",
        *[f"- {reason}" for reason in dossier.reasons],
        "",
        "## Drift evidence",
        "",
        *evidence_lines(dossier.evidence, dossier.refresh_ticket),
        "",
        "## Comparison on the held-out recent window",
        "",
        *comparison_lines(c),
        "",
        "## What the refresh tried",
        "",
        *[f"- {item}" for item in dossier.tried],
        "",
        "## Re-hydrate data, code and models",
        "",
        "Run in any folder, in a shell whose `PATH` starts with the folder of the Python that has "
        "zenops installed (e.g. `.venv/bin`). The `python -c` lines restore the exact training data "
        "through DVC (from the workspace's cache or its DVC remote) and fail unless its md5 matches "
        "the one recorded with the model; then they load each model from the MLflow registry. "
        "`MLFLOW_ALLOW_PICKLE_DESERIALIZATION=true` is needed: MLflow's scikit-learn flavour asks for "
        "it before loading a model even though zenops stores models in the skops format.",
        "",
        SHELL_BLOCK,
        *rehydration_commands(dossier),
        "```",
        "",
        "| | champion | challenger |",
        "|---|---|---|",
        f"| model URI | `models:/{dossier.model}/{dossier.champion.version}` | "
        f"`models:/{dossier.model}/{dossier.challenger.version}` |",
        f"| MLflow run | `{dossier.champion.run_id}` | `{dossier.challenger.run_id}` |",
        f"| data | `{dossier.champion.data_path}` @ `{dossier.champion.data_rev[:12]}` | "
        f"`{dossier.challenger.data_path}` @ `{dossier.challenger.data_rev[:12]}` |",
        f"| data md5 | `{dossier.champion.data_md5}` | `{dossier.challenger.data_md5}` |",
        f"| code (workspace commit) | `{dossier.champion.code_rev[:12]}` | "
        f"`{dossier.challenger.code_rev[:12]}` |",
        f"| trainer | `{dossier.champion.trainer}` | `{dossier.challenger.trainer}` |",
        f"| parameters | {_params(dossier.champion.params)} | {_params(dossier.challenger.params)} |",
        "",
        f"Tracking URI: `{dossier.tracking_uri}`. Workspace: `{dossier.workspace}`.",
        "",
        "## Bring the rebuilt model back",
        "",
        *return_steps(dossier),
        "",
    ]
    return "\n".join(lines)


def return_steps(dossier: DossierInput) -> list[str]:
    """How a rebuilt model comes back through the promotion gate, step by step."""
    model, root = dossier.model, shlex.quote(dossier.workspace)
    return [
        "A rebuilt model may change its features, trainer and parameters; it comes back through "
        "the gate the refresh used, compared with the champion on labelled rows newer than its "
        "training data.",
        "",
        f"1. Version its training data in the workspace: `cd {root} && dvc add data/{model}/FILE && "
        f"dvc push && git add data/{model}/FILE.dvc && git commit -m 'data: {model} rebuilt'`.",
        f"2. Fit on the rows zenops' seeded split leaves for training (holdout share "
        f"{dossier.holdout_fraction}, seed {dossier.seed}: "
        "`zenops.services.train.fitting.split_holdout`): the new champion's baseline is measured "
        "on the held-out rest, so a model fitted on every row would look better than it is and "
        "monitoring would flag it the next day.",
        f"3. Log a run to the MLflow experiment `zenops/{model}` (tracking URI above) with the "
        f"model and the lineage tags: `zenops.model={model}`, `zenops.data.path`, "
        "`zenops.data.rev` (the commit), `zenops.data.md5` (the `.dvc` file's md5), "
        "`zenops.trainer`, `zenops.code.rev`, and `zenops.features` "
        '(`{"categorical": [...], "numerical": [...]}`) when the feature set changed.',
        f"4. Either run `zenops candidate {model} --run RUN_ID --ticket ID` in the workspace (ID: "
        "this dossier's rebuild ticket), or register a version of the model tagged "
        "`zenops.candidate=ID`: zenops notices it (the registry webhook of `zenops server`, else "
        "the next monitoring cycle) and its `evaluate-candidate` deployment promotes it, waits "
        "for approval or rejects it; the owner is told either way and `zenops history "
        f"{model}` lists it.",
    ]


def evidence_lines(evidence: list[dict[str, Any]], ticket: int | None) -> list[str]:
    """The monitoring evidence of the refresh ticket as a table (latest 10 batches)."""
    batches = [item for item in evidence if "batch" in item]
    source = f"refresh ticket #{ticket}" if ticket is not None else "the refresh request"
    if not batches:
        return [f"No monitoring evidence on {source}: the refresh was asked for by hand."]
    lines = [
        f"From {source} ({len(batches)} monitored batches; the latest 10):",
        "",
        "| batch | verdict | drift share | drifted features | performance | report |",
        "|---|---|---|---|---|---|",
    ]
    for item in batches[-10:]:
        share = item.get("drift_share")
        features = ", ".join(str(f.get("feature")) for f in (item.get("drifted_features") or [])[:5]) or "–"
        perf = item.get("performance") or {}
        value = perf.get("value")
        performance = (
            f"{perf.get('kind', '')} {perf.get('metric', '')} {value:.4f}"
            if isinstance(value, float)
            else "–"
        )
        link = item.get("report_url") or item.get("report_uri")
        report = f"`{link}`" if link else "–"
        lines.append(
            f"| {item.get('batch')} | {item.get('verdict', '')} | "
            f"{'–' if share is None else f'{share:.0%}'} | {features} | {performance} | {report} |"
        )
    reasons = batches[-1].get("reasons") or []
    if reasons:
        lines += ["", "Latest verdict: " + "; ".join(str(r) for r in reasons)]
    return lines


def comparison_lines(c: dict[str, Any]) -> list[str]:
    """The comparison as a table: metric, interval, paired test and MLflow's check."""
    if not c:
        return ["No comparison was made."]
    metric = c.get("metric", "")
    ci = c.get("bootstrap") or {}
    test = c.get("test") or {}
    validation = c.get("mlflow_validation") or {}
    window = c.get("window") or {}
    lines = [
        f"Window: {window.get('start')} to {window.get('end')} ({window.get('days')} days, "
        f"{c.get('rows')} labelled rows the challenger never trained on).",
        "",
        "| figure | champion | challenger |",
        "|---|---|---|",
    ]
    champion_metrics, challenger_metrics = c.get("champion_metrics", {}), c.get("challenger_metrics", {})
    for name in sorted(set(champion_metrics) | set(challenger_metrics)):
        mark = " (gate)" if name == metric else ""
        lines.append(
            f"| {name}{mark} | {_num(champion_metrics.get(name))} | {_num(challenger_metrics.get(name))} |"
        )
    lines += [
        "",
        f"- Improvement in {metric}: {_pct(ci.get('relative_improvement'))} relative "
        f"({_num(ci.get('improvement'))} absolute); {_pct(ci.get('confidence'), sign=False)} "
        f"paired bootstrap interval {_pct(ci.get('relative_low'))} to {_pct(ci.get('relative_high'))} "
        f"({ci.get('resamples')} resamples, seed {ci.get('seed')}); "
        f"margin {_pct(c.get('margin'), sign=False)}.",
    ]
    if test:
        lines.append(
            f"- {test.get('name')} test: statistic {_num(test.get('statistic'))}, "
            f"p = {_num(test.get('p_value'))}, "
            f"favours {test.get('favours')} ({_detail(test.get('detail') or {})})."
        )
    if validation:
        state = "passed" if validation.get("passed") else "failed"
        lines.append(f"- MLflow `validate_evaluation_results`: {state} — {validation.get('message', '')}")
    return lines


def rehydration_commands(dossier: DossierInput) -> list[str]:
    """Shell lines that restore both versions' data (md5-checked) and load both models."""
    root = dossier.workspace
    lines = [
        "set -e",
        f"export MLFLOW_TRACKING_URI={shlex.quote(dossier.tracking_uri)}",
        "export MLFLOW_ALLOW_PICKLE_DESERIALIZATION=true",
        "export DVC_NO_ANALYTICS=1 MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true",
    ]
    for built in (dossier.champion, dossier.challenger):
        out = f"{dossier.model}-{built.role}-v{built.version}{_suffix(built.data_path)}"
        restore = (
            "import dvc.api, hashlib, sys; "
            f"data = dvc.api.read({_py(built.data_path)}, repo={_py(root)}, rev={_py(built.data_rev)}, "
            'mode="rb"); '
            f'open({_py(out)}, "wb").write(data); digest = hashlib.md5(data).hexdigest(); '
            f'print("restored", {_py(out)}, "md5", digest); '
            f'sys.exit(0 if digest == {_py(built.data_md5)} else "md5 differs from the recorded one")'
        )
        uri = f"models:/{dossier.model}/{built.version}"
        load = (
            f"import mlflow.sklearn; model = mlflow.sklearn.load_model({_py(uri)}); "
            f'print("loaded", {_py(uri)}, type(model).__name__)'
        )
        lines += [
            f"# {built.role} version {built.version}: the DVC pointer of its data, as committed",
            f"git -C {shlex.quote(root)} show {shlex.quote(f'{built.data_rev}:{built.data_path}.dvc')}",
            f"# the exact data (or: dvc get {shlex.quote(root)} {shlex.quote(built.data_path)} "
            f"--rev {built.data_rev} -o {shlex.quote(out)})",
            f"python -c {shlex.quote(restore)}",
            "# the code: the workspace commit the run recorded",
            f"git -C {shlex.quote(root)} log -1 --format='%H %s' {shlex.quote(built.code_rev)}",
            "# the model",
            f"python -c {shlex.quote(load)}",
        ]
    return lines


def _py(value: str) -> str:
    """A Python string literal in double quotes, so the shell line can quote it in single ones."""
    return json.dumps(value)


def _suffix(path: str) -> str:
    return ".parquet" if path.lower().endswith(".parquet") else ".csv"


def _params(params: dict[str, str]) -> str:
    return ", ".join(f"`{k}={v}`" for k, v in sorted(params.items())) or "–"


def _num(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "–" if value is None else str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e-3 and value != 0 else f"{value:.4f}"
    return str(value)


def _pct(value: Any, sign: bool = True) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "n/a"
    return f"{value:+.2%}" if sign else f"{value:.0%}" if value >= 0.01 else f"{value:.2%}"


def _detail(detail: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in detail.items())
