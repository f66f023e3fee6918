"""marts.metric_control_comparisons: the treatment against a control cohort running at the same time, from the pairs
of each 15-minute bucket (rates) and two quantile sequences (the p95), against the reference
(rolloutctl/decision/sequential.py) on known answers; no control, no verdict; and the seed's metrics read the
treatment only."""
from __future__ import annotations

import json
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
ALPHA = 0.00238


def stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def restore(at: datetime, ok: bool, cohort: str | None, phase: str = "A-1") -> dict:
    e = {"event": "autosave.restore.result", "ts": stamp(at), "phase": phase, "feature": "autosave", "success": ok,
         "source": "current", "duration_ms": 40}
    if cohort:
        e["cohort"] = cohort
    return e if ok else {**e, "retryable": False}


def save(at: datetime, duration: float, cohort: str) -> dict:
    return {"event": "autosave.save.completed", "ts": stamp(at), "phase": "A-1", "feature": "autosave",
            "duration_ms": duration, "retry_count": 0, "bytes": 10, "cohort": cohort}


def events() -> list[dict]:
    out = []
    # A-1, 00:00–01:00, four buckets of 30 restores per cohort, paired in time order. The treatment fails its first
    # six of each bucket; the control its first in bucket 0 (a pair where both failed: not counted) and its 11th in
    # bucket 1 (a control-only pair). By 01:00: 23 treatment-only pairs, 1 control-only, 120 pairs.
    for b in range(4):
        for i in range(30):
            at = DAY + timedelta(minutes=15 * b, seconds=20 * i + 5)
            out.append(restore(at, i >= 6, "treatment"))
            out.append(restore(at + timedelta(seconds=1), (b, i) not in ((0, 0), (1, 10)), "control"))
    # saves 00:00–01:00: 500 per cohort; the treatment's every 5th at 1,000 ms (above 600, 700 and 800), the control's
    # all at 300 ms
    for i in range(500):
        at = DAY + timedelta(seconds=7.2 * i)
        out.append(save(at, 1000.0 if i % 5 == 0 else 300.0, "treatment"))
        out.append(save(at + timedelta(milliseconds=500), 300.0, "control"))
    # A-2 (from 02:00): restores of the treatment only, no cohort property at all
    out += [restore(DAY + timedelta(hours=2, seconds=30 * i), i % 2 == 0, None, "A-2") for i in range(100)]
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("control")
    (home / "logs").mkdir()
    (home / "logs" / "e.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events()))
    ingest(home, [home / "logs"])
    run_dbt(home, MODELS, select="+metric_control_comparisons +metrics_windowed",
            target_path=tmp_path_factory.mktemp("target"))
    return home


def query(home: Path, sql: str, params: list) -> list[dict]:
    con = duckdb.connect(str(warehouse_path(home)), read_only=True)
    try:
        cur = con.execute(sql, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        con.close()


def comparison(home: Path, phase: str, metric: str, at: datetime) -> dict:
    rows = query(home, "select * from marts.metric_control_comparisons where phase = ? and metric = ? "
                       "and eval_at = ?", [phase, metric, at])
    assert len(rows) == 1
    return rows[0]


def test_restore_pairs_against_the_reference(built):
    r = comparison(built, "A-1", "restore_success_rate", DAY + timedelta(hours=1))
    assert (r["pair_count"], r["treatment_only_pairs"], r["control_only_pairs"]) == (120, 23, 1)
    assert r["has_control"] is True
    assert r["is_treatment_worse"] is True and seq.pairs_worse(23, 1, ALPHA)
    # after the first bucket: 5 treatment-only pairs are not yet enough at this alpha
    first = comparison(built, "A-1", "restore_success_rate", DAY + timedelta(minutes=15))
    assert (first["pair_count"], first["treatment_only_pairs"], first["control_only_pairs"]) == (30, 5, 0)
    assert first["is_treatment_worse"] is False and not seq.pairs_worse(5, 0, ALPHA)


def test_the_p95_comparison_against_the_reference(built):
    r = comparison(built, "A-1", "autosave_p95", DAY + timedelta(hours=1))
    assert (r["treatment_count"], r["control_count"]) == (500, 500)
    # 100 of the treatment's 500 above each level, none of the control's
    assert r["is_treatment_worse"] is seq.p95_worse([(100, 500)] * 3, [(0, 500)] * 3, ALPHA) is True
    # after the first bucket (125 each) the control's p95 is not yet certainly below 600 ms: no verdict yet
    first = comparison(built, "A-1", "autosave_p95", DAY + timedelta(minutes=15))
    assert (first["treatment_count"], first["control_count"]) == (125, 125)
    assert first["is_treatment_worse"] is seq.p95_worse([(25, 125)] * 3, [(0, 125)] * 3, ALPHA) is False


def test_no_control_cohort_no_verdict(built):
    r = comparison(built, "A-2", "restore_success_rate", DAY + timedelta(hours=3))
    assert r["has_control"] is False and r["is_treatment_worse"] is None
    assert r["pair_count"] == 0


def test_the_seeds_metrics_read_the_treatment_only(built):
    # restore success over the 24 h window at 01:00: the treatment's 120 restores, 24 of them failed
    rows = query(built, "select * from marts.metrics_windowed where phase = 'A-1' and metric = "
                        "'restore_success_rate' and dimension = 'overall' and \"window\" = '24h' and eval_at = ?",
                 [DAY + timedelta(hours=1)])
    assert len(rows) == 1
    assert rows[0]["sample_count"] == 120
    assert rows[0]["value"] == pytest.approx(96 / 120)
