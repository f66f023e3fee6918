"""`rolloutctl gate --every`: the gate as a resident process, one cycle per interval.

Each cycle is exactly `rolloutctl gate` (actions.gate: the build, the decision, the files, and with apply the
action). What the process keeps from one cycle to the next is only what costs without changing: Python's and dbt's
imports and dbt's parse of the project (dbt_runner keeps it while the project's definitions stay the same). The
warehouse file and the governance lock are released between cycles, so ingest, analysts' publishes and by-hand
commands run in between as they do beside a cron job.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

from ingest.errors import as_rollout_error
from rolloutctl.core.cadence import cadence
from rolloutctl.core.errors import RolloutError, UsageError
from rolloutctl.governance import actions


def gate_every(home: Path, interval: float, cycles: int | None = None, *,
               sleep: Callable[[float], None] = time.sleep,
               **gate_options) -> Iterator[actions.GateOutcome | RolloutError]:
    """Run actions.gate(home, **gate_options) every `interval` seconds (`cycles` times, or for ever); yield each
    cycle's outcome, or the error that ended it. A failed cycle (a failed build, a busy warehouse, a full disk) does
    not end the loop: the next one may succeed, as the next cron run would. A usage error does: it would fail every
    cycle the same way. `sleep` waits between cycles (time.sleep)."""
    for _ in cadence(interval, cycles, sleep=sleep):
        try:
            yield actions.gate(home, **gate_options)
        except UsageError:
            raise
        except Exception as exc:
            error = as_rollout_error(exc)
            if error is None:
                raise
            yield error
