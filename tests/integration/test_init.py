"""``zenops init`` on a real git + DVC + MLflow + ticket database: idempotent, loses nothing."""

from __future__ import annotations

from pathlib import Path

from zenops.app.init import init_workspace
from zenops.workspace import Workspace


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git/" not in str(p.relative_to(root)) + "/" and "/tmp/" not in str(p)
    }


def test_init_creates_every_store(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "new")
    report = init_workspace(ws)
    root = ws.root
    assert (root / ".git").is_dir() and (root / ".dvc" / "config").is_file()
    assert (root / "zenops.yaml").is_file() and (root / ".zenops" / "mlflow.db").is_file()
    assert (root / ".zenops" / "zenops.db").is_file() and (root / ".zenops" / "dvc-remote").is_dir()
    assert "origin" in (root / ".dvc" / "config").read_text()
    assert report.stores["dvc_remote"] == str(root / ".zenops" / "dvc-remote")
    assert ws.data_store().git.run("status", "--porcelain") == ""


def test_init_twice_changes_nothing_and_keeps_edits(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    init_workspace(ws)
    config = ws.config_path.read_text().replace("value: 8", "value: 9")
    ws.config_path.write_text(config)
    (ws.root / "notes.txt").write_text("mine")
    before = snapshot(ws.root)
    head = ws.data_store().git.head()
    report = init_workspace(Workspace(ws.root))
    assert report.created == []
    assert ws.data_store().git.head() == head
    after = snapshot(ws.root)
    assert after.keys() == before.keys()
    changed = [name for name in before if before[name] != after[name] and not name.endswith(".db")]
    assert changed == []
    assert "value: 9" in ws.config_path.read_text()


def test_stores_follow_the_environment(tmp_path: Path, monkeypatch) -> None:
    remote = tmp_path / "elsewhere" / "remote"
    monkeypatch.setenv("ZENOPS_DVC_REMOTE", str(remote))
    monkeypatch.setenv("ZENOPS_TICKETS_URL", f"sqlite:///{tmp_path}/t.db")
    ws = Workspace(tmp_path / "ws")
    init_workspace(ws)
    assert remote.is_dir()
    assert str(remote) in (ws.root / ".dvc" / "config").read_text()
    assert (tmp_path / "t.db").is_file()
