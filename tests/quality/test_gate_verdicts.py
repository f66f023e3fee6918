"""marts.gate_verdicts and `rolloutctl gate`: promotion only on final grid times and clean data; rollback acts on a
grid time that is not final yet, and whatever the data quality; marts.gate_decisions stays the rules' verdict."""
from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from test_data_quality import duplicate_an_event_id

from ingest.warehouse import warehouse_path
from rolloutctl.cli import cli
from tests.support.verdict_home import ingest_bad_lines

pytestmark = pytest.mark.xdist_group("verdict")   # one worker builds verdict_built (conftest.py)

DUPLICATE_TEST = "source_unique_raw_events_event_id"


@pytest.fixture
def home(verdict_copy) -> Path:
    return verdict_copy


def gate(home: Path, *args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(cli, ["--home", str(home), "gate", "--json", *args])
    assert result.exit_code in (0, 3, 4), result.output
    return result.exit_code, json.loads(result.stdout)


def verdict(home: Path, phase: str, hh_mm: str) -> dict:
    con = duckdb.connect(str(warehouse_path(home)), read_only=True)
    try:
        cur = con.execute("""select v.*, d.decision as gate_decisions_decision from marts.gate_verdicts v
                             join marts.gate_decisions d using (phase, eval_at)
                             where v.phase = ? and strftime(v.eval_at, '%H:%M') = ?""", [phase, hh_mm])
        return dict(zip([c[0] for c in cur.description], cur.fetchone()))
    finally:
        con.close()


def test_a_grid_time_that_is_not_final_holds_what_the_rules_promote(verdict_built):
    v = verdict(verdict_built, "B-0", "02:15")
    assert (v["gate_decisions_decision"], v["rules_decision"]) == ("promote", "promote")
    assert (v["decision"], v["reason"], v["differs_because"], v["is_final"]) == ("hold", "not_final",
                                                                                  ["not_final"], False)
    assert v["next_phase"] is None and v["deciding_rule_ids"] == []
    final = verdict(verdict_built, "B-0", "01:45")
    assert (final["decision"], final["is_final"], final["differs_because"]) == ("promote", True, [])


def test_the_gate_promotes_on_the_latest_final_grid_time(home):
    code, doc = gate(home, "--no-build", "--phase", "B-0")
    assert code == 0
    assert (doc["phase"], doc["decision"], doc["next_phase"]) == ("B-0", "promote", "B-1")
    assert doc["eval_at"] == "2026-03-01T01:45:00Z"
    assert doc["finality"] == {"is_final": True, "latest_eval_at": "2026-03-01T02:15:00Z",
                               "watermark_at": "2026-03-01T02:00:00Z", "final_until": "2026-03-01T01:55:00Z"}
    assert {w["feature"]: w["watermark_at"] for w in doc["watermarks"]} == {
        "autosave": "2026-03-01T10:00:00Z", "merge": "2026-03-01T02:00:00Z", "qa": "2026-03-01T00:10:00Z"}
    assert doc["data_quality"]["ok"] is True and doc["data_quality"]["failing_tests"] == []
    assert doc["rules_decision"] == "promote" and doc["differs_because"] == []


def test_a_rollback_acts_on_a_grid_time_that_is_not_final(home):
    code, doc = gate(home, "--no-build", "--phase", "A-1")
    assert code == 3
    assert (doc["decision"], doc["eval_at"], doc["rollback_to"]) == ("rollback", "2026-03-01T10:15:00Z", "A-0")
    assert doc["finality"]["is_final"] is False                      # autosave is at 10:00
    assert "a1_rollback_p95_1h" in doc["deciding_rule_ids"]


def test_too_many_rejects_hold_promotion_but_not_rollback(home):
    ingest_bad_lines(home, 10)                                        # 10 of 333 lines: 3% > 1%
    code, doc = gate(home)                                            # with the build
    assert (code, doc["decision"], doc["reason"]) == (0, "hold", "data_quality")
    assert doc["rules_decision"] == "promote" and doc["differs_because"] == ["data_quality"]
    dq = doc["data_quality"]
    assert (dq["ok"], dq["rejected_lines"], dq["ingested_lines"]) == (False, 10, 333)
    report = (home / doc["report"]).read_text()
    assert "reject share 3.00% (10 of 333 lines" in report
    code, doc = gate(home, "--no-build", "--phase", "A-1")
    assert (code, doc["decision"]) == (3, "rollback")


def test_a_failing_data_test_holds_promotion_naming_it(home):
    duplicate_an_event_id(home)                 # a new row repeating an event_id (tests/quality/test_data_quality)
    result = CliRunner().invoke(cli, ["--home", str(home), "gate"])   # the build fails a test; the gate answers
    assert result.exit_code == 0, result.output
    assert "A-0 at 2026-03-01T06:15:00Z: HOLD (data quality)" in result.stdout
    assert f"data tests failing: {DUPLICATE_TEST}" in result.stdout
    code, doc = gate(home, "--no-build")
    assert doc["data_quality"]["failing_tests"] == [DUPLICATE_TEST]
    assert f"`{DUPLICATE_TEST}`" in (home / doc["report"]).read_text()
    code, doc = gate(home, "--no-build", "--phase", "A-1")
    assert (code, doc["decision"]) == (3, "rollback")


def test_the_report_shows_watermarks_and_finality(home):
    code, doc = gate(home, "--no-build", "--phase", "B-0")
    text = (home / doc["report"]).read_text()
    assert "## Data: watermark, finality, quality" in text
    assert "| merge | 2026-03-01T02:00:00Z | 5 min | yes | 2026-03-01T01:55:00Z |" in text
    assert "2026-03-01T02:15:00Z is not final yet: acting on 2026-03-01T01:45:00Z" in text
