"""`rolloutctl backtest`: the gate over past data with other seeds, in a scratch warehouse, compared with the current
rules per phase and per rollback; the result is also a DuckDB file for analysts."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from ingest.warehouse import warehouse_path
from rolloutctl.cli import cli
from rolloutctl.core.layout import PROJECT_DIR

pytestmark = pytest.mark.xdist_group("verdict")   # one worker builds verdict_built (conftest.py)

RULES = PROJECT_DIR / "governance" / "gate_rules.csv"
THRESHOLDS = PROJECT_DIR / "governance" / "metric_thresholds.csv"
P95_1H = "A-1,a1_rollback_p95_1h,rollback,metric_value,autosave_p95,all,1h,,>,2500,"


@pytest.fixture
def home(verdict_copy) -> Path:
    return verdict_copy


def seed_file(tmp_path: Path, source: Path, old: str, new: str) -> Path:
    text = source.read_text()
    assert old in text
    path = tmp_path / f"candidate-{source.name}"
    path.write_text(text.replace(old, new))
    return path


def backtest(home: Path, *args) -> dict:
    result = CliRunner().invoke(cli, ["--home", str(home), "backtest", "--json", *map(str, args)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def a1(doc: dict) -> tuple[dict, list[dict]]:
    return (next(p for p in doc["phases"] if p["phase"] == "A-1"),
            [r for r in doc["rollbacks"] if r["phase"] == "A-1"])


def test_the_current_rules_change_nothing(home):
    doc = backtest(home, "--rules", RULES, "--thresholds", THRESHOLDS)
    assert doc["changed"] == 0
    assert all(p["changed"] == 0 and p["transitions"] == {} for p in doc["phases"])
    phase, rollbacks = a1(doc)
    assert phase["grid_times"] == 9 and phase["current_rollbacks"] == phase["candidate_rollbacks"] == 5
    assert [(r["current_first_at"], r["candidate_first_at"], r["change"]) for r in rollbacks] == [
        ("2026-03-01T09:15:00Z", "2026-03-01T09:15:00Z", "same")]
    assert all(s["current"] == s["candidate"] for s in doc["seeds"].values())


def test_a_loosened_rule_makes_the_rollback_disappear(home, tmp_path):
    rules = seed_file(tmp_path, RULES, P95_1H + "20", P95_1H.replace("2500", "5000") + "20")
    thresholds = seed_file(tmp_path, THRESHOLDS, "autosave_p95,all,1h,above,700,900,",
                           "autosave_p95,all,1h,above,700,5000,")
    doc = backtest(home, "--rules", rules, "--thresholds", thresholds)
    phase, rollbacks = a1(doc)
    assert (phase["changed"], phase["transitions"]) == (5, {"rollback→hold": 5})
    assert [(r["current_first_at"], r["candidate_first_at"], r["change"]) for r in rollbacks] == [
        ("2026-03-01T09:15:00Z", None, "never")]
    assert doc["seeds"]["gate_rules"]["current"] != doc["seeds"]["gate_rules"]["candidate"]


def test_a_tightened_rule_rolls_back_earlier(home, tmp_path):
    rules = seed_file(tmp_path, RULES, P95_1H + "20", P95_1H.replace("2500", "250") + "20")
    doc = backtest(home, "--rules", rules)
    (r,) = a1(doc)[1]
    assert (r["current_first_at"], r["candidate_first_at"], r["change"], r["shift_minutes"]) == (
        "2026-03-01T09:15:00Z", "2026-03-01T08:45:00Z", "earlier", -30)   # 300 ms saves, from 20 samples on
    assert r["candidate_rule_ids"] == ["a1_rollback_p95_1h"]
    assert a1(doc)[0]["transitions"] == {"hold→rollback": 2}


def test_the_result_is_a_table_and_production_is_untouched(home, tmp_path):
    before = hashlib.sha256(warehouse_path(home).read_bytes()).hexdigest()
    rules = seed_file(tmp_path, RULES, P95_1H + "20", P95_1H.replace("2500", "250") + "20")
    doc = backtest(home, "--rules", rules, "--from", "2026-03-01T08:30:00Z", "--to", "2026-03-01T09:30:00Z")
    assert hashlib.sha256(warehouse_path(home).read_bytes()).hexdigest() == before
    assert not list((home / "warehouse" / "scratch").iterdir())
    con = duckdb.connect(str(home / doc["file"]), read_only=True)
    try:
        changed = con.execute("""select phase, strftime(eval_at, '%H:%M'), current_decision, candidate_decision
                                 from backtest.decisions where is_changed order by eval_at""").fetchall()
        assert changed == [("A-1", "08:45", "hold", "rollback"), ("A-1", "09:00", "hold", "rollback")]
        times = con.execute("select min(eval_at), max(eval_at) from backtest.decisions").fetchone()
        assert [t.strftime("%H:%M") for t in times] == ["08:30", "09:30"]          # --from / --to
        assert con.execute("select change from backtest.rollbacks").fetchall() == [("earlier",)]
        runs = dict(con.execute("select seed, candidate_file from backtest.runs").fetchall())
        assert runs["gate_rules"] == str(rules) and runs["metric_thresholds"] is None
        assert con.execute("select threshold from backtest.candidate_gate_rules "
                           "where rule_id = 'a1_rollback_p95_1h'").fetchone() == (250.0,)
    finally:
        con.close()


def test_the_text_output_names_the_changes(home, tmp_path):
    rules = seed_file(tmp_path, RULES, P95_1H + "20", P95_1H.replace("2500", "250") + "20")
    result = CliRunner().invoke(cli, ["--home", str(home), "backtest", "--rules", str(rules)])
    assert result.exit_code == 0, result.output
    assert "A-1             9        2  hold→rollback 2" in result.output
    assert ("  A-1  current 2026-03-01T09:15:00Z  candidate 2026-03-01T08:45:00Z  earlier (-30 min)  "
            "[a1_rollback_p95_1h]") in result.output


def test_a_broken_rules_file_is_refused(home, tmp_path):
    rules = seed_file(tmp_path, RULES, P95_1H, P95_1H.replace("A-1,a1_rollback", "Z-9,a1_rollback"))
    result = CliRunner().invoke(cli, ["--home", str(home), "backtest", "--rules", str(rules)])
    assert result.exit_code == 1
    assert "the candidate seeds" in result.output and "Z-9" in result.output
    not_rules = tmp_path / "x.csv"
    not_rules.write_text("a,b\n1,2\n")
    result = CliRunner().invoke(cli, ["--home", str(home), "backtest", "--rules", str(not_rules)])
    assert result.exit_code == 1 and "not a gate_rules seed: missing column(s) phase" in result.output
    result = CliRunner().invoke(cli, ["--home", str(home), "backtest"])
    assert result.exit_code == 2 and "give --rules FILE and/or --thresholds FILE" in result.output
