"""Data-quality preconditions: the reject share of the lines ingested in the 24 h up to the latest ingest, and the
data tests of the build (recorded in the warehouse; the models they made dbt skip are built anyway)."""
from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from test_finality import saves, sessions

from ingest.loader import ingest
from ingest.warehouse import connect, warehouse_path
from rolloutctl.warehouse import refresh, test_failures
from rolloutctl.warehouse.dbt_runner import BuildFailed, run_dbt

MODELS = ["build", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]
DUPLICATE_TEST = "source_unique_raw_events_event_id"


def load(home: Path, name: str, events: list[dict], bad: int = 0) -> None:
    path = home / "logs" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(e) for e in events] + ['{"event": "autosave.save.completed", "ts": "yesterday"}'] * bad
    path.write_text("\n".join(lines) + "\n")
    ingest(home, [path])


def data_quality(home: Path) -> dict:
    con = duckdb.connect(str(warehouse_path(home)), read_only=True)
    try:
        cur = con.execute("select * from marts.data_quality")
        rows = cur.fetchall()
        assert len(rows) == 1
        return dict(zip([d[0] for d in cur.description], rows[0]))
    finally:
        con.close()


def build_quality(home: Path, target: Path) -> dict:
    run_dbt(home, MODELS, select="+data_quality", target_path=target)
    return data_quality(home)


def test_more_than_one_percent_rejected_is_not_ok(tmp_path, dbt_target):
    load(tmp_path, "a.jsonl", saves("10:00", "13:17"), bad=3)          # 198 good + 3 rejected = 201 lines
    dq = build_quality(tmp_path, dbt_target)
    assert (dq["ingested_lines"], dq["rejected_lines"]) == (201, 3)
    assert dq["reject_share"] == pytest.approx(3 / 201)
    assert dq["max_reject_share"] == 0.01
    assert (dq["is_reject_share_ok"], dq["is_ok"]) == (False, False)


def test_exactly_the_allowed_share_is_ok(tmp_path, dbt_target):
    load(tmp_path, "a.jsonl", saves("10:00", "11:38"), bad=1)          # 99 good + 1 rejected = 1%
    dq = build_quality(tmp_path, dbt_target)
    assert dq["reject_share"] == pytest.approx(0.01)
    assert (dq["is_reject_share_ok"], dq["is_ok"]) == (True, True)


def test_only_the_24_hours_up_to_the_latest_ingest_count(tmp_path, dbt_target):
    load(tmp_path, "old.jsonl", saves("09:00", "09:30"), bad=20)       # a bad load, two days before the next
    con = connect(tmp_path)
    con.execute("update raw.loads set started_at = started_at - interval 2 day, "
                "finished_at = finished_at - interval 2 day")
    con.close()
    load(tmp_path, "new.jsonl", saves("10:00", "11:39"))               # 100 clean lines
    dq = build_quality(tmp_path, dbt_target)
    assert (dq["ingested_lines"], dq["rejected_lines"], dq["is_ok"]) == (100, 0, True)


@pytest.fixture
def built(tmp_path) -> Path:
    load(tmp_path, "a.jsonl", saves("10:00", "12:00") + sessions("10:00", "12:00"))
    refresh.refresh(tmp_path)
    return tmp_path


def duplicate_an_event_id(home: Path) -> None:
    """A new row repeating a loaded row's event_id: only a writer bypassing the loader can do that; the source's
    unique test catches it (the cycle tests every row whose key a row loaded since the last passing build has)."""
    con = connect(home)
    con.execute("update raw.events set event_id = 'dup' where rowid in (select rowid from raw.events limit 1)")
    con.execute("insert into raw.events select * replace (null as line_key, 'copy' as load_id, now() as loaded_at) "
                "from raw.events where event_id = 'dup'")
    con.close()


def test_a_failing_data_test_is_recorded_and_the_marts_still_follow_the_data(built):
    duplicate_an_event_id(built)
    load(built, "b.jsonl", saves("12:01", "12:40"))                    # new data the marts must show
    with pytest.raises(BuildFailed) as failed:                         # `rolloutctl build` still fails
        refresh.refresh(built)
    assert DUPLICATE_TEST in [f.name for f in failed.value.result.failures]
    assert test_failures.recorded_test_failures(built) == [DUPLICATE_TEST]
    dq = data_quality(built)
    assert dq["failing_tests"] == [DUPLICATE_TEST] and dq["has_failing_tests"] and not dq["is_ok"]
    con = duckdb.connect(str(warehouse_path(built)), read_only=True)
    try:
        latest = con.execute("select max(eval_at) from marts.metrics_windowed").fetchone()[0]
    finally:
        con.close()
    assert latest.strftime("%H:%M") == "12:45"                          # floor15(12:40) + 15 min: rebuilt


def test_the_next_clean_build_clears_the_finding(built):
    duplicate_an_event_id(built)
    result = refresh.refresh(built, check=False)
    assert test_failures.only_data_tests_failed(result)
    con = connect(built)
    con.execute("update raw.events set event_id = null where event_id = 'dup'")
    con.close()
    assert refresh.refresh(built).success
    assert test_failures.recorded_test_failures(built) == []
    assert data_quality(built)["failing_tests"] == []


def test_a_null_in_a_gate_input_is_found_and_named_by_column(built):
    """The gate's inputs are checked for NULLs by one test per relation (macros/test_not_null_columns.sql), with a
    row per column holding NULLs: a new save whose payload lost its retry count (only a writer bypassing the loader
    can do that) leaves two columns of the staging view NULL, retry_count and has_retried."""
    load(built, "b.jsonl", saves("12:01", "12:10"))
    con = connect(built)
    con.execute("""update raw.events set payload = json_merge_patch(payload, '{"retry_count": null}')
                   where rowid = (select max(rowid) from raw.events where event = 'autosave.save.completed')""")
    con.close()
    result = refresh.refresh(built, check=False)
    failed = {f.name: f.message for f in test_failures.data_test_failures(result)}
    assert list(failed) == [
        "not_null_columns_stg_telemetry__save_completed_phase__saved_at__duration_ms__retry_count__has_retried"]
    assert "Got 2 results" in next(iter(failed.values()))
    assert data_quality(built)["failing_tests"] == list(failed)
