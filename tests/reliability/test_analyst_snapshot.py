"""An analyst's open read-only session never blocks the warehouse's writers, and keeps working across publishes."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb

from ingest.loader import ingest
from rolloutctl.core.layout import analytics_file
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
