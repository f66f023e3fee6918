"""On the demo's rollout: `audit replay` confirms every entry of its audit log, and a backtest shows the regression's
rollback disappear under loosened seeds and a rollback come earlier under tightened ones."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from rolloutctl import ledger
from rolloutctl.build import PROJECT_DIR
from rolloutctl.cli import cli
from rolloutctl.demo import run_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return run_demo(tmp_path_factory.mktemp("demo") / "home", days=10, events_per_day=30_000, step_hours=24)


def seed(tmp_path, name: str, old: str, new: str):
    text = (PROJECT_DIR / "seeds" / f"{name}.csv").read_text()
    assert old in text
    path = tmp_path / f"{name}.csv"
    path.write_text(text.replace(old, new))
    return str(path)


def backtest(home, *args) -> dict:
    result = CliRunner().invoke(cli, ["--home", str(home), "backtest", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_audit_replay_confirms_every_entry(demo):
    result = CliRunner().invoke(cli, ["--home", str(demo.home), "audit", "replay", "--all", "--json"])
    assert result.exit_code == 0, result.output
    replays = json.loads(result.stdout)["replays"]
    assert [r["ledger_entry"] for r in replays] == [e.id for e in ledger.read(demo.home)]
    assert {r["status"] for r in replays} == {"same"}
    assert any(r["action"] == "rollback" for r in replays)


def test_loosened_seeds_make_the_regression_rollback_disappear(demo, tmp_path):
    rollback = next(e for e in ledger.read(demo.home) if e.action == "rollback")
    rules = seed(tmp_path, "gate_rules", "A-2,a2_rollback_breach_hours,rollback,daily_breach_hours,autosave_p95,all,1h,,>=,3,",
                 "A-2,a2_rollback_breach_hours,rollback,daily_breach_hours,autosave_p95,all,1h,,>=,8,")
    thresholds = seed(tmp_path, "metric_thresholds", "autosave_p95,all,1h,above,700,900,",
                      "autosave_p95,all,1h,above,700,4000,")
    doc = backtest(demo.home, "--rules", rules, "--thresholds", thresholds)
    # the episode the gate rolled back in (it acted at the end of that day)
    (episode,) = [r for r in doc["rollbacks"] if r["phase"] == rollback.phase_from and r["current_first_at"]
                  and r["current_first_at"] <= rollback.timestamp <= r["current_last_at"]]
    assert (episode["candidate_first_at"], episode["change"]) == (None, "never")
    assert "a2_rollback_p95_critical" in episode["current_rule_ids"]
    assert all(r["change"] == "same" for r in doc["rollbacks"] if r is not episode)


def test_tightened_seeds_roll_back_earlier(demo, tmp_path):
    thresholds = seed(tmp_path, "metric_thresholds", "autosave_p95,all,1h,above,700,900,",
                      "autosave_p95,all,1h,above,500,580,")
    doc = backtest(demo.home, "--thresholds", thresholds)
    earlier = [r for r in doc["rollbacks"] if r["change"] == "earlier"]
    assert earlier and all(r["shift_minutes"] < 0 for r in earlier)
    assert all(r["change"] in ("same", "earlier", "new") for r in doc["rollbacks"])
