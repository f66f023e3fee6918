"""Replayable verdicts: each action records the seeds, version and raw counts it was decided on, and
`rolloutctl audit replay` recomputes the decision in a scratch warehouse and says same, or what differs."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.loader import ingest
from ingest.warehouse import connect
from rolloutctl.cli import cli
from rolloutctl.governance import actions, audit
from rolloutctl.verification import replay
from rolloutctl.verification.scratch import DECISION_SEEDS, seed_hashes
from tests.support.gate_support import promoted_to
from tests.support.verdict_home import write_events

pytestmark = pytest.mark.xdist_group("replay")   # one worker builds the module's fixture, once


def run(home: Path, *args: str):
    return CliRunner().invoke(cli, ["--home", str(home), *args])


@pytest.fixture(scope="module")
def applied(tmp_path_factory) -> Path:
    """The verdict rollout with two gate actions: A-0 → A-1 (promote at 06:15), then A-1 → A-0 (rollback at
    10:15, on a grid time that is not final)."""
    home = tmp_path_factory.mktemp("replay") / "home"
    home.mkdir()
    ingest(home, [write_events(home)])
    first = actions.gate(home, apply=True, executor="bot")
    second = actions.gate(home, apply=True, executor="bot")
    assert (first.applied.action, second.applied.action) == ("promote", "rollback")
    return home


@pytest.fixture
def home(applied, tmp_path) -> Path:
    copy = tmp_path / "home"
    shutil.copytree(applied, copy)
    return copy


def test_actions_record_what_they_were_decided_on(applied):
    lines, _ = audit.read_lines(applied)
    rec = lines[0].record
    assert rec["seeds"] == seed_hashes() and set(rec["seeds"]) == set(DECISION_SEEDS)
    assert rec["project_version"] == "0.1.0"
    assert rec["raw_event_counts"] == {"A-0": 181, "A-1": 0, "A-2": 0, "B-0": 81, "B-1": 0}   # before 06:15
    assert rec["verdict"]["decision"] == "promote" and rec["verdict"]["eval_at"] == "2026-03-01T06:15:00Z"
    assert rec["verdict"]["rules"]["a0_promote_no_review"] == {"status": "passed", "value": 0.0}
    assert lines[1].record["verdict"]["is_final"] is False                       # the rollback at 10:15
    for name, sha in rec["seeds"].items():                                       # a copy of each seed is kept
        assert (applied / "governance" / "seeds" / f"{name}-{sha}.csv").exists()
    analyzer = json.loads((applied / rec["metrics_file"]).read_text())
    assert analyzer["seeds"] == rec["seeds"] and analyzer["raw_event_counts"] == rec["raw_event_counts"]
    assert audit.verify(applied) == []


def test_replay_confirms_every_line(home):
    result = run(home, "audit", "replay", "--all", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["same"] is True
    assert [(r["ledger_entry"], r["status"]) for r in doc["replays"]] == [("L0001", "same"), ("L0002", "same")]
    assert not list((home / "warehouse" / "scratch").iterdir())                  # scratch removed


def test_events_removed_after_the_decision_are_named(home):
    con = connect(home)
    con.execute("delete from raw.events where phase = 'A-1' and event_at >= '2026-03-01T09:30:00Z' "
                "and event_at < '2026-03-01T09:50:00Z'")
    con.close()
    result = run(home, "audit", "replay", "L0002")
    assert result.exit_code == 1
    assert "✗ governance/audit/phase_rollout/" in result.stdout and ": rollback L0002 A-1 at " in result.stdout
    assert "raw.events of A-1 before T: recorded 61, replayed 51" in result.stdout
    assert "metric autosave_p95 all 1h sample_count: recorded 23, replayed 13" in result.stdout
    assert "rule a1_rollback_p95_1h status: recorded fired, replayed insufficient_data" in result.stdout


def test_late_events_are_noted_not_replayed(home):
    late = {"event": "autosave.save.completed", "ts": "2026-03-01T09:50:00Z", "phase": "A-1",
            "feature": "autosave", "duration_ms": 100, "retry_count": 0, "bytes": 1}
    path = home / "logs" / "late.jsonl"
    path.write_text(json.dumps(late) + "\n")
    ingest(home, [path])
    r = replay.replay(home, "2")                                                 # by seq
    assert r.same is True
    assert "1 event(s) of A-1 before T arrived after the decision (not part of it, not replayed)" in r.notes


def test_a_line_recorded_without_its_inputs_is_not_replayable(tmp_path):
    home = tmp_path / "home"
    promoted_to(home, "A-1")                       # recorded without an evaluation to replay
    result = run(home, "audit", "replay", "L0001")
    assert result.exit_code == 1
    assert ": promote L0001: not replayable" in result.stdout
    assert "not replayable: the line records no seeds" in result.output


def test_an_unknown_line_is_a_usage_error(home):
    result = run(home, "audit", "replay", "L0099")
    assert result.exit_code == 2
    assert "no audit line 'L0099'" in result.output
    assert run(home, "audit", "replay").exit_code == 2
