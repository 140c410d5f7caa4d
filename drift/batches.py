"""Load one production batch and check it against the model's spec and training data.

A batch is a CSV or Parquet file of the model's id, timestamp and feature columns;
it may also carry the target (rare: labels usually arrive later) and the model's
outputs (``prediction``, ``prediction_proba``). :func:`check_batch` never raises on
a bad file: every fault becomes a :class:`Problem` whose message is one line naming
the file and the column, and the batch is then a data-quality incident.

Problem codes:

- ``unreadable``: not a CSV or Parquet file, or corrupt bytes.
- ``empty``: no rows (an empty file or a header only).
- ``missing_columns``: the id, timestamp or a feature column is absent.
- ``extra_columns``: columns the model does not know (refused unless the policy's
  ``allow_extra_columns`` is true: a renamed column shows up as one missing and one
  extra, and silently ignoring columns would hide it).
- ``wrong_type``: a numerical feature (or a regression target or output) holds
  text such as ``12k``; a timestamp that does not parse; a probability outside [0, 1].
- ``all_null``: the id or a feature column has no values at all.
- ``duplicate_ids``: ids repeat (labels are joined on the id).
- ``unseen_categories``: more than ``unseen_category_tolerance`` of a categorical
  column's values are categories absent from the training data.
- ``non_finite``: a numerical feature holds ``inf``/``-inf``, or values so large that
  their range overflows (``1e308`` beside ``-1e308``): no model or test can use them.
- ``constant``: a numerical feature holds one value in every row of the batch (at
  least ``CONSTANT_MIN_ROWS`` rows) where the training data holds several: a stuck
  feed or a default filled in, not a population.

The returned frame has the expected columns in the spec's order, numerical features
as numbers, and categorical features in the training data's representation (text
or numbers) so that they compare with it; an all-empty target or output column is
dropped as if absent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from drift.columns import PREDICTION, PROBABILITY
from drift.reference_facts import NumberFacts, ReferenceFacts
from zenops.kernel.config import DriftPolicy, ModelSpec
from zenops.kernel.errors import DataError, ZenopsError
from zenops.kernel.tabular import read_table

__all__ = [
    "ALL_NULL",
    "BatchCheck",
    "NumberFacts",
    "ReferenceFacts",
    "DUPLICATE_IDS",
    "EMPTY",
    "EXTRA_COLUMNS",
    "MISSING_COLUMNS",
    "NON_FINITE",
    "CONSTANT",
    "Problem",
    "UNREADABLE",
    "UNSEEN_CATEGORIES",
    "WRONG_TYPE",
    "align_categories",
    "check_batch",
    "check_frame",
    "unseen_share",
]

UNREADABLE = "unreadable"
EMPTY = "empty"
MISSING_COLUMNS = "missing_columns"
EXTRA_COLUMNS = "extra_columns"
WRONG_TYPE = "wrong_type"
ALL_NULL = "all_null"
DUPLICATE_IDS = "duplicate_ids"
UNSEEN_CATEGORIES = "unseen_categories"
NON_FINITE = "non_finite"
CONSTANT = "constant"

CONSTANT_MIN_ROWS = 20
_EXAMPLES = 3


@dataclass(frozen=True)
class Problem:
    """One fault of a batch: a code (see the module), the column at fault (if any) and
    a one-line message naming the file and the column."""

    code: str
    column: str | None
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass
class BatchCheck:
    """The outcome of checking one batch.

    ``ok`` is True when there is no problem; ``frame`` is then the validated batch
    (None otherwise). ``notes`` record what was tolerated, e.g. a few unseen
    categories below the policy's tolerance.
    """

    ok: bool
    problems: list[Problem]
    frame: pd.DataFrame | None
    notes: list[str] = field(default_factory=list)
    source: str = ""

    @property
    def messages(self) -> list[str]:
        """The problems' one-line messages."""
        return [p.message for p in self.problems]

    def raise_for_problems(self) -> pd.DataFrame:
        """The validated frame, or a DataError carrying the first problem's message."""
        if self.frame is None or self.problems:
            first = self.problems[0].message if self.problems else f"{self.source}: batch not validated"
            more = f" (and {len(self.problems) - 1} more problems)" if len(self.problems) > 1 else ""
            raise DataError(first + more)
        return self.frame


