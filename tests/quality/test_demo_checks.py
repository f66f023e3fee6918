"""On the demo's rollout: `audit replay` confirms every entry of its audit log, and a backtest shows the regression's
rollback disappear under loosened seeds (`never`) and come earlier under tightened ones (`earlier`, at the grid time an
oracle over the production marts names)."""
from __future__ import annotations

import json

import duckdb
import pytest
from click.testing import CliRunner

from ingest.warehouse import warehouse_path
from rolloutctl.cli import cli
from rolloutctl.core.layout import PROJECT_DIR
from rolloutctl.core.timestamps import iso_z, parse_utc
from rolloutctl.governance import ledger
from tests.support.tiers import LONG

pytestmark = pytest.mark.xdist_group("demo")   # the session's demo rollout (tests/conftest.py)




def seed(tmp_path, name: str, old: str, new: str):
    text = (PROJECT_DIR / "governance" / f"{name}.csv").read_text()
    assert old in text
    path = tmp_path / f"{name}.csv"
    path.write_text(text.replace(old, new))
    return str(path)


def backtest(home, *args) -> dict:
    result = CliRunner().invoke(cli, ["--home", str(home), "backtest", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.scaled
def test_audit_replay_confirms_every_entry(demo):
    """Long tier: every entry (`--all`); fast tier: the rollback's entry, the one whose replay is hardest."""
    entries = ledger.read(demo.home)
    if LONG:
        args = ["--all"]
    else:
        args = [next(e.id for e in entries if e.action == "rollback")]
    result = CliRunner().invoke(cli, ["--home", str(demo.home), "audit", "replay", *args, "--json"])
    assert result.exit_code == 0, result.output
    replays = json.loads(result.stdout)["replays"]
    expected = [e.id for e in entries] if LONG else args
    assert [r["ledger_entry"] for r in replays] == expected
    assert {r["status"] for r in replays} == {"same"}
    assert any(r["action"] == "rollback" for r in replays)


def test_loosened_seeds_make_the_regression_rollback_disappear(demo, tmp_path):
    rollback = next(e for e in ledger.read(demo.home) if e.action == "rollback")
    rules = seed(tmp_path, "gate_rules",
                 "A-2,a2_rollback_breach_hours,rollback,daily_breach_hours,autosave_p95,all,1h,,>=,3,",
                 "A-2,a2_rollback_breach_hours,rollback,daily_breach_hours,autosave_p95,all,1h,,>=,8,")
    thresholds = seed(tmp_path, "metric_thresholds", "autosave_p95,all,1h,above,700,900,",
                      "autosave_p95,all,1h,above,700,4000,")
    doc = backtest(demo.home, "--rules", rules, "--thresholds", thresholds)
    episode = regression_episode(doc, rollback)
    assert (episode["candidate_first_at"], episode["change"]) == (None, "never")
    assert "a2_rollback_p95_critical" in episode["current_rule_ids"]
    assert all(r["change"] == "same" for r in doc["rollbacks"] if r is not episode)


TIGHT_P95_CRITICAL = 575     # ms: inside the tail of A-2's healthy hours (their 1 h p95 reaches about 580 ms)


def regression_episode(doc: dict, rollback) -> dict:
    """The backtest episode the gate rolled back in (it acted at the end of that day)."""
    (episode,) = [r for r in doc["rollbacks"] if r["phase"] == rollback.phase_from and r["current_first_at"]
                  and r["current_first_at"] <= rollback.timestamp <= r["current_last_at"]]
    return episode


def expected_onset(home, phase: str, episode: dict, critical: float) -> str:
    """Oracle, from the production marts: a threshold change alters only the metric_critical rollback rules, so the
    candidate rolls back where the current rules do or where the 1 h save p95 (with its 20 samples) is above the
    new critical level. The episode's candidate onset is the first such grid time after the previous episode of
    current rollbacks ended, up to this one's end."""
    con = duckdb.connect(str(warehouse_path(home)), read_only=True)
    try:
        rows = con.execute("""
            select d.eval_at, d.decision = 'rollback', coalesce(s.value > ? and s.sample_count >= 20, false)
            from marts.gate_decisions as d
            left join marts.metric_status as s
                on s.phase = d.phase and s.eval_at = d.eval_at
                and s.metric = 'autosave_p95' and s.dimension = 'all' and s."window" = '1h'
            where d.phase = ?
            order by d.eval_at""", [critical, phase]).fetchall()
    finally:
        con.close()
    first = next(i for i, (t, *_) in enumerate(rows) if iso_z(t) == episode["current_first_at"])
    last = next(i for i, (t, *_) in enumerate(rows) if iso_z(t) == episode["current_last_at"])
    after = max((i for i in range(first) if rows[i][1]), default=-1)      # the previous episode's last rollback
    return next(iso_z(t) for t, current, breach in rows[after + 1:last + 1] if current or breach)


def test_tightened_seeds_roll_back_earlier(demo, tmp_path):
    rollback = next(e for e in ledger.read(demo.home) if e.action == "rollback")
    thresholds = seed(tmp_path, "metric_thresholds", "autosave_p95,all,1h,above,700,900,",
                      f"autosave_p95,all,1h,above,500,{TIGHT_P95_CRITICAL},")
    doc = backtest(demo.home, "--thresholds", thresholds)
    episode = regression_episode(doc, rollback)
    onset = expected_onset(demo.home, rollback.phase_from, episode, TIGHT_P95_CRITICAL)
    assert onset < episode["current_first_at"]               # the regression's rollback comes earlier, exactly then
    shift = int((parse_utc(onset) - parse_utc(episode["current_first_at"])).total_seconds() // 60)
    assert (episode["change"], episode["candidate_first_at"], episode["shift_minutes"]) == ("earlier", onset, shift)
    assert episode["current_rule_ids"] == episode["candidate_rule_ids"] == ["a2_rollback_p95_critical"]
    # every other episode of the phase follows the same oracle
    for r in doc["rollbacks"]:
        if r["phase"] == rollback.phase_from and r["current_first_at"]:
            assert r["candidate_first_at"] == expected_onset(demo.home, r["phase"], r, TIGHT_P95_CRITICAL), r
