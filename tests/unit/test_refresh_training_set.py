"""The refreshed training set: the held-out window, the window policy, the retraining spec."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
import yaml

from registry.lineage import DataVersion, Lineage
from zenops.app.demo.datagen import DriftSchedule, production_stream, training_frame
from zenops.kernel.config import PromotionGate, parse_config
from zenops.kernel.errors import DataError
from zenops.services.refresh.steps import (
    ChampionRef,
    refresh_spec,
    refreshed_training_set,
    split_window,
    timestamps,
)
from zenops.workspace import example_config

MODEL = "loan-default"


def spec_with(**promotion):
    config = parse_config(yaml.safe_load(example_config()))
    spec = config.model(MODEL)
    return spec.model_copy(update={"promotion": PromotionGate(**promotion)})


def labelled(days: int = 6, rows: int = 100) -> pd.DataFrame:
    stream = production_stream(MODEL, days=days, rows_per_day=rows, seed=3, schedule=DriftSchedule.stable())
    frame = pd.concat([batch.labelled() for batch in stream], ignore_index=True)
    frame["applied_at"] = timestamps(frame["applied_at"])
    return frame


def test_promotion_keys_have_documented_defaults() -> None:
    gate = PromotionGate()
    assert (gate.margin, gate.confidence, gate.window_days, gate.train_window_days) == (0.0, 0.95, None, None)
    assert (gate.min_rows, gate.resamples, gate.require_paired_test, gate.training_slots) == (
        200,
        1000,
        False,
        2,
    )


def test_window_days_holds_out_the_most_recent_days() -> None:
    rows = labelled()
    split = split_window(rows, spec_with(window_days=2))
    assert (split.start, split.end, split.days) == (date(2024, 7, 5), date(2024, 7, 6), 2)
    assert len(split.compare) == 200 and len(split.train) == 400
    assert split.train["applied_at"].max() < split.compare["applied_at"].min()
    assert set(split.train["loan_id"]).isdisjoint(split.compare["loan_id"])


def test_without_window_days_the_latest_whole_days_holding_the_holdout_share() -> None:
    rows = labelled(days=10)  # 1000 rows; the holdout share 0.2 asks for 200 rows: two days
    split = split_window(rows, spec_with())
    assert split.days == 2 and len(split.compare) == 200
    one_day = split_window(labelled(days=1), spec_with())
    assert one_day.days == 1 and one_day.train.empty  # all held out: nothing new to train on


def test_no_labelled_rows_give_an_empty_window() -> None:
    split = split_window(labelled().iloc[0:0], spec_with())
    assert split.compare.empty and split.start is None and split.describe()["days"] == 0


def test_the_refreshed_set_adds_production_rows_before_the_window_once() -> None:
    spec = spec_with(window_days=2)
    champion = training_frame(MODEL, rows=300, seed=1)
    rows = labelled()
    split = split_window(rows, spec)
    again = split.train.iloc[:50]  # ids seen twice keep one row
    split.train = pd.concat([split.train, again], ignore_index=True)
    frame = refreshed_training_set(champion, split, spec)
    assert len(frame) == 300 + 400
    assert list(frame.columns) == list(champion.columns)
    assert set(split.compare["loan_id"]).isdisjoint(frame["loan_id"])
    assert frame["applied_at"].is_monotonic_increasing


def test_train_window_days_keeps_only_recent_rows() -> None:
    spec = spec_with(window_days=2, train_window_days=3)
    champion = training_frame(MODEL, rows=300, seed=1)  # before July: all older than the window
    split = split_window(labelled(), spec)
    frame = refreshed_training_set(champion, split, spec)
    assert frame["applied_at"].min() >= pd.Timestamp("2024-07-02")
    assert len(frame) == 300  # 3 production days before 2024-07-05
    old = training_frame(MODEL, rows=300, seed=1, end=date(2024, 6, 1))
    only_window = split_window(labelled().iloc[0:200], spec)  # two days, both held out
    with pytest.raises(DataError, match="refreshed training set is empty"):
        refreshed_training_set(old, only_window, spec)


def champion_ref(params: dict[str, str], trainer: str) -> ChampionRef:
    trail = Lineage(DataVersion("data/x.parquet", "a" * 40, "b" * 32), trainer, "a" * 40, "0.1.0")
    return ChampionRef(MODEL, "3", "run", trail.tags(), params, {})


def test_the_spec_is_kept_when_it_matches_the_champions_trainer() -> None:
    spec = spec_with()
    params = {f"trainer.{k}": str(v) for k, v in spec.trainer.params.items()} | {"seed": "0"}
    same, note = refresh_spec(spec, champion_ref(params, spec.trainer.reference))
    assert same is spec and note is None


def test_the_champions_recorded_trainer_wins_over_a_changed_config() -> None:
    spec = spec_with()
    params = {
        "trainer.max_iter": "40",
        "trainer.learning_rate": "0.2",
        "seed": "7",
        "holdout_fraction": "0.25",
    }
    changed, note = refresh_spec(
        spec, champion_ref(params, "sklearn.ensemble.HistGradientBoostingClassifier")
    )
    assert changed.trainer.params == {"max_iter": 40, "learning_rate": 0.2}
    assert changed.seed == 7 and changed.holdout_fraction == 0.25
    assert "retrains with the champion's" in note
