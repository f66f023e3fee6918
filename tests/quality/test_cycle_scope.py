"""What the operational cycle runs (issue 12): the models holding data and the data tests that guard the gate's inputs,
on the rows loaded since the last passing build; `--all-tests` (CI's `dbt build`) runs every unit and data test over
all history. And the analysts' snapshot the build publishes reads as the warehouse."""
from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from test_data_quality import load
from test_finality import saves, sessions

from ingest.warehouse import connect, warehouse_path
from rolloutctl.core.layout import analytics_file
from rolloutctl.warehouse import refresh, test_failures
from rolloutctl.warehouse.dbt_runner import CYCLE_DATA_SELECTOR, CYCLE_SELECTOR

pytestmark = pytest.mark.xdist_group("cycle-scope")   # one worker builds the module's fixture, once
PHASE_TEST = "source_accepted_values_raw_events_phase__A_0__A_1__A_2__B_0__B_1"


@pytest.fixture(scope="module")
def built_once(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("cycle-scope")
    load(home, "a.jsonl", saves("10:00", "12:00") + sessions("10:00", "12:00"))
    assert refresh.refresh(home).success
    return home


@pytest.fixture
def built(built_once, tmp_path) -> Path:
    """A copy of a home after its first build (the snapshot's views name the original's Parquet files until the
    copy's next build publishes its own: every test here builds before it reads the snapshot)."""
    home = tmp_path / "home"
    shutil.copytree(built_once, home)
    return home


def names(result, resource_type: str) -> set[str]:
    return {t.name for t in result.timings if t.resource_type == resource_type}


def set_phase(home: Path, phase: str, where: str) -> None:
    con = connect(home)
    con.execute(f"update raw.events set phase = ? where {where}", [phase])
    con.close()


def add_row(home: Path, phase: str) -> None:
    """A new row (loaded now) with the given phase, written bypassing the loader."""
    con = connect(home)
    con.execute("insert into raw.events select * replace (? as phase, 'by-hand' as load_id, now() as loaded_at, "
                "'by-hand' as event_id, null as line_key) from raw.events limit 1", [phase])
    con.close()


def test_the_cycle_runs_no_unit_test_and_only_the_tests_guarding_the_gate_inputs(built):
    load(built, "b.jsonl", saves("12:01", "12:30"))
    cycle = refresh.refresh(built)
    tests = names(cycle, "test")
    assert names(cycle, "unit_test") == set()
    assert {"source_unique_raw_events_event_id",
            "not_null_columns_stg_telemetry__save_completed_phase__saved_at__duration_ms__retry_count__has_retried",
            } <= tests
    assert not any(t.startswith("assert_") for t in tests)                  # data-tests/: the full build's
    assert "not_null_metrics_windowed_eval_at" not in tests                  # a mart's: the full build's
    full = refresh.refresh(built, all_tests=True)
    assert "gate_decision_precedence" in names(full, "unit_test")
    assert {"assert_metrics_windowed_p95_matches_quantile_cont", "not_null_metrics_windowed_eval_at"} <= names(
        full, "test")
    assert tests < names(full, "test")


def test_with_the_same_definitions_the_cycle_builds_only_the_models_holding_data(built):
    first = refresh.refresh(built)
    assert first.command[:3] == ["build", "--selector", CYCLE_DATA_SELECTOR]
    models = names(first, "model")
    assert {"int_telemetry_events_parsed", "metrics_windowed", "gate_verdicts"} <= models
    assert "stg_telemetry__save_completed" not in models and names(first, "seed") == set()
    # other definitions (models, macros, seeds changed since): every model and seed, the seeds' tests
    con = connect(built)
    con.execute("update quality.data_test_scope set definitions = 'older'")
    con.close()
    changed = refresh.refresh(built)
    assert changed.command[:3] == ["build", "--selector", CYCLE_SELECTOR]
    assert "stg_telemetry__save_completed" in names(changed, "model") and "gate_rules" in names(changed, "seed")
    assert "unique_gate_rules_rule_id" in names(changed, "test")
    assert refresh.refresh(built).command[:3] == ["build", "--selector", CYCLE_DATA_SELECTOR]


def test_the_cycle_tests_rows_loaded_since_the_last_passing_build_and_the_full_build_every_row(built):
    # an old row rewritten by hand: the loader never does that, and the cycle does not test old rows again
    set_phase(built, "Z-9", "rowid = (select min(rowid) from raw.events)")
    assert refresh.refresh(built, check=False).success
    full = refresh.refresh(built, all_tests=True, check=False)
    assert PHASE_TEST in [f.name for f in full.failures]
    assert test_failures.only_data_tests_failed(full)
    again = refresh.refresh(built, full_refresh=True, check=False)        # a full refresh tests every row too
    assert PHASE_TEST in [f.name for f in again.failures]


def test_a_failing_new_row_holds_every_cycle_until_it_is_fixed(built):
    checked = test_failures.data_test_scope(built)["checked_through"]
    add_row(built, "Z-9")
    for _cycle in range(2):                          # not checked, so tested again by the next cycle
        result = refresh.refresh(built, check=False)
        assert PHASE_TEST in [f.name for f in result.failures]
        assert test_failures.recorded_test_failures(built) == sorted(f.name for f in result.failures)
        assert test_failures.data_test_scope(built)["checked_through"] == checked
    set_phase(built, "A-1", "load_id = 'by-hand'")
    assert refresh.refresh(built).success
    assert test_failures.recorded_test_failures(built) == []
    assert test_failures.data_test_scope(built)["checked_through"] > checked


def test_the_snapshot_reads_as_the_warehouse(built):
    load(built, "b.jsonl", saves("12:01", "12:30"))
    refresh.refresh(built)
    con = duckdb.connect(str(analytics_file(built)), read_only=True)
    try:
        con.execute("attach ? as working (read_only)", [str(warehouse_path(built))])
        for table in ("raw.events", "raw.rejected_events", "raw.loads", "marts.metrics_windowed",
                      "marts.gate_verdicts", "quality.build_test_failures"):
            rows = con.execute(f"select count(*) from {table}").fetchone()[0]
            assert rows == con.execute(f"select count(*) from working.{table}").fetchone()[0], table
            differ = con.execute(f"select count(*) from ((select * from {table} except all "
                                 f"select * from working.{table}) union all (select * from working.{table} "
                                 f"except all select * from {table}))").fetchone()[0]
            assert differ == 0, table
        types = "select column_name, data_type from information_schema.columns where table_schema = 'raw' " \
                "and table_name = 'events' and table_catalog = ? order by ordinal_position"
        assert con.execute(types, ["analytics"]).fetchall() == con.execute(types, ["working"]).fetchall()
    finally:
        con.close()
