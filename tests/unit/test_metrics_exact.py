"""marts.metrics_windowed equals an independent computation of SPEC §5, row for row.

Random events (every metric's event type, UTC offsets, times on and a microsecond either side of 15-minute
boundaries, ties, zeros, integers written as 1.0) are loaded into raw.events, the models are built with dbt, and
every row is compared with metrics_reference.reference_metrics (numpy): the same row set, the same sample_count,
values within 1e-9 relative.
"""
from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from rolloutctl.warehouse.dbt_runner import run_dbt
from tests.support.metrics_reference import compare, insert_events, random_events, read_metrics, reference_metrics

SELECT = "+metric_status"
NO_UNIT_TESTS = ["build", "--exclude-resource-type", "unit_test"]


@pytest.fixture(scope="module")
def dbt_target(tmp_path_factory):
    return tmp_path_factory.mktemp("dbt-target")


@pytest.mark.parametrize("seed,n,hours,phases", [
    (1, 500, 24 * 9, ("A-0", "A-1", "A-2", "B-0", "B-1")),
    (2, 300, 30, ("A-1", "B-0")),
    # 16 days: the first case's 9 already reach past the 7-day window; this one runs in the long tier
    pytest.param(3, 800, 24 * 16, ("A-2", "B-1"), marks=pytest.mark.long),
])
def test_every_row_matches_the_reference(tmp_path, dbt_target, seed, n, hours, phases):
    rng = np.random.default_rng(seed)
    events = random_events(rng, n, start=datetime(2026, 3, 1, 7, 30, tzinfo=UTC), hours=hours, phases=phases)
    insert_events(tmp_path, events)

    run_dbt(tmp_path, NO_UNIT_TESTS, select=SELECT, target_path=dbt_target)

    assert compare(read_metrics(tmp_path), reference_metrics(events)) == []


def test_many_samples_per_bin(tmp_path, dbt_target):
    """Enough saves in one phase that the rank search's bins hold many samples each (coarse and fine levels)."""
    rng = np.random.default_rng(11)
    start = datetime(2026, 4, 1, tzinfo=UTC)
    events = random_events(rng, 200, start=start, hours=24 * 8, phases=("A-1",))
    t0 = int(start.timestamp() * 1e6)
    durations = np.concatenate([rng.lognormal(6.5, 0.6, 30_000), np.full(2_000, 640.0), rng.integers(0, 50, 2_000)])
    times = t0 + rng.integers(0, 8 * 24 * 3600 * 10**6, durations.size)
    for i, (t, d) in enumerate(zip(times, durations)):
        events.append({"event": "autosave.save.completed", "event_id": f"bulk-{i}", "phase": "A-1",
                       "feature": "autosave", "ts": datetime.fromtimestamp(t / 1e6, UTC).isoformat(),
                       "duration_ms": float(d), "retry_count": 0, "bytes": 1})
    insert_events(tmp_path, events)

    run_dbt(tmp_path, NO_UNIT_TESTS, select=SELECT, target_path=dbt_target)

    assert compare(read_metrics(tmp_path), reference_metrics(events)) == []


def test_offsets_and_boundaries(tmp_path, dbt_target):
    """Hand-placed edges: a save written with +09:00 that is exactly T - 1h in UTC is in T's 1h window; one at T
    (written with -05:00) is not; an event 1 µs before a boundary stays in the earlier bucket."""
    events = [
        {"event": "autosave.save.completed", "event_id": "a", "phase": "A-1", "feature": "autosave",
         "ts": "2026-03-01T09:00:00+09:00", "duration_ms": 100.0, "retry_count": 1.0, "bytes": 1},   # 00:00Z
        {"event": "autosave.save.completed", "event_id": "b", "phase": "A-1", "feature": "autosave",
         # 00:59:59.999999Z
         "ts": "2026-02-28T19:59:59.999999-05:00", "duration_ms": 200.0, "retry_count": 0, "bytes": 1},
        {"event": "autosave.save.completed", "event_id": "c", "phase": "A-1", "feature": "autosave",
         "ts": "2026-02-28T20:00:00-05:00", "duration_ms": 300.0, "retry_count": 0, "bytes": 1},   # 01:00Z
    ]
    insert_events(tmp_path, events)

    run_dbt(tmp_path, NO_UNIT_TESTS, select=SELECT, target_path=dbt_target)

    actual = read_metrics(tmp_path)
    assert compare(actual, reference_metrics(events)) == []
    t = int(datetime(2026, 3, 1, 1, 0, tzinfo=UTC).timestamp() * 1e6)
    assert actual[("A-1", t, "autosave_p95", "all", "1h")] == (195.0, 2)
    assert actual[("A-1", t, "autosave_retry_rate", "all", "1h")] == (0.5, 2)
    last = int(datetime(2026, 3, 1, 1, 15, tzinfo=UTC).timestamp() * 1e6)
    assert max(key[1] for key in actual) == last
