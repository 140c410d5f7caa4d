"""Drift: the pure core of monitoring, and its two adapters.

One module per concern; importing this package imports none of them. The core
imports no outside system (the import contracts check it); Evidently and NannyML are
behind :class:`~drift.measurement.DriftEngine` and the estimator, in ``adapters/``:

- :mod:`drift.batches` — read and validate one production batch
  (:func:`~drift.batches.check_batch` → :class:`~drift.batches.BatchCheck`).
- :mod:`drift.measurement` — what an engine measured (:class:`~drift.measurement.DriftMeasurement`),
  the :class:`~drift.measurement.DriftEngine` port and the reference sample.
- :mod:`drift.stattests` — the per-column tests in scipy and a report-less engine.
- :mod:`drift.metrics` — the model's metric measured on labelled rows, with its
  bootstrap standard error.
- :mod:`drift.estimates` — a label-free estimate as plain data, and which estimator a
  metric has.
- :mod:`drift.trust` — whether such an estimate is trusted: the fit-time calibration
  check on the reference and the support of a batch (pure figures).
- :mod:`drift.labels` — reading label files and joining them to scored rows by id.
- :mod:`drift.policy` and :mod:`drift.verdicts` — the pure verdict rules
  (:func:`~drift.policy.decide`) and the one severity order.
- :mod:`drift.assess` — from a measurement (and an estimate) to a verdict.
- :mod:`drift.columns` — the names of the model-output columns.
- :mod:`drift.adapters.evidently` — the Evidently engine (reports, snapshots, HTML).
- :mod:`drift.adapters.nannyml` — NannyML's CBPE/DLE estimate without labels.

The policy's false-alarm and detection rates are measured by
:mod:`zenops.app.demo.evaluation` on the demo's data generator.
"""
