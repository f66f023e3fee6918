"""The resident gate's cadence: cycle k starts at the first start plus k intervals; an overrun starts the next at
once and is not made up; intervals are parsed or refused with a clear message."""
from __future__ import annotations

import pytest

from rolloutctl.core.cadence import cadence, parse_interval
from rolloutctl.core.errors import UsageError


class Clock:
    """Time that moves only when a cycle works (work) or the cadence sleeps."""

    def __init__(self):
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def starts(durations: list[float], interval: float) -> tuple[list[float], list[float]]:
    clock = Clock()
    started = []
    for n in cadence(interval, len(durations), clock=clock, sleep=clock.sleep):
        started.append(clock.now)
        clock.now += durations[n]
    return started, clock.slept


def test_cycles_start_on_the_interval_whatever_each_one_takes():
    started, slept = starts([3, 7, 1, 9], interval=10)
    assert started == [100, 110, 120, 130]
    assert slept == [7, 3, 9]


def test_an_overrun_starts_the_next_cycle_at_once_and_is_not_made_up():
    started, slept = starts([25, 2, 2], interval=10)
    # the first cycle ran through two starts (110, 120): the next runs at 125, then 135, not 120 and 130 at once
    assert started == [100, 125, 135]
    assert slept == [0, 8]


def test_no_cycles_count_means_for_ever():
    clock = Clock()
    seen = []
    for n in cadence(60, None, clock=clock, sleep=clock.sleep):
        seen.append(n)
        if n == 99:
            break
    assert seen == list(range(100)) and clock.now == 100 + 99 * 60


@pytest.mark.parametrize("text,seconds", [("15m", 900), ("90s", 90), ("1h", 3600), ("0s", 0), ("2.5m", 150),
                                          (" 15m ", 900)])
def test_intervals(text, seconds):
    assert parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["15", "m", "15 m", "-1m", "1d", "15min", ""])
def test_an_interval_without_a_known_unit_is_refused(text):
    with pytest.raises(UsageError, match="expected a number and a unit, s, m or h"):
        parse_interval(text)
