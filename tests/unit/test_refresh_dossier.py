"""The rebuild dossier's text: sections, drift evidence, comparison and runnable commands."""

from __future__ import annotations

import shlex

from tests.dossiers import shell_blocks
from zenops.services.refresh.dossier import BuiltFrom, DossierInput, render

EVIDENCE = [
    {"event": "refresh_requested"},
    {
        "batch": "2024-07-03.csv",
        "verdict": "refresh",
        "reasons": ["3 of 9 features drifted"],
        "drift_share": 1 / 3,
        "drifted_features": [{"feature": "income", "p_value": 1e-9}, {"feature": "region", "p_value": 1e-5}],
        "performance": {"kind": "estimated", "metric": "roc_auc", "value": 0.71},
        "report_uri": "file:///runs/1/evidently/report.html",
    },
]
COMPARISON = {
    "metric": "roc_auc",
    "rows": 600,
    "window": {"start": "2024-07-05", "end": "2024-07-06", "days": 2},
    "margin": 0.02,
    "bootstrap": {
        "improvement": 0.004,
        "relative_improvement": 0.005,
        "relative_low": -0.01,
        "relative_high": 0.02,
        "confidence": 0.95,
        "resamples": 1000,
        "seed": 0,
    },
    "test": {"name": "mcnemar", "statistic": 0.5, "p_value": 0.48, "favours": "challenger", "detail": {}},
    "mlflow_validation": {"passed": False, "message": "Metric roc_auc minimum relative change check failed"},
    "champion_metrics": {"roc_auc": 0.80, "accuracy": 0.75},
    "challenger_metrics": {"roc_auc": 0.804, "accuracy": 0.76},
}


def dossier(root: str = "/data/my workspace") -> DossierInput:
    def built(role: str, version: str, rev: str) -> BuiltFrom:
        return BuiltFrom(
            role, version, f"run{version}", "data/m/train.parquet", rev, "f" * 32, rev, "a.B", {}
        )

    return DossierInput(
        model="loan-default",
        task="classification",
        workspace=root,
        tracking_uri=f"sqlite:///{root}/.zenops/mlflow.db",
        champion=built("champion", "1", "a" * 40),
        challenger=built("challenger", "2", "b" * 40),
        comparison=COMPARISON,
        reasons=["roc_auc changes by +0.50%: not surely above the margin 2.00%"],
        refresh_ticket=4,
        evidence=EVIDENCE,
        tried=["Retrained a.B on 3000 rows."],
        at="2024-07-07 09:00 UTC",
    )


def test_the_dossier_tells_why_what_drifted_how_it_compared_and_what_was_tried() -> None:
    text = render(dossier())
    for heading in ("Why it was handed back", "Drift evidence", "Comparison", "What the refresh tried"):
        assert f"## {heading}" in text
    assert "| 2024-07-03.csv | refresh | 33% | income, region | estimated roc_auc 0.7100 |" in text
    assert "| roc_auc (gate) | 0.8000 | 0.8040 |" in text
    assert "mcnemar test" in text and "MLflow `validate_evaluation_results`: failed" in text
    assert "`models:/loan-default/1`" in text and "`models:/loan-default/2`" in text
    assert "MLFLOW_ALLOW_PICKLE_DESERIALIZATION=true" in text


def test_the_commands_form_one_shell_script_that_quotes_paths() -> None:
    (script,) = shell_blocks(render(dossier()))
    lines = [line for line in script.splitlines() if line and not line.startswith("#")]
    assert lines[0] == "set -e"
    for line in lines:
        shlex.split(line)  # every line is valid shell
    git = [line for line in lines if line.startswith("git ")]
    assert shlex.split(git[0])[:3] == ["git", "-C", "/data/my workspace"]
    assert f"{'a' * 40}:data/m/train.parquet.dvc" in git[0]
    python = [shlex.split(line) for line in lines if line.startswith("python -c")]
    assert len(python) == 4  # data and model, for each version
    assert 'repo="/data/my workspace"' in python[0][2] and f'rev="{"a" * 40}"' in python[0][2]
    assert 'load_model("models:/loan-default/2")' in python[3][2]


def test_a_refresh_asked_for_by_hand_says_there_is_no_monitoring_evidence() -> None:
    text = render(DossierInput(**{**dossier().__dict__, "evidence": [{"event": "refresh_requested"}]}))
    assert "No monitoring evidence on refresh ticket #4" in text


def test_the_dossier_tells_how_the_rebuilt_model_comes_back() -> None:
    text = render(DossierInput(**{**dossier().__dict__, "holdout_fraction": 0.25, "seed": 7}))
    back = text.split("## Bring the rebuilt model back", 1)[1]
    assert "cd '/data/my workspace' && dvc add data/loan-default/FILE && dvc push" in back
    assert "holdout share 0.25, seed 7" in back
    for tag in ("zenops.model=loan-default", "zenops.data.path", "zenops.data.rev", "zenops.data.md5"):
        assert f"`{tag}`" in back
    assert "`zenops candidate loan-default --run RUN_ID --ticket ID`" in back
    assert "`zenops.candidate=ID`" in back and "evaluate-candidate" in back
