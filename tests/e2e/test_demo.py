"""The demo runs a rollout end to end: promotions, a rollback on the regression, an RCA, a re-promotion, and an
audit log that verifies — and stops verifying once a line is edited."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from rolloutctl.cli import cli

# the session's demo rollout (tests/conftest.py) is built once, by the worker that runs this group
pytestmark = pytest.mark.xdist_group("demo")


def test_rollout_reaches_ga_through_a_rollback_and_an_rca(demo):
    applied = [s.applied for s in demo.steps if s.applied]
    rollbacks = [a for a in applied if a.startswith("rollback")]
    assert rollbacks, f"the regression must force a rollback: {applied}"
    after = applied[applied.index(rollbacks[0]) + 1:]
    assert any(a.startswith("promote") for a in after), "promotion resumes once the RCA is complete"
    assert demo.rcas, "the on-call engineer completed the rollback's RCA"
    # Past the phase that regressed: the rollout recovered and moved on.
    assert applied[-1] in ("promote A-2 → B-0", "promote B-0 → B-1"), applied
    assert (demo.home / "incident_queue.json").exists()
    queue = json.loads((demo.home / "incident_queue.json").read_text())
    assert any(item.get("action") == "notify_rollback" for item in queue)
    assert list((demo.home / "reports" / "rollout").glob("*.md"))


def test_audit_verifies_then_detects_an_edited_line(demo):
    runner = CliRunner()
    ok = runner.invoke(cli, ["--home", str(demo.home), "audit", "verify", "--json"])
    assert ok.exit_code == 0, ok.output
    log = sorted((demo.home / "governance" / "audit" / "phase_rollout").glob("*.jsonl"))[0]
    original = log.read_text()
    try:
        lines = original.splitlines(keepends=True)
        entry = json.loads(lines[0])
        entry["executor"] = "mallory"
        lines[0] = json.dumps(entry) + "\n"
        log.write_text("".join(lines))
        bad = runner.invoke(cli, ["--home", str(demo.home), "audit", "verify"])
        assert bad.exit_code != 0
        assert log.name in bad.output
    finally:
        log.write_text(original)
