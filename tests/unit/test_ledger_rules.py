"""The pure rules of the loop's return path: the ledger, candidates' tags, waiting approvals."""

from __future__ import annotations

import json

import pytest

from registry import approval, candidates, lineage
from registry.approval import Waiting, check_waiting, waiting_version
from registry.ledger import ACTIONS, headline, ledger
from registry.promotion import AUDIT_EVIDENCE, AUDIT_MOVED, AUDIT_STATE
from zenops.kernel.errors import LineageError, UsageError

LINEAGE = {
    lineage.DATA_PATH: "data/m/rebuild.parquet",
    lineage.DATA_REV: "a" * 40,
    lineage.DATA_MD5: "b" * 32,
    lineage.TRAINER: "sklearn.ensemble.HistGradientBoostingClassifier",
    lineage.CODE_REV: "a" * 40,
}


def audit(action: str, at: str, to: str, frm: str = "", **extra: str) -> dict[str, str]:
    return {
        "zenops.audit.action": action,
        "zenops.audit.at": at,
        "zenops.audit.from_version": frm,
        "zenops.audit.to_version": to,
        "zenops.audit.actor": "zenops refresh",
        "zenops.audit.ticket": "",
        AUDIT_STATE: "committed",
        **extra,
    }


def test_the_ledger_is_newest_first_leaves_out_undone_moves_and_names_actions() -> None:
    runs = [
        ("r1", audit("trained", "2024-07-01T00:00:00+00:00", "1")),
        ("r2", audit("promoted", "2024-07-20T08:00:00+00:00", "2", "1", **{"zenops.audit.ticket": "3"})),
        ("r3", audit("promoted", "2024-07-21T08:00:00+00:00", "3", "2", **{AUDIT_STATE: "rolled-back"})),
        ("r4", audit("candidate-rejected", "2024-07-25T08:00:00+00:00", "4", "2", **{AUDIT_MOVED: "false"})),
        ("r5", audit("candidate-promoted", "2024-07-25T08:00:00+00:00", "5", "2")),
    ]
    events = ledger(runs)
    assert [(e.action, e.from_version, e.to_version) for e in events] == [
        ("candidate", "2", "5"),  # same time as r4: the later run comes first
        ("candidate-rejected", "2", "4"),
        ("promotion", "1", "2"),
        ("train", None, "1"),
    ]
    assert events[2].ticket == 3 and events[3].ticket is None
    assert events[1].moved is False and events[0].moved is True
    assert set(ACTIONS.values()) >= {"train", "promotion", "candidate", "rollback", "approval", "rejection"}
    assert "(champion stays v2)" in events[1].summary()


def test_evidence_comes_from_the_tag_or_else_from_the_audit_document() -> None:
    kept = audit(
        "promoted", "2024-07-20T08:00:00+00:00", "2", "1", **{AUDIT_EVIDENCE: json.dumps({"rows": 7})}
    )
    older = audit("rolled-back-to", "2024-07-21T08:00:00+00:00", "1", "2")
    read: list[str] = []

    def document(run_id: str) -> dict:
        read.append(run_id)
        return {"reason": "rollback: version 1 restored", "evidence": {}}

    events = ledger([("a", kept), ("b", older)], document)
    assert events[1].evidence == {"rows": 7}
    assert events[0].evidence == {"reason": "rollback: version 1 restored"}
    assert read == ["b"]  # the audit document is read only for runs without the tag


def test_headline_keeps_the_gates_figures() -> None:
    comparison = {
        "metric": "roc_auc",
        "rows": 600,
        "margin": 0.0,
        "window": {"start": "2024-07-25", "end": "2024-07-25", "days": 1, "rows": 600},
        "bootstrap": {
            "champion": 0.61,
            "challenger": 0.74,
            "relative_improvement": 0.213,
            "relative_low": 0.15,
            "relative_high": float("nan"),
            "confidence": 0.95,
        },
        "test": {"name": "mcnemar", "p_value": 1e-6},
        "promote": True,
        "reasons": ["roc_auc improves"],
    }
    found = headline(comparison, "candidate: better")
    assert found["interval"] == [0.15, None] and found["test"] == {"name": "mcnemar", "p_value": 1e-6}
    assert found["summary"] == "roc_auc 0.6100 → 0.7400 on 600 rows (+21.3%)"
    assert headline(None, "rollback") == {"reason": "rollback"}


def test_candidate_tags_name_their_ticket_and_are_announced_once() -> None:
    assert candidates.ticket_of("12") == 12 and candidates.ticket_of("#7") == 7
    assert candidates.ticket_of("yes") is None and candidates.ticket_of(None) is None
    versions = {
        "3": {candidates.CANDIDATE: "5"},
        "10": {candidates.CANDIDATE: "yes"},
        "2": {candidates.CANDIDATE: "5", candidates.SEEN: "2024-07-25"},
        "1": {},
    }
    assert candidates.not_announced(versions) == ["3", "10"]


def test_a_candidate_of_another_model_or_without_lineage_is_refused() -> None:
    assert candidates.other_model("m", {lineage.MODEL: "other"}, None) == "other"
    assert candidates.other_model("m", {}, "zenops/other") == "other"
    assert candidates.other_model("m", {}, "Default") is None
    assert candidates.other_model("m", {lineage.MODEL: "m"}, "zenops/m") is None
    with pytest.raises(UsageError, match=r"^v4: lineage tag\(s\) missing: zenops.data.md5, zenops.code.rev;"):
        candidates.candidate_lineage(
            {k: v for k, v in LINEAGE.items() if k not in ("zenops.data.md5", "zenops.code.rev")}, "v4"
        )
    assert not isinstance(UsageError("x"), LineageError)  # the data scientist's input: exit code 2
    assert candidates.candidate_lineage(LINEAGE, "v4").data.path == "data/m/rebuild.parquet"


def test_recorded_features_must_be_columns_the_batches_carry() -> None:
    columns = ["income", "age", "region"]
    assert candidates.recorded_features({}, columns, "v4") is None
    tag = candidates.features_tag(["income"], ["region"])
    assert candidates.recorded_features({candidates.FEATURES: tag}, columns, "v4") == (["income"], ["region"])
    bad = candidates.features_tag(["income", "salary"], [])
    with pytest.raises(UsageError, match="salary not among the model's columns"):
        candidates.recorded_features({candidates.FEATURES: bad}, columns, "v4")
    with pytest.raises(UsageError, match="is not"):
        candidates.recorded_features({candidates.FEATURES: "income,age"}, columns, "v4")


def test_only_the_waiting_version_may_be_approved_and_only_against_its_champion() -> None:
    waiting = Waiting("m", "5", 9, "2", "candidate", (4, 6))
    versions = {
        "4": {approval.STATE: approval.SUPERSEDED},
        "5": waiting.tags(),
        "3": {},
    }
    found = waiting_version("m", versions)
    assert found == waiting and found.origin == (4, 6)
    assert check_waiting("m", "5", found, versions, "2") == waiting
    with pytest.raises(
        UsageError,
        match=(
            r"^model 'm' version 4 is not waiting for approval \(it was superseded\): "
            r"version 5 is \(approval ticket #9\)$"
        ),
    ):
        check_waiting("m", "4", found, versions, "2")
    with pytest.raises(UsageError, match="no version of it is waiting"):
        check_waiting("m", "5", None, {}, "2")
    with pytest.raises(UsageError, match="the champion is version 3, not version 2 it was compared with"):
        check_waiting("m", "5", found, versions, "3")
    assert check_waiting("m", "5", found, versions, "3", same_champion=False) == waiting
