"""Drift: batch validation, the drift engine, performance estimation and the verdict policy.

One module per concern; importing this package imports none of them (Evidently and
NannyML load only when a measurement or an estimate is made):

- :mod:`drift.batches` — read and validate one production batch
  (:func:`~drift.batches.check_batch` → :class:`~drift.batches.BatchCheck`).
- :mod:`drift.adapters.evidently` — the drift engine interface
  (:class:`~drift.adapters.evidently.DriftEngine`)
  and its Evidently adapter (:class:`~drift.adapters.evidently.EvidentlyEngine`), returning a
  plain :class:`~drift.measurement.DriftMeasurement`.
- :mod:`drift.stattests` — the per-column tests in scipy and a report-less engine.
- :mod:`drift.metrics` — the model's metric measured on labelled rows, with its
  bootstrap standard error.
- :mod:`drift.adapters.nannyml` — NannyML's CBPE/DLE estimate without labels.
- :mod:`drift.trust` — whether such an estimate is trusted: the fit-time calibration
  check on the reference and the support of a batch (pure figures).
- :mod:`drift.policy` — the pure verdict rules (:func:`~drift.policy.decide`).
- :mod:`drift.assess` — from a measurement (and an estimate) to a verdict.
- :mod:`zenops.app.demo.evaluation` — the policy's false-alarm and detection rates.
- :mod:`drift.columns` — the names of the model-output columns.
"""
