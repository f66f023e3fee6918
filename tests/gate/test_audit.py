"""The audit log detects any edited, removed or reordered line and any metrics file changed after it was recorded,
naming the file and line."""
from __future__ import annotations

import json
from pathlib import Path

from rolloutctl.governance import audit, ledger
from rolloutctl.governance.actions import record_transition
from tests.support.gate_support import recorded_run

STEPS = [("promote", "A-0", "A-1", "2026-11-02T00:00:00Z"), ("promote", "A-1", "A-2", "2026-11-04T00:00:00Z"),
         ("rollback", "A-2", "A-1", "2026-11-05T06:00:00Z"), ("promote", "A-1", "A-2", "2026-11-06T00:00:00Z")]


def _history(home: Path) -> list[str]:
    """Four recorded actions; returns the audit lines as written."""
    for action, src, dst, at in STEPS:
        run = recorded_run(home, src, at, "rollback" if action == "rollback" else "promote")
        record_transition(home, run, action, dst, "alice", f"test {action}", [])
    files = sorted((home / audit.AUDIT_RELDIR).glob("*.jsonl"))
    assert len(files) == 1
    return files[0].read_text().splitlines()


def _audit_file(home: Path) -> Path:
    return next((home / audit.AUDIT_RELDIR).glob("*.jsonl"))


def _rewrite(home: Path, lines: list[str]) -> None:
    _audit_file(home).write_text("\n".join(lines) + "\n")


def _rel(home: Path) -> str:
    return str(_audit_file(home).relative_to(home))


def test_an_untouched_log_verifies(home):
    lines = _history(home)
    assert len(lines) == 4
    assert audit.verify(home) == []
    records = [json.loads(x) for x in lines]
    assert [r["seq"] for r in records] == [1, 2, 3, 4]
    assert records[0]["prev_hash"] == audit.GENESIS
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(records, records[1:]))
    assert all(r["metrics_snapshot"] and r["metrics_file"] for r in records)
    entries = ledger.read(home)
    assert [(e.audit_seq, e.audit_hash) for e in entries] == [(r["seq"], r["hash"]) for r in records]


def test_an_edited_line_is_named(home):
    lines = _history(home)
    record = json.loads(lines[1])
    record["reason"] = "nothing to see here"
    lines[1] = json.dumps(record, sort_keys=True, separators=(",", ":"))
    _rewrite(home, lines)
    problems = audit.verify(home)
    assert any(p.file == _rel(home) and p.line == 2 and "edited" in p.message for p in problems), problems


def test_an_edited_line_with_a_fresh_hash_is_named(home):
    lines = _history(home)
    record = json.loads(lines[1])
    record["executor"] = "mallory"
    record["hash"] = audit.line_hash(record)
    lines[1] = json.dumps(record, sort_keys=True, separators=(",", ":"))
    _rewrite(home, lines)
    problems = audit.verify(home)
    assert any(p.file == _rel(home) and p.line == 2 and "edited" in p.message for p in problems), problems


def test_a_removed_line_is_named(home):
    lines = _history(home)
    del lines[1]
    _rewrite(home, lines)
    problems = audit.verify(home)
    assert any(p.file == _rel(home) and p.line == 2 and "removed" in p.message for p in problems), problems


def test_removing_the_last_line_is_found_through_the_ledger(home):
    lines = _history(home)
    _rewrite(home, lines[:-1])
    problems = audit.verify(home)
    assert any("L0004" in p.message and "missing" in p.message for p in problems), problems


def test_reordered_lines_are_named(home):
    lines = _history(home)
    lines[1], lines[2] = lines[2], lines[1]
    _rewrite(home, lines)
    problems = audit.verify(home)
    assert any(p.file == _rel(home) and p.line == 3 and "out of order" in p.message for p in problems), problems


def test_a_changed_metrics_file_is_named(home):
    _history(home)
    entry = ledger.read(home)[1]
    path = home / entry.metrics_file
    path.write_text(path.read_text().replace('"A-1"', '"A-2"'))
    problems = audit.verify(home)
    assert [str(p) for p in problems if p.file == entry.metrics_file] == [
        f"{entry.metrics_file}: metrics file changed after it was recorded at {_rel(home)}:2 "
        f"(sha256 {audit.sha256_file(path)[:12]}…, recorded {entry.metrics_sha256[:12]}…)"]


def test_a_deleted_metrics_file_is_named(home):
    _history(home)
    entry = ledger.read(home)[0]
    (home / entry.metrics_file).unlink()
    problems = audit.verify(home)
    assert any(p.file == entry.metrics_file and "missing" in p.message for p in problems), problems


def test_a_damaged_line_is_named(home):
    lines = _history(home)
    lines[2] = lines[2][:40]
    _rewrite(home, lines)
    problems = audit.verify(home)
    assert any(p.file == _rel(home) and p.line == 3 and "not valid JSON" in p.message for p in problems), problems


def test_an_edited_ledger_is_found(home):
    _history(home)
    path = ledger.ledger_path(home)
    path.write_text(path.read_text().replace("phase_to: A-2", "phase_to: B-0", 1))
    problems = audit.verify(home)
    assert any(p.file == str(ledger.LEDGER_RELPATH) and "L0002" in p.message for p in problems), problems


def test_audit_verify_command(home):
    from click.testing import CliRunner

    from rolloutctl.cli import cli

    lines = _history(home)
    result = CliRunner().invoke(cli, ["--home", str(home), "audit", "verify"])
    assert (result.exit_code, result.output) == (0, "✓ audit log intact: chain, metrics snapshots and ledger agree\n")
    lines[0], lines[1] = lines[1], lines[0]
    _rewrite(home, lines)
    result = CliRunner().invoke(cli, ["--home", str(home), "audit", "verify", "--json"])
    assert result.exit_code == 1
    doc = json.loads(result.output)
    assert doc["ok"] is False
    assert {"file": _rel(home), "line": 2, "message": f"out of order: seq 1 comes after seq 2 at {_rel(home)}:1 "
                                                      f"(lines were reordered)"} in doc["problems"]


def test_ledger_and_audit_lines_follow_the_policy_schemas(home):
    """governance/schemas documents the two files for reviewers and other tools: what rolloutctl writes must match."""
    import yaml
    from jsonschema import Draft202012Validator, FormatChecker

    from rolloutctl.core.layout import POLICY_SCHEMA_DIR

    lines = _history(home)
    schemas = {name: json.loads((POLICY_SCHEMA_DIR / f"{name}.schema.json").read_text())
               for name in ("phase-ledger", "audit-line")}
    ledger_doc = yaml.safe_load(ledger.ledger_path(home).read_text())
    checker = FormatChecker()
    assert list(Draft202012Validator(schemas["phase-ledger"], format_checker=checker).iter_errors(ledger_doc)) == []
    audit_validator = Draft202012Validator(schemas["audit-line"], format_checker=checker)
    for line in lines:
        assert list(audit_validator.iter_errors(json.loads(line))) == []
    # and the schemas do reject: a ledger entry with an unknown action, an audit line without its hash
    assert list(Draft202012Validator(schemas["phase-ledger"]).iter_errors([{**ledger_doc[0], "action": "skip"}]))
    broken = json.loads(lines[0])
    del broken["hash"]
    assert list(audit_validator.iter_errors(broken))
