"""Batch validation on the project's demo data: every malformed kind is caught and named."""

from __future__ import annotations

import pytest

from drift.batches import (
    ALL_NULL,
    EMPTY,
    EXTRA_COLUMNS,
    MISSING_COLUMNS,
    UNREADABLE,
    UNSEEN_CATEGORIES,
    WRONG_TYPE,
    check_batch,
)
from zenops.app.demo.datagen import (
    MALFORMED_KINDS,
    demo_model,
    production_stream,
    training_frame,
    write_malformed,
)
from zenops.kernel.config import ModelSpec

EXPECTED = {
    "missing_column": MISSING_COLUMNS,
    "extra_column": EXTRA_COLUMNS,
    "wrong_type": WRONG_TYPE,
    "all_null_column": ALL_NULL,
    "unseen_category": UNSEEN_CATEGORIES,
    "empty": EMPTY,
    "unreadable": UNREADABLE,
}
MODELS = ("loan-default", "demand-forecast")


def spec(model: str) -> ModelSpec:
    fields = demo_model(model).spec_fields()
    return ModelSpec.model_validate(
        {
            **fields,
            "training_data": f"data/{model}/train.parquet",
            "batches": f"data/{model}/batches",
            "labels": f"data/{model}/labels",
            "trainer": {"estimator": "sklearn.linear_model.LogisticRegression"},
        }
    )


@pytest.fixture(scope="module")
def training() -> dict[str, object]:
    return {model: training_frame(model, rows=2000, seed=3) for model in MODELS}


def test_every_fault_kind_is_covered():
    assert set(MALFORMED_KINDS) == set(EXPECTED)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("kind", MALFORMED_KINDS)
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_each_malformed_demo_batch_is_refused_with_its_code_and_column(
    tmp_path, training, model, kind, suffix
):
    path = write_malformed(tmp_path / f"2026-01-05{suffix}", model, kind, seed=1)
    label = f"data/{model}/batches/2026-01-05{suffix}"
    check = check_batch(path, spec(model), training[model], label=label)
    assert not check.ok
    assert [p.code for p in check.problems] == [EXPECTED[kind]], check.messages
    problem = check.problems[0]
    assert problem.message.startswith(f"{label}: ")
    assert "\n" not in problem.message
    if kind not in ("empty", "unreadable"):
        assert f"'{problem.column}'" in problem.message


@pytest.mark.parametrize("model", MODELS)
def test_clean_demo_batches_pass(tmp_path, training, model):
    for day in production_stream(model, days=3, rows_per_day=300, seed=1):
        path = tmp_path / f"{day.day}.csv"
        day.features.to_csv(path, index=False)
        check = check_batch(path, spec(model), training[model])
        assert check.ok, check.messages
        assert len(check.frame) == 300
