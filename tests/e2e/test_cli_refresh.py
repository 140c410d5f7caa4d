"""``zenops refresh`` and ``zenops rollback`` from the command line: their usage errors."""

from __future__ import annotations

from tests.workspaces import SavedWorkspace


def test_refresh_and_rollback_refuse_what_cannot_be_done(zenops, saved_cli_trained: SavedWorkspace) -> None:
    root = saved_cli_trained.restore_root()  # a workspace zenops train trained once: one version

    rollback = zenops("rollback", "loan-default", cwd=root)
    assert rollback.code == 2, rollback.stderr
    assert "previous" in rollback.error_lines[-1]

    unknown = zenops("refresh", "nope", cwd=root)
    assert unknown.code == 2 and len(unknown.error_lines) == 1 and "nope" in unknown.stderr

    missing = zenops("refresh", "loan-default", "--ticket", "42", cwd=root)
    assert missing.code == 2 and len(missing.error_lines) == 1 and "42" in missing.stderr
    status = zenops("status", "--json", cwd=root).json()
    assert next(m for m in status["models"] if m["model"] == "loan-default")["aliases"] == {"champion": "1"}
