"""Ingest keeps a watermark per feature: the latest event time it loaded, moved in the rows' own transaction."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from ingest.loader import ingest
from ingest.warehouse import warehouse_path


def save(ts: str, event_id: str | None = None, duration_ms: float = 10) -> dict:
    e = {"event": "autosave.save.completed", "ts": ts, "phase": "A-1", "feature": "autosave",
         "duration_ms": duration_ms, "retry_count": 0, "bytes": 1}
    return {**e, "event_id": event_id} if event_id else e


def session(ts: str) -> dict:
    return {"event": "app.session.ended", "ts": ts, "phase": "A-1", "crashed": False}


def write(path: Path, events: list[dict], mode: str = "w") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open(mode) as fh:
        fh.write("".join(json.dumps(e) + "\n" for e in events))


def watermarks(home: Path) -> dict[str, tuple[datetime, datetime]]:
    con = duckdb.connect(str(warehouse_path(home)), read_only=True)
    try:
        return {f: (m, u) for f, m, u in con.execute(
            "select feature, max_event_at, updated_at from raw.watermarks").fetchall()}
    finally:
        con.close()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def test_each_feature_gets_the_latest_event_time_it_loaded(tmp_path):
    write(tmp_path / "logs" / "a.jsonl", [save("2026-03-01T10:00:00Z"), save("2026-03-01T12:30:00+02:00"),
                                          session("2026-03-01T09:00:00Z")])
    ingest(tmp_path, [tmp_path / "logs"])
    marks = watermarks(tmp_path)
    assert set(marks) == {"autosave", "app"}
    assert marks["autosave"][0] == utc("2026-03-01T10:30:00Z")     # the offset is honoured
    assert marks["app"][0] == utc("2026-03-01T09:00:00Z")


def test_a_late_event_never_moves_the_watermark_back(tmp_path):
    log = tmp_path / "logs" / "a.jsonl"
    write(log, [save("2026-03-01T10:00:00Z")])
    ingest(tmp_path, [log])
    before = watermarks(tmp_path)["autosave"]
    write(log, [save("2026-03-01T08:00:00Z")], mode="a")           # arrives late
    ingest(tmp_path, [log])
    assert watermarks(tmp_path)["autosave"] == before               # neither the time nor when it moved


def test_rejected_and_duplicate_lines_do_not_move_it(tmp_path):
    log = tmp_path / "logs" / "a.jsonl"
    write(log, [save("2026-03-01T10:00:00Z", event_id="e1")])
    ingest(tmp_path, [log])
    write(log, [save("2026-03-09T10:00:00Z", event_id="e1"),       # a duplicate of e1, with another time
                save("2026-03-09T11:00:00Z", duration_ms=-1)],     # rejected: duration below 0
          mode="a")
    result = ingest(tmp_path, [log])
    assert (result.duplicates, result.rejected) == (1, 1)
    assert watermarks(tmp_path)["autosave"][0] == utc("2026-03-01T10:00:00Z")


def test_it_equals_the_latest_loaded_event_per_feature_across_blocks(tmp_path, monkeypatch):
    events = [save(f"2026-03-01T{h:02d}:{m:02d}:00Z") for h in range(6) for m in (0, 20, 40)]
    events += [session(f"2026-03-02T0{h}:00:00Z") for h in range(3)]
    write(tmp_path / "logs" / "a.jsonl", events[::-1])
    ingest(tmp_path, [tmp_path / "logs"], block_bytes=512)          # many blocks, one transaction each
    con = duckdb.connect(str(warehouse_path(tmp_path)), read_only=True)
    try:
        observed = dict(con.execute("select feature, max(event_at) from raw.events group by feature").fetchall())
    finally:
        con.close()
    assert {f: m for f, (m, _) in watermarks(tmp_path).items()} == observed
