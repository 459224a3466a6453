"""When an alert rule fires: episodes of readings that meet its condition.

- Readings are sorted by time here (input order is arbitrary). At equal times those that do not meet the
  condition come first, then by value, so the result never depends on input order.
- A run is a maximal sequence of consecutive readings that all meet the condition. A reading that does
  not meet it ends the run and re-arms the rule: the next breach is a new episode. With unless_active, a
  reading whose time lies within an activity [start, end] does not meet it. Two consecutive readings more
  than max(MAX_GAP, duration) apart also end the run: without readings we do not know the value stayed
  beyond the threshold.
- A run fires at its first reading at or after run start + duration_seconds (duration 0: its first
  reading); a shorter run does not fire. Only a trigger at or after `since` fires, so an imported history
  does not flood the user; a run whose trigger came before `since` never fires, even if it goes on.
- One alert per episode: a run that overlaps or touches an already alerted span (run start <= span end
  and run last >= span start) is that episode. It does not fire again; when its last reading is later
  than the span's end, the latest such span is reported in `extended` with the new last reading time.
  Evaluating the same readings again with the firings passed as alerted therefore yields nothing new.
- ABOVE is value > threshold, BELOW <, AT_OR_ABOVE >=, AT_OR_BELOW <=; a non-finite value never meets.
"""

from __future__ import annotations

import datetime as dt
import math
import operator
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

ABOVE, BELOW, AT_OR_ABOVE, AT_OR_BELOW = "ABOVE", "BELOW", "AT_OR_ABOVE", "AT_OR_BELOW"
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ABOVE: operator.gt, BELOW: operator.lt, AT_OR_ABOVE: operator.ge, AT_OR_BELOW: operator.le,
}

MAX_GAP = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class Reading:
    time: dt.datetime  # the sample's start time, aware UTC
    value: float
    value2: float | None = None


@dataclass(frozen=True)
class Condition:
    comparison: str  # ABOVE, BELOW, AT_OR_ABOVE or AT_OR_BELOW
    threshold: float  # in the sample type's canonical unit
    on_value2: bool = False  # compare the sample's value2 (e.g. diastolic blood pressure) instead of value
    duration_seconds: int = 0
    unless_active: bool = False  # readings inside an activity (workout) do not count as breaching

    def __post_init__(self) -> None:
        if self.comparison not in COMPARISONS:
            raise ValueError(f"unknown comparison {self.comparison!r}")
        if self.duration_seconds < 0:
            raise ValueError(f"duration_seconds {self.duration_seconds} is negative")

    @property
    def duration(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.duration_seconds)

    @property
    def max_gap(self) -> dt.timedelta:
        """The longest time between two readings of one run."""
        return max(MAX_GAP, self.duration)

    def meets(self, reading: Reading) -> bool:
        x = reading.value2 if self.on_value2 else reading.value
        return x is not None and math.isfinite(x) and COMPARISONS[self.comparison](x, self.threshold)


@dataclass(frozen=True)
class Span:
    """An activity, or an episode already alerted (its first to its last reading seen)."""

    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True)
class Firing:
    start: dt.datetime  # first reading of the run meeting the condition
    trigger: Reading  # the reading that made the rule fire
    last: dt.datetime  # last reading of the run seen so far (>= trigger.time)

    @property
    def span(self) -> Span:
        """The episode as it is passed back to evaluate as alerted."""
        return Span(self.start, self.last)


@dataclass(frozen=True)
class Evaluation:
    fired: list[Firing]  # new alerts, oldest first
    extended: list[tuple[Span, dt.datetime]]  # (already alerted episode, its new last reading time), only when it grew


def evaluate(condition: Condition, readings: Sequence[Reading], *, since: dt.datetime,
             activities: Sequence[Span] = (), alerted: Sequence[Span] = ()) -> Evaluation:
    """The new alerts of `readings` under `condition`, and the alerted episodes they prolong.

    `readings` should reach back before `since` (by at least duration + max_gap) and `alerted` hold
    the episodes they can touch: a run cut short at the first reading given looks younger than it is.
    """
    fired: list[Firing] = []
    grown: dict[Span, dt.datetime] = {}
    for run in runs(condition, readings, activities):
        start, last = run[0].time, run[-1].time
        same = [s for s in alerted if start <= s.end and last >= s.start]
        if same:
            # A run merging several alerted episodes (data filled in late) prolongs only the latest.
            span = max(same, key=lambda s: (s.start, s.end))
            if last > span.end:
                grown[span] = last  # runs come oldest first: a later one's last is later
            continue
        trigger = trigger_of(run, condition.duration)
        if trigger is not None and trigger.time >= since:
            fired.append(Firing(start, trigger, last))
    extended = sorted(grown.items(), key=lambda item: (item[0].start, item[0].end))
    return Evaluation(fired, extended)


def runs(condition: Condition, readings: Sequence[Reading],
         activities: Sequence[Span] = ()) -> Iterator[list[Reading]]:
    """The runs of readings meeting the condition, oldest first, each sorted and non-empty."""
    inside = _within(activities) if condition.unless_active else (lambda t: False)

    def breaches(r: Reading) -> bool:
        return condition.meets(r) and not inside(r.time)

    marked = sorted(((r, breaches(r)) for r in readings), key=lambda rb: _order(*rb))
    run: list[Reading] = []
    for r, breaching in marked:
        if run and (not breaching or r.time - run[-1].time > condition.max_gap):
            yield run
            run = []
        if breaching:
            run.append(r)
    if run:
        yield run


def trigger_of(run: Sequence[Reading], duration: dt.timedelta) -> Reading | None:
    """The first reading of a run at least `duration` after its start, None if it is shorter."""
    due = run[0].time + duration
    return next((r for r in run if r.time >= due), None)


def _order(r: Reading, breaching: bool) -> tuple:
    # A total order (NaN and None included), so that readings at equal times give one result
    # whatever the input order.
    return r.time, breaching, _number(r.value), _number(r.value2)


def _number(x: float | None) -> tuple:
    return (0, x, "") if x is not None and math.isfinite(x) else (1, 0.0, repr(x))


def _within(spans: Sequence[Span]) -> Callable[[dt.datetime], bool]:
    """Whether a time lies within one of the spans, ends included."""
    merged: list[list[dt.datetime]] = []
    for s in sorted(spans, key=lambda s: s.start):
        if merged and s.start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], s.end)
        else:
            merged.append([s.start, s.end])
    starts = [m[0] for m in merged]

    def inside(t: dt.datetime) -> bool:
        i = bisect_right(starts, t) - 1
        return i >= 0 and t <= merged[i][1]

    return inside
