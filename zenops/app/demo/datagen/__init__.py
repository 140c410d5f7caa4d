"""Seeded demo data: two model populations, a drifting production stream, bad batches.

- :func:`training_frame` and :func:`production_stream` draw the ``loan-default``
  (classification) and ``demand-forecast`` (regression) populations; a
  :class:`DriftSchedule` says when covariate and concept drift set in, which
  covariate shift it is (``standard``, ``within`` the training range, or ``beyond``
  it), and how late labels arrive, and :func:`describe_schedule` tells it in words.
- :func:`write_stream` writes batches and labels as the monitor expects them.
- :func:`malformed_batch` / :func:`write_malformed` give one bad batch per fault kind.
- :func:`wide_frame` is a generic wide table with known shifts for benchmarks.

All randomness comes from ``numpy.random.default_rng`` seeded through
``SeedSequence(seed, spawn_key=(model, purpose, day))``: the same seed gives the same
frames, and each model, purpose and day draws from its own independent stream.
See ``docs/demo-data.md``.
"""

from zenops.app.demo.datagen.malformed import MALFORMED_KINDS, UNSEEN_SHARE, malformed_batch, write_malformed
from zenops.app.demo.datagen.populations import COVARIATE_KINDS, DEMAND, LOAN, MODELS, DemoModel, demo_model
from zenops.app.demo.datagen.schedule import PRODUCTION_START, DriftSchedule, describe_schedule
from zenops.app.demo.datagen.stream import (
    TRAINING_START,
    DailyBatch,
    StreamFiles,
    production_stream,
    training_frame,
    write_frame,
    write_stream,
)
from zenops.app.demo.datagen.wide import Shift, wide_columns, wide_frame

__all__ = [
    "COVARIATE_KINDS",
    "DEMAND",
    "LOAN",
    "MALFORMED_KINDS",
    "MODELS",
    "PRODUCTION_START",
    "TRAINING_START",
    "UNSEEN_SHARE",
    "DailyBatch",
    "DemoModel",
    "DriftSchedule",
    "Shift",
    "StreamFiles",
    "demo_model",
    "describe_schedule",
    "malformed_batch",
    "production_stream",
    "training_frame",
    "wide_columns",
    "wide_frame",
    "write_frame",
    "write_malformed",
    "write_stream",
]
