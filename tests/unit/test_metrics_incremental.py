"""A 15-minute cycle (append events, build incrementally) gives exactly what one full build gives.

Property: random events split into batches that arrive in random order — some batches hold only old
timestamps, so their windows reach back into evaluation points built long ago, and some extend a phase's grid at
either end — built batch by batch with `dbt build` (incremental) equal the same events built once with
--full-refresh on a fresh warehouse, row for row and bit for bit.
"""
from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.warehouse import connect
from rolloutctl.warehouse.dbt_runner import run_dbt
from tests.support.metrics_reference import compare, insert_events, random_events, read_metrics, reference_metrics
from tests.support.tiers import sized

FIRST_BUILD = "+metric_status"
CYCLE = ["int_telemetry_events_parsed", "metrics_windowed", "metric_status"]
BUILD = ["build", "--exclude-resource-type", "unit_test"]


@pytest.fixture(scope="module")
def dbt_target(tmp_path_factory):
    return tmp_path_factory.mktemp("dbt-target")


def _split(events: list[dict], rng: np.random.Generator, n_batches: int, mode: str) -> list[list[dict]]:
    if mode == "shuffled":
        order = rng.permutation(len(events))
    else:  # "late": in time order, except that the oldest slice arrives last, and one middle slice arrives first
        order = np.argsort([ev["ts"] for ev in events], kind="stable")
        order = order[::-1] if mode == "reversed" else order
    batches = [list(part) for part in np.array_split(order, n_batches) if len(part)]
    if mode == "late" and len(batches) > 2:
        mid = len(batches) // 2
        batches = [batches[mid]] + batches[1:mid] + batches[mid + 1:] + [batches[0]]
    return [[events[i] for i in batch] for batch in batches]


def _build_in_batches(home, batches, dbt_target) -> dict:
    for i, batch in enumerate(batches):
        insert_events(home, batch)
        run_dbt(home, BUILD, select=FIRST_BUILD if i == 0 else CYCLE, target_path=dbt_target)
    return read_metrics(home)


def _build_at_once(home, events, dbt_target) -> dict:
    insert_events(home, events)
    run_dbt(home, BUILD, select=FIRST_BUILD, full_refresh=True, target_path=dbt_target)
    return read_metrics(home)


@pytest.mark.scaled
@settings(max_examples=sized(2, 8), deadline=None, derandomize=False,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 2**32 - 1),
    n_events=st.integers(15, 120),
    days=st.sampled_from([0.5, 3, 10]),
    n_batches=st.integers(2, 4),
    mode=st.sampled_from(["shuffled", "late", "reversed"]),
)
def test_batches_in_any_order_equal_one_full_build(tmp_path_factory, dbt_target, seed, n_events, days, n_batches, mode):
    rng = np.random.default_rng(seed)
    events = random_events(rng, n_events, start=datetime(2026, 5, 1, tzinfo=UTC), hours=24 * days,
                           phases=("A-1", "A-2", "B-0"))
    batches = _split(events, rng, n_batches, mode)

    incremental = _build_in_batches(tmp_path_factory.mktemp("incremental"), batches, dbt_target)
    full = _build_at_once(tmp_path_factory.mktemp("full"), events, dbt_target)

    assert incremental == full, compare(incremental, full, rel=0.0)
    assert compare(full, reference_metrics(events)) == []


def test_a_cycle_with_nothing_new_changes_nothing(tmp_path, dbt_target):
    rng = np.random.default_rng(5)
    events = random_events(rng, 60, start=datetime(2026, 5, 1, tzinfo=UTC), hours=30)
    insert_events(tmp_path, events)
    run_dbt(tmp_path, BUILD, select=FIRST_BUILD, target_path=dbt_target)
    before = read_metrics(tmp_path)

    run_dbt(tmp_path, BUILD, select=CYCLE, target_path=dbt_target)

    assert read_metrics(tmp_path) == before


def test_rewritten_source_is_rebuilt_whole(tmp_path, dbt_target):
    """raw.events changed in place (rows removed, as after a re-load): the watermark no longer holds, so the next
    incremental run rebuilds the mart from scratch, dropping evaluation points that no longer exist."""
    rng = np.random.default_rng(6)
    start = datetime(2026, 5, 1, tzinfo=UTC)
    early = random_events(rng, 40, start=start, hours=10, phases=("A-1",))
    late = random_events(rng, 40, start=datetime(2026, 5, 3, tzinfo=UTC), hours=10, phases=("A-1",))
    insert_events(tmp_path, early)
    load_late = insert_events(tmp_path, late)
    run_dbt(tmp_path, BUILD, select=FIRST_BUILD, target_path=dbt_target)

    con = connect(tmp_path)
    con.execute("delete from raw.events where load_id = ?", [load_late])
    con.close()
    run_dbt(tmp_path, BUILD, select=CYCLE, target_path=dbt_target)

    assert compare(read_metrics(tmp_path), reference_metrics(early)) == []


def test_events_loaded_with_an_old_load_time_are_not_missed(tmp_path, dbt_target):
    """A row whose loaded_at is not after the watermark (a clock set back) is still picked up: the watermark's
    row count no longer matches, so the run recomputes everything."""
    rng = np.random.default_rng(8)
    first = random_events(rng, 50, start=datetime(2026, 5, 1, tzinfo=UTC), hours=20, phases=("B-0",))
    second = random_events(rng, 50, start=datetime(2026, 5, 1, 6, tzinfo=UTC), hours=20, phases=("B-0",))
    insert_events(tmp_path, first)
    run_dbt(tmp_path, BUILD, select=FIRST_BUILD, target_path=dbt_target)

    load = insert_events(tmp_path, second)
    con = connect(tmp_path)
    con.execute("update raw.events set loaded_at = timestamptz '2000-01-01 00:00:00+00' where load_id = ?", [load])
    con.close()
    run_dbt(tmp_path, BUILD, select=CYCLE, target_path=dbt_target)

    assert compare(read_metrics(tmp_path), reference_metrics(first + second)) == []
