"""When and how strongly a production stream drifts.

A :class:`DriftSchedule` turns a day index (0 = the first production day) into two
levels: the *covariate* level (how far the feature distributions have moved) and
the *concept* level (how far the relation between features and target has moved).
A level of 0 means "as in training"; 1 means the documented full magnitude of each
population (see :mod:`zenops.app.demo.datagen.populations`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from zenops.app.demo.datagen.populations import COVARIATE_KINDS, MODELS, STANDARD, demo_model
from zenops.kernel.errors import ConfigError

PRODUCTION_START = date(2024, 7, 1)
"""First production day by default (day 0 of a schedule); the training period ends the day before."""


@dataclass(frozen=True)
class DriftSchedule:
    """Stable, then covariate drift, then concept drift, and how late labels arrive.

    Days are 0-based indices into the production stream.

    - ``covariate_start`` (default 10): first day with covariate drift; days before
      it are stable. ``None``: no covariate drift.
    - ``covariate_ramp_days`` (default 5): days the covariate drift takes to reach
      ``covariate_magnitude``; it grows linearly, by ``1/ramp`` of the magnitude a
      day, and then stays there (also during concept drift). 1 means abrupt.
    - ``covariate_magnitude`` (default 1.0): 1.0 is the documented full shift of
      each population; 0.5 is half of it; values above 1 extrapolate.
    - ``concept_start`` (default 20): first day with concept drift. ``None``: none.
    - ``concept_ramp_days`` (default 1, abrupt) and ``concept_magnitude``
      (default 1.0): as for covariate drift.
    - ``label_delay_days`` (default 3): labels of day ``d`` arrive on day
      ``d + label_delay_days``.
    - ``covariate_kind`` (default ``"standard"``): which covariate shift the level
      drives (``P(target | features)`` stays fixed in each):

      - ``"standard"``: the documented shift of each population (income and loan
        size, prices, promotions, temperature and store mix);
      - ``"within"``: a shift inside the range the training data covers well (a new
        mix of regions, purposes and home ownership; a cooler season with more
        promotions): a model
        trained on the training data keeps its performance;
      - ``"beyond"``: a shift into a region the training data covers thinly (credit
        scores below its 5th percentile; prices half the usual), where the model
        never learned how the target behaves: its performance drops, and a model
        retrained with the shifted rows recovers.
    """

    covariate_start: int | None = 10
    covariate_ramp_days: int = 5
    covariate_magnitude: float = 1.0
    concept_start: int | None = 20
    concept_ramp_days: int = 1
    concept_magnitude: float = 1.0
    label_delay_days: int = 3
    covariate_kind: str = STANDARD

    def __post_init__(self) -> None:
        for name in ("covariate_start", "concept_start"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ConfigError(f"drift schedule: {name} must be >= 0 or None, not {value}")
        for name in ("covariate_ramp_days", "concept_ramp_days"):
            if getattr(self, name) < 1:
                raise ConfigError(f"drift schedule: {name} must be >= 1 (1 is abrupt)")
        for name in ("covariate_magnitude", "concept_magnitude"):
            if getattr(self, name) < 0:
                raise ConfigError(f"drift schedule: {name} must be >= 0")
        if self.label_delay_days < 0:
            raise ConfigError("drift schedule: label_delay_days must be >= 0")
        if self.covariate_kind not in COVARIATE_KINDS:
            raise ConfigError(
                f"drift schedule: covariate_kind must be one of {', '.join(COVARIATE_KINDS)}, "
                f"not '{self.covariate_kind}'"
            )

    @classmethod
    def stable(cls, label_delay_days: int = 3) -> DriftSchedule:
        """A schedule without any drift: every day comes from the training process."""
        return cls(covariate_start=None, concept_start=None, label_delay_days=label_delay_days)

    def covariate_level(self, day: int) -> float:
        """How far the feature distributions have moved on ``day`` (0 = not at all)."""
        return _level(day, self.covariate_start, self.covariate_ramp_days, self.covariate_magnitude)

    def concept_level(self, day: int) -> float:
        """How far the feature–target relation has moved on ``day`` (0 = not at all)."""
        return _level(day, self.concept_start, self.concept_ramp_days, self.concept_magnitude)

    def phase(self, day: int) -> str:
        """``stable``, ``covariate`` or ``concept``: the latest kind of drift active on ``day``."""
        if self.concept_level(day) > 0:
            return "concept"
        if self.covariate_level(day) > 0:
            return "covariate"
        return "stable"


def _level(day: int, start: int | None, ramp: int, magnitude: float) -> float:
    if start is None or day < start or magnitude == 0:
        return 0.0
    return magnitude * min(1.0, (day - start + 1) / ramp)


def describe_schedule(
    schedule: DriftSchedule | None = None,
    model: str | None = None,
    start: date | None = None,
    days: int | None = None,
) -> str:
    """The schedule in words (Markdown bullets): what drifts, from when, by how much.

    ``model`` limits the story to one demo model (default: both); ``start`` is the
    first production day (default 2024-07-01); ``days`` is the stream's length, so
    phases after its end are called out as such.
    """
    schedule = schedule if schedule is not None else DriftSchedule()
    start = start or PRODUCTION_START
    models = [demo_model(model)] if model else list(MODELS.values())

    def when(day: int) -> str:
        text = f"day {day} ({(start + timedelta(days=day)).isoformat()})"
        if days is not None and day >= days:
            text += f", after the end of the {days}-day stream"
        return text

    def size(magnitude: float) -> str:
        return "its full size" if magnitude == 1 else f"{magnitude:g} times its full size"

    firsts = [s for s in (schedule.covariate_start, schedule.concept_start) if s is not None]
    first = min(firsts) if firsts else None
    lines = []
    if first is None or first > 0:
        until = f"until {when(first - 1)}" if first is not None else "throughout"
        lines.append(
            f"- **Stable** from {when(0)} {until}: the same process as the training data, "
            "so drift detectors should stay quiet."
        )
    if schedule.covariate_start is not None and schedule.covariate_magnitude > 0:
        full = schedule.covariate_start + schedule.covariate_ramp_days - 1
        ramp = "abruptly" if schedule.covariate_ramp_days == 1 else f"ramping linearly until {when(full)}"
        lines.append(
            f"- **Covariate drift** from {when(schedule.covariate_start)}, {ramp}, to "
            f"{size(schedule.covariate_magnitude)}, and staying there. The relation between "
            "features and target is unchanged:"
        )
        lines += [f"  - {m.name}: {m.covariate_stories[schedule.covariate_kind]}." for m in models]
    if schedule.concept_start is not None and schedule.concept_magnitude > 0:
        full = schedule.concept_start + schedule.concept_ramp_days - 1
        ramp = "abruptly" if schedule.concept_ramp_days == 1 else f"ramping linearly until {when(full)}"
        lines.append(
            f"- **Concept drift** from {when(schedule.concept_start)}, {ramp}, to "
            f"{size(schedule.concept_magnitude)}: the relation between features and target "
            "changes, so a model trained before it degrades markedly:"
        )
        lines += [f"  - {m.name}: {m.concept_story}." for m in models]
    delay = schedule.label_delay_days
    later = "the same day" if delay == 0 else f"{delay} day{'s' if delay != 1 else ''} later"
    lines.append(f"- **Labels** of each day's batch arrive {later}.")
    return "\n".join(lines)
