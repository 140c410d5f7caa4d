"""``zenops refresh`` and ``zenops rollback`` from the command line: their usage errors."""

from __future__ import annotations

from pathlib import Path

from zenops.app.demo.datagen import training_frame


def test_refresh_and_rollback_refuse_what_cannot_be_done(zenops, initialized: Path) -> None:
    root = initialized  # a workspace zenops init made
    training_frame("loan-default", rows=1500, seed=2).to_parquet(
        root / "data" / "loan-default" / "train.parquet"
    )
    assert zenops("train", "loan-default", cwd=root).code == 0

    rollback = zenops("rollback", "loan-default", cwd=root)
    assert rollback.code == 2, rollback.stderr
    assert "previous" in rollback.error_lines[-1]

    unknown = zenops("refresh", "nope", cwd=root)
    assert unknown.code == 2 and len(unknown.error_lines) == 1 and "nope" in unknown.stderr

    missing = zenops("refresh", "loan-default", "--ticket", "42", cwd=root)
    assert missing.code == 2 and len(missing.error_lines) == 1 and "42" in missing.stderr
    status = zenops("status", "--json", cwd=root).json()
    assert next(m for m in status["models"] if m["model"] == "loan-default")["aliases"] == {"champion": "1"}
