"""An analyst's open read-only session never blocks the warehouse's writers, and keeps working across publishes."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb

from ingest.loader import ingest
from rolloutctl.core.layout import analytics_file, analytics_history_dir
from rolloutctl.warehouse.analyst_snapshot import publish as publish_snapshot

ANALYST = textwrap.dedent("""
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    print("ready", flush=True)
    for line in sys.stdin:
        n = con.execute("select count(*) from raw.events").fetchall()[0][0]
        print(n, flush=True)
""")


def _events_file(path: Path, start: int, n: int) -> Path:
    lines = [json.dumps({"event": "app.session.ended", "ts": f"2026-11-02T10:{i % 60:02d}:00Z", "phase": "A-0",
                         "crashed": False, "event_id": f"s-{i}"}) for i in range(start, start + n)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_open_analyst_session_survives_four_cycles(tmp_path):
    home = tmp_path / "home"
    logs = tmp_path / "logs"
    logs.mkdir()
    ingest(home, [_events_file(logs / "day1.jsonl", 0, 100)])
    publish_snapshot(home)
    analyst = subprocess.Popen([sys.executable, "-c", ANALYST, str(analytics_file(home))], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert analyst.stdout.readline().strip() == "ready"
        for cycle in range(1, 5):
            # The writer works on the warehouse while the analyst's session is open.
            result = ingest(home, [_events_file(logs / f"day{cycle + 1}.jsonl", cycle * 100, 100)])
            assert result.loaded == 100
            publish_snapshot(home)
            analyst.stdin.write("q\n")
            analyst.stdin.flush()
            # The open session still answers, from the snapshot it opened.
            assert int(analyst.stdout.readline()) == 100
            # A new session sees the latest build.
            con = duckdb.connect(str(analytics_file(home)), read_only=True)
            assert con.execute("select count(*) from raw.events").fetchall()[0][0] == 100 * (cycle + 1)
            con.close()
    finally:
        analyst.stdin.close()
        analyst.wait(timeout=30)
    assert analyst.returncode == 0


def _history(home: Path) -> dict[str, tuple[int, int]]:
    """Every Parquet file of the snapshot's raw history: (inode, mtime)."""
    folder = analytics_history_dir(home)
    return {str(p.relative_to(folder)): (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.rglob("*.parquet")}


def test_a_publish_writes_only_the_rows_of_the_new_loads(tmp_path):
    home = tmp_path / "home"
    logs = tmp_path / "logs"
    logs.mkdir()
    for day in range(3):
        ingest(home, [_events_file(logs / f"day{day}.jsonl", day * 100, 100)])
    publish_snapshot(home)
    before = _history(home)
    assert len([f for f in before if f.startswith("events/") and not f.endswith("_schema.parquet")]) == 3
    new = ingest(home, [_events_file(logs / "day3.jsonl", 300, 100)])
    publish_snapshot(home)
    after = _history(home)
    # the earlier loads' files are left as they were (same inode, never rewritten); one new file per history table
    assert {k: v for k, v in after.items() if k in before} == before
    assert sorted(set(after) - set(before)) == [f"events/{new.load_id}.parquet",
                                                f"rejected_events/{new.load_id}.parquet"]
    con = duckdb.connect(str(analytics_file(home)), read_only=True)
    try:
        # the snapshot file holds no copy of the events: raw.events reads the Parquet files
        kinds = dict(con.execute("select table_name, table_type from information_schema.tables "
                                 "where table_schema = 'raw'").fetchall())
        assert kinds["events"] == "VIEW" and kinds["rejected_events"] == "VIEW" and kinds["loads"] == "BASE TABLE"
        assert con.execute("select count(*), count(distinct event_id) from raw.events").fetchone() == (400, 400)
    finally:
        con.close()


def test_a_snapshot_with_no_load_yet_has_the_raw_tables(tmp_path):
    home = tmp_path / "home"
    ingest(home, [])
    publish_snapshot(home)
    con = duckdb.connect(str(analytics_file(home)), read_only=True)
    try:
        assert con.execute("select count(*) from raw.events").fetchone()[0] == 0
        assert "payload" in [r[0] for r in con.execute("describe raw.events").fetchall()]
    finally:
        con.close()


def _events_view(home: Path) -> str:
    con = duckdb.connect(str(analytics_file(home)), read_only=True)
    try:
        return con.execute("select sql from duckdb_views() where schema_name = 'raw' and view_name = 'events'"
                           ).fetchone()[0]
    finally:
        con.close()


def test_the_raw_view_binds_on_its_first_file_unless_the_columns_changed(tmp_path):
    home = tmp_path / "home"
    logs = tmp_path / "logs"
    logs.mkdir()
    for day in range(3):
        ingest(home, [_events_file(logs / f"day{day}.jsonl", day * 10, 10)])
        publish_snapshot(home)
    # every file has the table's columns: no union_by_name, which reads every file's footer at each view's creation
    assert "union_by_name" not in _events_view(home)
    # files written with other columns (a raw table that changed since the first publish): read by name
    schema_file = analytics_history_dir(home) / "events" / "_schema.parquet"
    con = duckdb.connect()
    con.execute(f"copy (select *, 1 as retired_column from read_parquet('{schema_file}')) to '{schema_file}' "
                "(format parquet)")
    con.close()
    ingest(home, [_events_file(logs / "day3.jsonl", 30, 10)])
    publish_snapshot(home)
    assert "union_by_name" in _events_view(home)
    con = duckdb.connect(str(analytics_file(home)), read_only=True)
    assert con.execute("select count(*), count(distinct event_id) from raw.events").fetchone() == (40, 40)
    con.close()