def check_batch(
    path: str | Path,
    spec: ModelSpec,
    reference: pd.DataFrame | ReferenceFacts,
    *,
    label: str | None = None,
    policy: DriftPolicy | None = None,
) -> BatchCheck:
    """Read the batch at ``path`` and check it; never raises on a bad file.

    ``reference`` is the champion's training data (or its :class:`ReferenceFacts`): it
    gives the numerical/categorical representation, the ranges and the known categories. ``label`` names
    the file in messages (default: ``path`` as given, e.g. relative to the
    workspace). ``policy`` defaults to the spec's drift policy.
    """
    path = Path(path)
    name = label or str(path)
    try:
        if path.is_file() and path.stat().st_size == 0:
            return _refused(name, Problem(EMPTY, None, f"{name}: the file is empty"))
        frame = read_table(path, label=name)
    except ZenopsError as error:
        text = str(error)
        code = EMPTY if text.endswith(("the file is empty", "the file has no rows")) else UNREADABLE
        return _refused(name, Problem(code, None, text))
    except Exception as error:  # any reader failure on arbitrary bytes is a bad file, not a crash
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        return _refused(name, Problem(UNREADABLE, None, f"{name}: unreadable ({first})"))
    return check_frame(frame, spec, reference, source=name, policy=policy)


def check_frame(
    frame: pd.DataFrame,
    spec: ModelSpec,
    reference: pd.DataFrame | ReferenceFacts,
    *,
    source: str = "batch",
    policy: DriftPolicy | None = None,
) -> BatchCheck:
    """Check an in-memory batch; ``source`` names it in messages. See :func:`check_batch`.

    The checks run in a fixed order, so the first problem named is always the same:
    columns, empty columns, numbers, probabilities, timestamps and ids, categories.
    """
    policy = policy or spec.drift
    facts = reference if isinstance(reference, ReferenceFacts) else ReferenceFacts.of(reference, spec)
    if len(frame) == 0:
        return _refused(source, Problem(EMPTY, None, f"{source}: the batch has no rows"))
    problems: list[Problem] = []
    notes: list[str] = []
    frame = frame.copy()
    frame.columns = [str(c) for c in frame.columns]
    required = [spec.id_column, spec.timestamp_column, *spec.features.all]
    optional = [spec.target, PREDICTION, PROBABILITY]

    _check_columns(frame, required, optional, policy, source, problems, notes)
    frame = _drop_empty_optional(frame, required, optional, source, problems)
    _check_numbers(frame, spec, facts, source, problems)
    _check_probabilities(frame, source, problems)
    _check_times_and_ids(frame, spec, source, problems)
    _check_categories(frame, spec, facts, policy, source, problems, notes)

    if problems:
        return BatchCheck(ok=False, problems=problems, frame=None, notes=notes, source=source)
    ordered = [c for c in [*required, *optional] if c in frame.columns]
    ordered += [c for c in frame.columns if c not in ordered]
    return BatchCheck(
        ok=True, problems=[], frame=frame[ordered].reset_index(drop=True), notes=notes, source=source
    )


def _check_columns(
    frame: pd.DataFrame,
    required: list[str],
    optional: list[str],
    policy: DriftPolicy,
    source: str,
    problems: list[Problem],
    notes: list[str],
) -> None:
    """Every column the spec needs is there, and no column it does not know (unless allowed)."""
    missing = [c for c in required if c not in frame.columns]
    if missing:
        problems.append(
            Problem(
                MISSING_COLUMNS,
                missing[0],
                f"{source}: missing {_plural('column', missing)} {_names(missing)}",
            )
        )
    extra = [c for c in frame.columns if c not in required and c not in optional]
    if extra and not policy.allow_extra_columns:
        problems.append(
            Problem(
                EXTRA_COLUMNS,
                extra[0],
                f"{source}: unexpected {_plural('column', extra)} {_names(extra)} "
                "(not in the model's spec; set drift.allow_extra_columns to ignore)",
            )
        )
    elif extra:
        notes.append(f"{source}: ignored extra {_plural('column', extra)} {_names(extra)}")


