from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from zenops.kernel.config import load_config, parse_config, parse_duration
from zenops.kernel.errors import ConfigError
from zenops.workspace import example_config


def example() -> dict:
    return yaml.safe_load(example_config())


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "zenops.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def test_the_example_configuration_is_valid(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, example_config()))
    assert [m.name for m in config.models] == ["loan-default", "demand-forecast"]
    assert config.sla_tiers["gold"].refresh == timedelta(days=2)
    assert config.model("loan-default").metric_name == "roc_auc"
    assert config.model("demand-forecast").metric_name == "rmse"
    assert config.stores.tracking_uri == "sqlite:///.zenops/mlflow.db"


def test_an_empty_file_is_refused_with_a_hint(tmp_path: Path) -> None:
    hint = r"zenops.yaml: no models: add one under models: \(see zenops init\)"
    for text in ("", "{}\n", "# nothing yet\n"):
        with pytest.raises(ConfigError, match=hint):
            load_config(write(tmp_path, text))
    config = load_config(write(tmp_path, "team: []\n"))  # settings without models are read as given
    assert config.models == [] and "gold" in config.sla_tiers


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["models"][0].update(colour="red"), "models[0].colour: unknown key"),
        (lambda d: d["models"][0].update(value="high"), "models[0].value:"),
        (lambda d: d["models"][0].update(value=11), "models[0].value:"),
        (lambda d: d["models"][0].update(task="clustering"), "models[0].task:"),
        (lambda d: d["models"][0].pop("target"), "models[0].target: required key is missing"),
        (
            lambda d: d["models"][1].update(sla="platinum"),
            "models[1].sla: tier 'platinum' is not in sla_tiers",
        ),
        (
            lambda d: d["sla_tiers"]["gold"].update(refresh="soon"),
            "sla_tiers.gold.refresh: 'soon' is not a duration",
        ),
        (
            lambda d: d["models"][1].update(name="loan-default"),
            "models[1].name: model 'loan-default' is defined twice",
        ),
        (
            lambda d: d["models"][0]["trainer"].update(entry_point="pkg:fn"),
            "models[0].trainer: give exactly one",
        ),
        (lambda d: d["models"][0].update(metric="rmse"), "models[0]: metric 'rmse' is not one of"),
        (
            lambda d: d["models"][0]["features"]["numerical"].append("region"),
            "column 'region' is listed twice",
        ),
        (lambda d: d["models"][0].update(training_data="data/x.xlsx"), "models[0].training_data:"),
        (lambda d: d["team"][0].update(capacity=1.5), "team[0].capacity:"),
        (lambda d: d["resources"].update(gpus=-1), "resources.gpus:"),
        (lambda d: d.update(stores={"tracking": "x"}), "stores.tracking: unknown key"),
    ],
)
def test_a_bad_value_names_the_file_and_the_field(tmp_path: Path, mutate, expected: str) -> None:
    data = example()
    mutate(data)
    path = write(tmp_path, data)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(str(path)), message
    assert expected in message, message
    assert "\n" not in message
    assert caught.value.exit_code == 2


def test_yaml_syntax_errors_name_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "models:\n  - name: [unclosed\n")
    with pytest.raises(ConfigError, match=r"zenops.yaml: line \d+"):
        load_config(path)


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_config(write(tmp_path, "- just\n- a list\n"))


def test_a_missing_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="zenops init"):
        load_config(tmp_path / "zenops.yaml")


def test_an_unknown_model_is_not_found() -> None:
    config = parse_config(example())
    with pytest.raises(ConfigError.__mro__[1], match="no model named 'nope'"):
        config.model("nope")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2d", timedelta(days=2)),
        ("12h", timedelta(hours=12)),
        ("30m", timedelta(minutes=30)),
        ("1w", timedelta(weeks=1)),
        ("1.5d", timedelta(hours=36)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
