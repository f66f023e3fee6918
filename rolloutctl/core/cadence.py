"""A fixed cadence for a resident loop (`rolloutctl gate --every 15m`): cycle k starts at the first start plus
k intervals, so a quarter-hour gate stays on its quarter hours however long each cycle takes."""
from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable, Iterator

from rolloutctl.core.errors import UsageError

_UNITS = {"s": 1, "m": 60, "h": 3600}
_INTERVAL = re.compile(r"(\d+(?:\.\d+)?)([smh])")


def parse_interval(text: str) -> float:
    """'15m', '90s', '1h', '0s' → seconds."""
    match = _INTERVAL.fullmatch(text.strip())
    if not match:
        raise UsageError(f"--every {text!r}: expected a number and a unit, s, m or h (e.g. 15m)")
    return float(match.group(1)) * _UNITS[match.group(2)]


def cadence(interval: float, cycles: int | None = None, *, clock: Callable[[], float] = time.monotonic,
            sleep: Callable[[float], None] = time.sleep) -> Iterator[int]:
    """Yield 0, 1, 2, … (`cycles` of them, or for ever); before each but the first, sleep until its start (a wait
    of 0 when it is due). A cycle that overran its interval starts the next at once, and the cadence goes on from
    there: missed starts are not made up (a gate decides on the latest data, so two cycles back to back would decide
    the same thing twice)."""
    next_start = clock()
    for n in itertools.count() if cycles is None else range(cycles):
        if n:
            now = clock()
            sleep(max(0.0, next_start - now))
            next_start = max(next_start, now)
        yield n
        next_start += interval
