"""The command line as a user runs it: init, train, status, and the errors of bad input."""

from __future__ import annotations

from pathlib import Path

import yaml

from zenops.app.demo.datagen import training_frame


def make_workspace(zenops, root: Path) -> Path:
    result = zenops("init", str(root), "--json")
    assert result.code == 0, result.stderr
    assert "zenops.yaml" in result.json()["created"]
    return root


def write_data(root: Path, model: str = "loan-default", rows: int = 2000, **changes) -> Path:
    frame = training_frame(model, rows=rows, seed=3)
    for column, value in changes.items():
        frame[column] = value
    path = root / "data" / model / "train.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path)
    return path


def test_init_train_status(zenops, tmp_path: Path) -> None:
    root = make_workspace(zenops, tmp_path / "ws")
    write_data(root)
    trained = zenops("--workspace", str(root), "train", "loan-default", "--json")
    assert trained.code == 0, trained.stderr
    report = trained.json()
    assert {"model", "version", "run_id", "alias", "data_rev", "data_md5", "metrics"} <= report.keys()
    assert report["alias"] == "champion" and report["version"] == "1"
    status = zenops("status", "--json", cwd=root)
    assert status.code == 0, status.stderr
    models = {m["model"]: m for m in status.json()["models"]}
    assert models["loan-default"]["champion"]["data_rev"] == report["data_rev"]
    assert models["loan-default"]["champion"]["data_md5"] == report["data_md5"]
    assert models["demand-forecast"]["champion"] is None
    plain = zenops("status", cwd=root)
    assert plain.code == 0 and "loan-default" in plain.stdout


def test_init_is_idempotent_from_the_cli(zenops, initialized: Path) -> None:
    root = initialized  # a workspace zenops init made
    again = zenops("init", str(root), "--json")
    assert again.code == 0 and again.json()["created"] == []


def one_line_error(result, *fragments: str) -> None:
    assert result.code == 2, (result.code, result.stderr)
    assert result.stdout == ""
    assert len(result.error_lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.error_lines[0], result.error_lines[0]


def test_bad_configuration_exits_2_with_one_line(zenops, initialized: Path) -> None:
    root = initialized  # a workspace zenops init made
    config = yaml.safe_load((root / "zenops.yaml").read_text())
    config["models"][0]["colour"] = "red"
    (root / "zenops.yaml").write_text(yaml.safe_dump(config))
    one_line_error(zenops("status", "--json", cwd=root), "zenops.yaml", "models[0].colour: unknown key")
    config["models"][0].pop("colour")
    config["models"][0]["value"] = "very"
    (root / "zenops.yaml").write_text(yaml.safe_dump(config))
    one_line_error(zenops("status", cwd=root), "zenops.yaml", "models[0].value")


def test_bad_data_exits_2_and_stores_nothing(zenops, initialized: Path) -> None:
    root = initialized  # a workspace zenops init made
    head = (root / ".git" / "refs" / "heads" / "main").read_text()
    write_data(root, income="12k")
    one_line_error(
        zenops("train", "loan-default", cwd=root), "data/loan-default/train.parquet", "column 'income'"
    )
    frame = training_frame("loan-default", rows=500, seed=1).drop(columns=["credit_score"])
    frame.to_parquet(root / "data" / "loan-default" / "train.parquet")
    one_line_error(
        zenops("train", "loan-default", cwd=root),
        "zenops.yaml",
        "features.numerical: column 'credit_score' is not in data/loan-default/train.parquet",
    )
    (root / "data" / "loan-default" / "train.parquet").write_bytes(b"")
    one_line_error(zenops("train", "loan-default", cwd=root), "data/loan-default/train.parquet")
    assert (root / ".git" / "refs" / "heads" / "main").read_text() == head
    status = zenops("status", "--json", cwd=root)
    assert all(m["champion"] is None for m in status.json()["models"])


def test_unknown_model_and_missing_workspace(zenops, initialized: Path) -> None:
    root = initialized  # a workspace zenops init made
    one_line_error(zenops("train", "nope", cwd=root), "no model named 'nope'")
    one_line_error(zenops("status", cwd=root / "data"), "zenops.yaml: no such file")
    assert zenops("train", cwd=root).code == 2
