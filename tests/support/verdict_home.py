"""A small rollout for the gate-verdict tests (2026-03-01).

A-0 (00:00-06:00): healthy saves; its rules promote at every T, and every T is final. B-0 (00:00-02:00): merges
(all auto-accepted) and 20 passing merge_qa cases; its rules promote, but the merge stream stops at 02:00, so B-0 is
final only until 01:55 and its latest grid time (02:15) is not. A-1 (08:00-10:00): saves at 300 ms, then 3000 ms in
the second hour: its rollback rules fire at its latest grid time (10:15), which is not final (autosave is at 10:00).
"""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ingest.loader import ingest

DAY = datetime(2026, 3, 1, tzinfo=UTC)


def _at(hh_mm: str) -> datetime:
    h, m = map(int, hh_mm.split(":"))
    return DAY + timedelta(hours=h, minutes=m)


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _every(start: str, end: str, minutes: int):
    t = _at(start)
    while t <= _at(end):
        yield t
        t += timedelta(minutes=minutes)


def events() -> list[dict]:
    out = []
    for t in _every("00:00", "06:00", 2):
        out.append({"event": "autosave.save.completed", "ts": _iso(t), "phase": "A-0", "feature": "autosave",
                    "duration_ms": 400, "retry_count": 0, "bytes": 10})
    for t in _every("00:00", "02:00", 2):
        out.append({"event": "merge.diff.apply", "ts": _iso(t), "phase": "B-0", "feature": "merge",
                    "precision": "beta", "auto_accept_ratio": 0.9, "auto_accepted": True, "hunk_count": 2})
    for i in range(20):
        out.append({"event": "qa.case.result", "ts": _iso(_at("00:10")), "phase": "B-0", "suite": "merge_qa",
                    "case_id": f"mq-{i:02d}", "result": "pass"})
    for t in _every("08:00", "10:00", 2):
        out.append({"event": "autosave.save.completed", "ts": _iso(t), "phase": "A-1", "feature": "autosave",
                    "duration_ms": 300 if t < _at("09:00") else 3000, "retry_count": 0, "bytes": 10})
    return out


def write_events(home: Path) -> Path:
    path = home / "logs" / "rollout.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(e) + "\n" for e in events()))
    return path


def ingest_bad_lines(home: Path, count: int) -> None:
    """`count` lines that fail validation (a save with a negative duration), in a file of their own."""
    bad = {"event": "autosave.save.completed", "ts": "2026-03-01T10:00:00Z", "phase": "A-0", "feature": "autosave",
           "duration_ms": -5, "retry_count": 0, "bytes": 10}
    path = home / "logs" / "bad.jsonl"
    path.write_text("".join(json.dumps(bad) + "\n" for _ in range(count)))
    result = ingest(home, [path])
    assert result.rejected == count