def _drop_empty_optional(
    frame: pd.DataFrame, required: list[str], optional: list[str], source: str, problems: list[Problem]
) -> pd.DataFrame:
    """A required column with no values is a problem; an optional one is dropped."""
    for column in (c for c in required if c in frame.columns):
        if frame[column].isna().all():
            problems.append(Problem(ALL_NULL, column, f"{source}: column '{column}' has no values"))
    for column in (c for c in optional if c in frame.columns):
        if frame[column].isna().all():
            frame = frame.drop(columns=[column])
    return frame


def _check_numbers(
    frame: pd.DataFrame, spec: ModelSpec, facts: ReferenceFacts, source: str, problems: list[Problem]
) -> None:
    """Numerical columns hold numbers (converted in place) that a test can measure."""
    numeric_columns = [c for c in spec.features.numerical if c in frame.columns]
    if spec.task == "regression":
        numeric_columns += [c for c in (spec.target, PREDICTION) if c in frame.columns]
    numeric_columns += [c for c in (PROBABILITY,) if c in frame.columns]
    for column in numeric_columns:
        converted, problem = _as_numbers(frame[column], column, source)
        if problem:
            problems.append(problem)
        else:
            frame[column] = converted
            problem = _unmeasurable(converted, facts.numbers.get(column), column, source)
            if problem:
                problems.append(problem)


def _check_probabilities(frame: pd.DataFrame, source: str, problems: list[Problem]) -> None:
    """A probability column stays within [0, 1]."""
    if PROBABILITY in frame.columns and pd.api.types.is_numeric_dtype(frame[PROBABILITY]):
        outside = frame[PROBABILITY].dropna()
        outside = outside[(outside < 0) | (outside > 1)]
        if len(outside):
            problems.append(
                Problem(
                    WRONG_TYPE,
                    PROBABILITY,
                    f"{source}: column '{PROBABILITY}' has values outside [0, 1] ({_examples(outside)})",
                )
            )


def _check_times_and_ids(frame: pd.DataFrame, spec: ModelSpec, source: str, problems: list[Problem]) -> None:
    """Timestamps read as times; no id is repeated."""
    if spec.timestamp_column in frame.columns and not frame[spec.timestamp_column].isna().all():
        problems.extend(_check_timestamps(frame[spec.timestamp_column], spec.timestamp_column, source))
    if spec.id_column in frame.columns:
        ids = frame[spec.id_column].dropna()
        repeated = ids[ids.duplicated()]
        if len(repeated):
            problems.append(
                Problem(
                    DUPLICATE_IDS,
                    spec.id_column,
                    f"{source}: column '{spec.id_column}' repeats {len(repeated)} ids "
                    f"({_examples(repeated)})",
                )
            )


def _check_categories(
    frame: pd.DataFrame,
    spec: ModelSpec,
    facts: ReferenceFacts,
    policy: DriftPolicy,
    source: str,
    problems: list[Problem],
    notes: list[str],
) -> None:
    """Categorical columns take the training data's form; too many unseen categories is a problem."""
    for column in spec.features.categorical:
        known = facts.categories.get(column)
        if column not in frame.columns or known is None or frame[column].isna().all():
            continue
        aligned = align_categories(frame[column], known)
        frame[column] = aligned
        share, unseen = unseen_share(aligned, known)
        if share > policy.unseen_category_tolerance:
            problems.append(
                Problem(
                    UNSEEN_CATEGORIES,
                    column,
                    f"{source}: column '{column}' has categories not seen in training ({_examples(unseen)}) "
                    f"in {share:.0%} of rows (tolerance {policy.unseen_category_tolerance:.0%})",
                )
            )
        elif share > 0:
            notes.append(
                f"{source}: column '{column}' has unseen categories ({_examples(unseen)}) in {share:.1%} "
                "of rows, within tolerance; they are left out of the drift test"
            )


