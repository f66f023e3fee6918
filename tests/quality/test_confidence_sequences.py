"""marts.metric_confidence_sequences: the counts since the phase started, the anytime-valid test and the sequence's
bounds, against the reference implementation (rolloutctl/decision/sequential.py) on a known answer."""
from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from ingest.loader import ingest
from ingest.warehouse import warehouse_path
from rolloutctl.decision import sequential as seq
from rolloutctl.warehouse.dbt_runner import run_dbt

MODELS = ["build", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]
DAY = datetime(2026, 4, 1, tzinfo=UTC)
ALPHA = 0.0045


def stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def restores(count: int, failures: int, start: datetime, minutes: int) -> list[dict]:
    out = []
    for i in range(count):
        ok = i >= failures
        e = {"event": "autosave.restore.result", "ts": stamp(start + timedelta(seconds=i * minutes * 60 / count)),
             "phase": "A-1", "feature": "autosave", "success": ok, "source": "current", "duration_ms": 40}
        out.append(e if ok else {**e, "retryable": False})
    return out


def saves(durations: list[float], start: datetime, minutes: int) -> list[dict]:
    step = minutes * 60 / len(durations)
    return [{"event": "autosave.save.completed", "ts": stamp(start + timedelta(seconds=i * step)), "phase": "A-1",
             "feature": "autosave", "duration_ms": d, "retry_count": 0, "bytes": 10} for i, d in enumerate(durations)]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("sequences")
    # 00:00–01:00: 400 restores, the first 12 failing; 01:00–02:00: 400 more, all fine.
    # saves 00:00–02:00: 300, every 10th slower than 900 ms (10%, against the 5% a p95 of 900 allows)
    events = (restores(400, 12, DAY, 60) + restores(400, 0, DAY + timedelta(hours=1), 60)
              + saves([2000.0 if i % 10 == 0 else 300.0 for i in range(300)], DAY, 120))
    (home / "logs").mkdir()
    (home / "logs" / "e.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    ingest(home, [home / "logs"])
    run_dbt(home, MODELS, select="+metric_confidence_sequences", target_path=tmp_path_factory.mktemp("target"))
    return home


def row(home: Path, metric: str, at: datetime) -> dict:
    con = duckdb.connect(str(warehouse_path(home)), read_only=True)
    try:
        cur = con.execute("select * from marts.metric_confidence_sequences where metric = ? and eval_at = ?",
                          [metric, at])
        names = [d[0] for d in cur.description]
        return dict(zip(names, cur.fetchone()))
    finally:
        con.close()


def test_restores_since_the_phase_started_against_the_reference(built):
    r = row(built, "restore_success_rate", DAY + timedelta(hours=2))
    assert (r["sample_count"], r["breach_count"], r["allowed_share"]) == (800, 12, pytest.approx(0.005))
    assert r["phase_started_at"] == DAY
    expected = seq.log_evidence(12, 800, 0.005, seq.threshold_prior(0.005))
    assert r["log_evidence"] == pytest.approx(expected, rel=1e-9)
    assert r["is_breach_certain"] == seq.excludes_above(12, 800, 0.005, ALPHA)
    assert (r["lower_bound"], r["upper_bound"]) == pytest.approx(seq.rate_cs(12, 800, ALPHA), abs=1e-9)


def test_a_known_answer(built):
    # 12 failures of 400 by 01:00 (3%, six times the 0.5% allowed): certain at alpha 0.0045
    r = row(built, "restore_success_rate", DAY + timedelta(hours=1))
    assert (r["sample_count"], r["breach_count"]) == (400, 12)
    assert r["is_breach_certain"] is True
    assert r["log_evidence"] > math.log(1 / ALPHA)
    assert r["lower_bound"] > 0.005


def test_the_p95_stream_counts_saves_above_the_critical_level(built):
    r = row(built, "autosave_p95", DAY + timedelta(hours=2))
    assert (r["sample_count"], r["breach_count"], r["breach_level"], r["allowed_share"]) == (300, 30, 900, 0.05)
    assert r["is_breach_certain"] == seq.excludes_above(30, 300, 0.05, ALPHA)
    durations = [2000.0 if i % 10 == 0 else 300.0 for i in range(300)]
    assert (seq.quantile_cs(durations, 0.95, ALPHA)[0] > 900) == r["is_breach_certain"]
