"""`rolloutctl gate`, `promote`, `rollback` and `report` on the hand-made rollout: exit codes, the --json shape,
what --apply writes, the manual path (refusal, --force recorded), the RCA block, usage errors."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from rolloutctl.cli import cli
from rolloutctl.governance import audit, flags, ledger, notify
from rolloutctl.warehouse import refresh
from tests.support.gate_scenarios import write_rca
from tests.support.gate_support import promoted_to
from tests.support.http_receiver import http_receiver

pytestmark = pytest.mark.xdist_group("scenario")   # one worker builds the scenario (conftest.py)

SPEC_KEYS = {"phase", "eval_at", "decision", "next_phase", "rollback_to", "rules", "metrics_file", "metrics_sha256",
             "report"}
RULE_KEYS = {"rule_id", "kind", "value", "threshold", "comparator", "fired", "status"}


@pytest.fixture
def home(scenario_home, tmp_path) -> Path:
    """A copy of the built scenario (current phase A-2, entered 2026-01-26T00:00; A-1 waits for RCA L0001)."""
    copy = tmp_path / "home"
    shutil.copytree(scenario_home, copy)
    return copy


def run(home, *args, env=None):
    result = CliRunner().invoke(cli, ["--home", str(home), *args], env=env)
    return result


@pytest.mark.parametrize("phase,at,decision,code", [
    ("A-1", "2026-01-10T01:00:00Z", "rollback", 3),
    ("A-0", "2026-01-01T03:00:00Z", "review", 4),
    ("A-0", "2026-01-01T02:00:00Z", "promote", 0),
    ("A-1", "2026-01-16T00:30:00Z", "hold", 0),
])
def test_exit_status_follows_the_decision(home, phase, at, decision, code):
    result = run(home, "gate", "--no-build", "--phase", phase, "--at", at, "--json")
    assert result.exit_code == code, result.output
    doc = json.loads(result.output)
    assert doc["decision"] == decision
    assert SPEC_KEYS <= set(doc)
    assert all(set(r) == RULE_KEYS for r in doc["rules"])


def test_gate_every_prints_a_json_line_per_cycle_and_exits_with_the_last_ones_status(home):
    result = run(home, "gate", "--every", "0s", "--cycles", "2", "--no-build", "--json")
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["cycle"] for line in lines] == [0, 1]
    assert all(SPEC_KEYS <= set(line) for line in lines)
    assert [(line["phase"], line["eval_at"], line["decision"]) for line in lines] == \
        [("A-2", "2026-01-26T01:00:00Z", "hold")] * 2
    assert result.exit_code == lines[1]["exit_code"] == 0


def test_gate_json_writes_the_analyzer_output_and_report(home):
    result = run(home, "gate", "--no-build", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    # the ledger's phase (A-2, entered 2026-01-26) at its latest evaluation: restore_qa has a failing 13th case
    assert (doc["phase"], doc["eval_at"], doc["decision"]) == ("A-2", "2026-01-26T01:00:00Z", "hold")
    assert doc["next_phase"] is None and doc["rollback_to"] is None
    assert doc["metrics_file"] == "metrics/autosave_merge/2026-01-26.json"
    assert audit.sha256_file(home / doc["metrics_file"]) == doc["metrics_sha256"]
    analyzer = json.loads((home / doc["metrics_file"]).read_text())
    assert analyzer["phase"] == "A-2" and analyzer["date"] == "2026-01-26"
    assert [e["eval_at"] for e in analyzer["evaluations"]][-1] == "2026-01-26T01:00:00Z"
    assert len(analyzer["evaluations"]) == 4
    rows = analyzer["evaluations"][-1]["metrics"]
    assert len(rows) == 42
    p95 = next(m for m in rows if (m["metric"], m["window"]) == ("autosave_p95", "1h"))
    assert (p95["value"], p95["status"], p95["critical_level"]) == (300.0, "ok", 900.0)
    text = (home / doc["report"]).read_text()
    for needle in ("phase A-2", "HOLD", "a2_promote_restore_qa", "/dashboards/autosave-merge", "## QA checklist",
                   "### autosave_p95", "### restore_success_rate", "### merge_auto_success_rate",
                   "## Open incidents", "## Rollbacks", "L0001"):
        assert needle in text, needle


def test_gate_prints_the_decision_with_reasons(home):
    result = run(home, "gate", "--no-build", "--phase", "A-1", "--at", "2026-01-10T01:00:00Z")
    assert result.exit_code == 3
    assert "A-1 at 2026-01-10T01:00:00Z: ROLLBACK → A-0 (rollback rule fired)" in result.output
    assert "a1_rollback_p95_1h" in result.output


def test_usage_errors(home):
    assert run(home, "gate", "--no-build", "--at", "yesterday").exit_code == 2
    result = run(home, "gate", "--no-build", "--apply")
    assert (result.exit_code, result.output.strip()) == (2, "Error: --apply needs --executor NAME (recorded in the "
                                                            "ledger and the audit log)")
    result = run(home, "gate", "--no-build", "--apply", "--executor", "bot", "--phase", "A-0")
    assert (result.exit_code, result.output.strip()) == (2, "Error: --apply acts on the current phase (A-2), "
                                                            "not A-0")
    assert run(home, "gate", "--no-build", "--phase", "A-0", "--at", "2025-01-01T00:00:00Z").exit_code == 2


def test_manual_promote_refuses_unless_forced_and_records_force(home):
    result = run(home, "promote", "--to", "B-0", "--executor", "alice", "--reason", "ship it", "--no-build")
    assert result.exit_code == 1
    assert "the gate says hold for A-2 at 2026-01-26T01:00:00Z (promote_rules_not_met), not promote" in result.output
    assert run(home, "promote", "--to", "B-1", "--executor", "alice", "--reason", "x", "--no-build").exit_code == 1
    result = run(home, "promote", "--to", "B-0", "--executor", "alice", "--reason", "exec call", "--force",
                 "--no-build", "--json")
    assert result.exit_code == 0, result.output
    entry = ledger.read(home)[-1]
    assert (entry.action, entry.phase_from, entry.phase_to, entry.forced, entry.executor) == \
        ("promote", "A-2", "B-0", True, "alice")
    assert entry.timestamp == "2026-01-26T01:00:00Z"
    line = json.loads((home / json.loads(result.output)["applied"]["audit"].split(":")[0]).read_text()
                      .splitlines()[-1])
    assert (line["forced"], line["reason"], line["executor"]) == (True, "exec call", "alice")
    assert flags.verify(home) == []


def test_rollback_then_promotion_waits_for_the_rca(home):
    result = run(home, "rollback", "--to", "A-1", "--executor", "bob", "--reason", "data loss report",
                 "--no-build")
    assert result.exit_code == 0, result.output
    entry = ledger.read(home)[-1]
    assert (entry.action, entry.phase_to, entry.rca_file) == ("rollback", "A-1",
                                                              "reports/rca/2026-01-26-L0003-A-2-to-A-1.md")
    stub = (home / entry.rca_file).read_text()
    assert "rollback_id: L0003" in stub and "status: draft" in stub
    # refused even with --force while the RCA is a draft
    result = run(home, "promote", "--to", "A-2", "--executor", "bob", "--reason", "x", "--force", "--no-build")
    assert result.exit_code == 1
    assert "promotion out of A-1 is blocked until the RCA of each rollback into it is complete" in result.output
    assert "L0001" in result.output and "L0003" in result.output
    write_rca(home, "complete")                       # L0001 (the scenario's earlier rollback)
    path = home / entry.rca_file
    path.write_text(path.read_text().replace("status: draft", "status: complete"))
    result = run(home, "promote", "--to", "A-2", "--executor", "bob", "--reason", "RCA done", "--force",
                 "--no-build")
    assert result.exit_code == 0, result.output
    assert [e.phase_to for e in ledger.read(home)] == ["A-1", "A-2", "A-1", "A-2"]
    # the scenario's own two entries were written by hand, without audit lines; every action here was audited
    assert [str(p) for p in audit.verify(home)] == ["governance/phase-ledger.yaml: entry L0001 has no audit reference",
                                                    "governance/phase-ledger.yaml: entry L0002 has no audit reference"]


def test_apply_rollback_writes_everything_and_notifies(scenario_home, tmp_path, monkeypatch):
    home = tmp_path / "home"
    shutil.copytree(scenario_home, home)
    (home / "governance" / "phase-ledger.yaml").unlink()
    shutil.rmtree(home / "reports" / "rca")
    promoted_to(home, "B-0", start="2026-01-31T00:00:00Z")     # B-0 entered at 2026-02-01T00:00
    refresh.refresh(home)
    monkeypatch.setenv(notify.TIMEOUT_ENV, "2")
    with http_receiver(500, 200) as slack, http_receiver(202) as pd:
        env = {notify.SLACK_URL_ENV: slack.url + "/hooks/secret-slack-path",
               notify.PAGERDUTY_URL_ENV: pd.url + "/v2/enqueue", notify.PAGERDUTY_KEY_ENV: "pd-routing-secret"}
        result = run(home, "gate", "--no-build", "--apply", "--executor", "oncall-bot",
                     "--at", "2026-02-01T02:00:00Z", env=env)
    assert result.exit_code == 3, result.output
    assert "applied: rollback B-0 → A-2 as L0004 by oncall-bot" in result.output
    for secret in ("secret-slack-path", "pd-routing-secret", "127.0.0.1"):
        assert secret not in result.output
    assert len(slack.requests) == 2 and len(pd.requests) == 1
    assert pd.requests[0]["body"]["routing_key"] == "pd-routing-secret"

    entry = ledger.read(home)[-1]
    assert (entry.id, entry.action, entry.phase_from, entry.phase_to, entry.timestamp, entry.trigger_rules) == \
        ("L0004", "rollback", "B-0", "A-2", "2026-02-01T02:00:00Z", ["b0_rollback_merge_rate"])
    queue = json.loads((home / "incident_queue.json").read_text())
    assert [(q["action"], q["id"], [n["status"] for n in q["notifications"]]) for q in queue] == \
        [("notify_rollback", "L0004", ["sent", "sent"])]
    event = json.loads((home / "logs" / "rollout" / "2026-02-01.jsonl").read_text().splitlines()[-1])
    assert (event["event"], event["phase_from"], event["phase_to"], event["trigger_metric"], event["timestamp"]) == \
        ("rollback.executed", "B-0", "A-2", "b0_rollback_merge_rate", "2026-02-01T02:00:00Z")
    assert json.loads((home / flags.FLAG_DEFAULTS_RELPATH).read_text())["phase"] == "A-2"
    assert (home / entry.rca_file).exists()
    assert audit.verify(home) == []
    assert run(home, "audit", "verify").exit_code == 0
    assert "pd-routing-secret" not in "".join(p.read_text() for p in home.rglob("*.json*") if p.is_file())

    # the next gate reads A-2 since its entry: nothing evaluated yet, so nothing is applied
    result = run(home, "gate", "--no-build", "--apply", "--executor", "oncall-bot", "--json")
    doc = json.loads(result.output)
    assert (result.exit_code, doc["phase"], doc["decision"], doc["reason"], doc["applied"]) == \
        (0, "A-2", "hold", "awaiting_data", None)


def test_apply_promote_and_the_ledger_sets_the_next_phase(scenario_home, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(scenario_home, home)
    (home / "governance" / "phase-ledger.yaml").unlink()
    refresh.refresh(home)
    result = run(home, "gate", "--no-build", "--apply", "--executor", "bot", "--json")
    doc = json.loads(result.output)
    assert (result.exit_code, doc["phase"], doc["eval_at"], doc["decision"]) == \
        (0, "A-0", "2026-01-02T01:00:00Z", "promote")
    applied = doc["applied"]
    assert (applied["action"], applied["ledger_entry"]["phase_to"]) == ("promote", "A-1")
    snapshot = home / applied["ledger_entry"]["metrics_file"]
    assert audit.sha256_file(snapshot) == applied["ledger_entry"]["metrics_sha256"]
    assert flags.resolve(home, env={}).phase == "A-1"


def test_report_rerenders_a_day(home):
    assert run(home, "gate", "--no-build").exit_code == 0
    path = home / "reports" / "rollout" / "2026-01-20.md"
    assert not path.exists()
    result = run(home, "report", "--date", "2026-01-20", "--phase", "A-2")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "reports/rollout/2026-01-20.md"
    assert "ROLLBACK" in path.read_text()
    assert run(home, "report", "--date", "2026-13-45").exit_code == 2
    # B-1's day with the incidents: the sev1 declared at 05:00 is open in the 24 h before the day's last T
    assert run(home, "report", "--date", "2026-02-10", "--phase", "B-1").exit_code == 0
    text = (home / "reports" / "rollout" / "2026-02-10.md").read_text()
    assert "2026-02-10T05:00:00Z — **sev1**" in text and "2026-02-10T03:00:00Z — **sev2**" in text
    assert "- [x] `b1_promote_release_notes`" in text