def align_categories(values: pd.Series, reference: pd.Series) -> pd.Series:
    """Give a categorical column the training data's representation.

    Numbers stay numbers when the training data holds numbers (text that parses is
    converted); otherwise values become text, so ``3`` in a CSV batch matches ``"3"``
    in Parquet training data. Missing values stay missing.
    """
    if pd.api.types.is_numeric_dtype(reference) and not pd.api.types.is_bool_dtype(reference):
        if pd.api.types.is_numeric_dtype(values):
            return values
        converted = pd.to_numeric(values, errors="coerce")
        if converted.notna().sum() == values.notna().sum():
            return converted
        return values.astype("str").where(values.notna())
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        as_text = values.map(_number_text, na_action="ignore")
        return as_text.astype("str").where(values.notna())
    return values.astype("str").where(values.notna())


def unseen_share(values: pd.Series, reference: pd.Series) -> tuple[float, pd.Series]:
    """The share of a column's non-missing values that are absent from the reference,
    and those values."""
    present = values.dropna()
    if present.empty:
        return 0.0, present
    known = set(align_categories(reference.dropna(), reference).unique())
    unseen = present[~present.isin(known)]
    return len(unseen) / len(present), unseen


def _as_numbers(values: pd.Series, column: str, source: str) -> tuple[pd.Series, Problem | None]:
    if pd.api.types.is_bool_dtype(values):
        return values.astype(float), None
    if pd.api.types.is_numeric_dtype(values):
        return values, None
    converted = pd.to_numeric(values, errors="coerce")
    bad = values[values.notna() & converted.isna()]
    if len(bad):
        return values, Problem(
            WRONG_TYPE, column, f"{source}: column '{column}' has non-numeric values ({_examples(bad)})"
        )
    return converted, None


def _unmeasurable(values: pd.Series, known: NumberFacts | None, column: str, source: str) -> Problem | None:
    """A numerical column no model or test can use: infinite, overflowing or stuck on one value."""
    present = values.dropna().astype(float)
    if present.empty:
        return None
    infinite = present[np.isinf(present)]
    if len(infinite):
        return Problem(
            NON_FINITE,
            column,
            f"{source}: column '{column}' has infinite values ({_examples(infinite)}) "
            f"in {len(infinite)} rows",
        )
    with np.errstate(over="ignore", invalid="ignore"):
        low = min(present.min(), known.low) if known else present.min()
        high = max(present.max(), known.high) if known else present.max()
        span = np.float64(high) - np.float64(low)
    if not np.isfinite(span):
        huge = present[present.abs() >= present.abs().nlargest(_EXAMPLES).min()]
        return Problem(
            NON_FINITE,
            column,
            f"{source}: column '{column}' has values too large to measure ({_examples(huge)}): "
            "their range overflows",
        )
    if len(present) >= CONSTANT_MIN_ROWS and present.nunique() == 1 and known and known.distinct > 1:
        return Problem(
            CONSTANT,
            column,
            f"{source}: column '{column}' holds one value ({_number_text(present.iloc[0])}) in all "
            f"{len(present)} rows, where the training data holds {known.distinct} distinct values",
        )
    return None


def _check_timestamps(values: pd.Series, column: str, source: str) -> list[Problem]:
    if pd.api.types.is_datetime64_any_dtype(values):
        return []
    present = values.dropna()
    try:
        parsed = pd.to_datetime(present, errors="coerce", format="mixed")
    except (ValueError, TypeError):
        parsed = pd.Series(pd.NaT, index=present.index)
    bad = present[parsed.isna()]
    if len(bad):
        return [
            Problem(
                WRONG_TYPE,
                column,
                f"{source}: column '{column}' has values that are not times ({_examples(bad)})",
            )
        ]
    return []


def _refused(source: str, problem: Problem) -> BatchCheck:
    return BatchCheck(ok=False, problems=[problem], frame=None, source=source)


def _number_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _examples(values: pd.Series) -> str:
    unique = pd.unique(values.astype(str))[:_EXAMPLES]
    shown = ", ".join(f"'{v}'" for v in unique)
    return shown + (", …" if values.astype(str).nunique() > _EXAMPLES else "")


def _names(columns: list[str]) -> str:
    return ", ".join(f"'{c}'" for c in columns)


def _plural(word: str, items: list[str]) -> str:
    return word if len(items) == 1 else word + "s"
