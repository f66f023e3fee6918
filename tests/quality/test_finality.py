"""A grid time T is final once the watermark of every finality stream that the phase's rules read, and that has
events in the phase, is at least T + its allowed lateness (governance/watermark_lateness: 5 minutes; QA results and
rollbacks never hold T back)."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from ingest.loader import ingest
from ingest.warehouse import warehouse_path
from rolloutctl.warehouse.dbt_runner import run_dbt

MODELS = ["build", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]
UTC = UTC
DAY = datetime(2026, 3, 1, tzinfo=UTC)


def at(hh_mm: str) -> datetime:
    h, m = map(int, hh_mm.split(":"))
    return DAY + timedelta(hours=h, minutes=m)


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def saves(start: str, end: str, phase: str = "A-2") -> list[dict]:
    t, out = at(start), []
    while t <= at(end):
        out.append({"event": "autosave.save.completed", "ts": iso(t), "phase": phase, "feature": "autosave",
                    "duration_ms": 100, "retry_count": 0, "bytes": 1})
        t += timedelta(minutes=1)
    return out


def sessions(start: str, end: str, phase: str = "A-2") -> list[dict]:
    t, out = at(start), []
    while t <= at(end):
        out.append({"event": "app.session.ended", "ts": iso(t), "phase": phase, "crashed": False})
        t += timedelta(minutes=5)
    return out


def qa(when: str, phase: str) -> dict:
    return {"event": "qa.case.result", "ts": iso(at(when)), "phase": phase, "suite": "autosave_qa",
            "case_id": "aq-1", "result": "pass"}


def load(home: Path, name: str, events: list[dict]) -> None:
    path = home / "logs" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    ingest(home, [path])


def finality(home: Path, target: Path) -> dict[tuple[str, str], bool]:
    run_dbt(home, MODELS, select="+int_eval_times_finalized +ingest_watermarks", target_path=target)
    con = duckdb.connect(str(warehouse_path(home)), read_only=True)
    try:
        rows = con.execute("select phase, eval_at, is_final from staging.int_eval_times_finalized").fetchall()
    finally:
        con.close()
    return {(p, t.astimezone(UTC).strftime("%H:%M")): f for p, t, f in rows}


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    h = tmp_path_factory.mktemp("finality")
    load(h, "autosave.jsonl", saves("10:00", "12:00"))
    load(h, "app.jsonl", sessions("10:00", "11:00"))
    load(h, "qa.jsonl", [qa("10:05", "A-2"), qa("10:05", "A-0")])    # sporadic: must not hold anything back
    # A-1's rules read autosave only: its sessions, an hour behind, hold nothing back
    load(h, "a1.jsonl", saves("10:00", "12:00", "A-1") + sessions("10:00", "11:00", "A-1"))
    return h


def test_the_slowest_finality_stream_of_the_phase_decides(home, dbt_target):
    final = finality(home, dbt_target)
    # A-2's rules read autosave and app (its crash-rate rule): app at 11:00 decides, T is final while
    # 11:00 >= T + 5 min
    assert final[("A-2", "10:45")] is True
    assert final[("A-2", "11:00")] is False
    assert final[("A-2", "12:15")] is False
    # A-1's rules read only autosave (12:00)
    assert final[("A-1", "11:45")] is True
    assert final[("A-1", "12:00")] is False
    # A-0 has only QA results (no finality stream): every T is final
    assert final[("A-0", "10:15")] is True


def test_finality_follows_the_watermark_as_data_arrives(home, dbt_target):
    load(home, "app-2.jsonl", sessions("11:05", "12:10"))             # app reaches 12:10, autosave stays 12:00
    final = finality(home, dbt_target)
    assert final[("A-2", "11:45")] is True                            # 12:00 >= 11:45 + 5 min
    assert final[("A-2", "12:00")] is False                           # 12:00 <  12:00 + 5 min
    con = duckdb.connect(str(warehouse_path(home)), read_only=True)
    try:
        marks = {f: (w, fu) for f, w, fu in con.execute(
            "select feature, watermark_at, final_until from marts.ingest_watermarks").fetchall()}
    finally:
        con.close()
    assert marks["app"] == (at("12:10"), at("12:05"))
    assert marks["autosave"] == (at("12:00"), at("11:55"))
