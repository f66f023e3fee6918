"""The audit log, governance/audit/phase_rollout/<date>.jsonl: one hash-chained line per promotion or rollback.

Each line is canonical JSON (sorted keys) carrying `seq` (1, 2, …), `prev_hash` (the previous line's `hash`; 64 zeros
for the first) and `hash` (sha256 of the line's other fields), plus `metrics_snapshot`, the sha256 of the analyzer
output the action was taken on (`metrics_file`). `verify` names the file and line of any line edited, removed or
reordered, of any metrics file changed after it was recorded, and of any disagreement with the ledger (which keeps
each entry's audit seq and hash, so even removing the last line is found).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from rolloutctl.core.errors import ConfigError
from rolloutctl.core.files import atomic_write_bytes, sha256_file
from rolloutctl.core.layout import AUDIT_RELDIR
from rolloutctl.core.problems import Problem
from rolloutctl.core.timestamps import iso_z, utc_now
from rolloutctl.governance import ledger

GENESIS = "0" * 64
REQUIRED = ("seq", "action", "phase", "executor", "reason", "metrics_snapshot", "timestamp", "prev_hash", "hash")


@dataclass(frozen=True)
class AuditLine:
    file: str           # relative to home
    line: int
    record: dict

    @property
    def seq(self) -> int:
        return self.record.get("seq")

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def canonical(record: dict) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def line_hash(record: dict) -> str:
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(canonical(body).encode("utf-8")).hexdigest()


def audit_dir(home: Path) -> Path:
    return Path(home) / AUDIT_RELDIR


def read_lines(home: Path) -> tuple[list[AuditLine], list[Problem]]:
    """Every line of every audit file, oldest file first; lines that are not JSON objects are problems."""
    lines, problems = [], []
    folder = audit_dir(home)
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        rel = str(path.relative_to(home))
        for n, raw in enumerate(path.read_text(encoding="utf-8", errors="replace").split("\n"), start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except json.JSONDecodeError:
                problems.append(Problem(rel, n, "not valid JSON: the line was damaged or edited"))
                continue
            if not isinstance(record, dict):
                problems.append(Problem(rel, n, "not a JSON object: the line was edited"))
                continue
            lines.append(AuditLine(rel, n, record))
    return lines, problems


def prepare(home: Path, fields: dict) -> dict:
    """The next audit line for `fields` (call under files.governance_lock): chained to the last line, hashed."""
    lines, _ = read_lines(home)
    last = lines[-1].record if lines else None
    record = dict(fields)
    record["seq"] = (last.get("seq", 0) + 1) if last else 1
    record["prev_hash"] = last.get("hash", GENESIS) if last else GENESIS
    record.setdefault("timestamp", iso_z(utc_now()))
    record["hash"] = line_hash(record)
    return record


def write(home: Path, record: dict) -> AuditLine:
    """Add a prepared line (call under files.governance_lock), once: a line with its hash already there is returned
    as it is. The day's file is rewritten whole (temp file, fsync, rename), so no crash can leave half a line."""
    lines, _ = read_lines(home)
    for line in lines:
        if line.record.get("hash") == record["hash"]:
            return line
    last_hash = lines[-1].record.get("hash", GENESIS) if lines else GENESIS
    if record["prev_hash"] != last_hash:
        raise ConfigError(f"{AUDIT_RELDIR}: the line for {record.get('ledger_entry')} chains to "
                          f"{record['prev_hash'][:12]}…, but the log now ends with {last_hash[:12]}… (written by "
                          f"another process meanwhile?); nothing was added")
    path = audit_dir(home) / f"{record['timestamp'][:10]}.jsonl"
    old = path.read_bytes() if path.exists() else b""
    if old and not old.endswith(b"\n"):
        old += b"\n"
    atomic_write_bytes(path, old + canonical(record).encode("utf-8") + b"\n")
    n = sum(1 for raw in path.read_text(encoding="utf-8").split("\n") if raw.strip())
    return AuditLine(str(path.relative_to(home)), n, record)


def append(home: Path, fields: dict) -> AuditLine:
    """Append one action (call under files.governance_lock): chain it to the last line and write it whole."""
    return write(home, prepare(home, fields))


def verify(home: Path) -> list[Problem]:
    """Check the chain, the metrics snapshots and the ledger; an empty list means the log is intact."""
    home = Path(home)
    lines, problems = read_lines(home)
    prev: AuditLine | None = None
    for cur in lines:
        rec = cur.record
        missing = [k for k in REQUIRED if k not in rec]
        if missing:
            problems.append(Problem(cur.file, cur.line, f"missing {', '.join(missing)}: the line was edited"))
        elif rec["hash"] != line_hash(rec):
            problems.append(Problem(cur.file, cur.line, "edited: the content does not match the line's hash"))
        problems.extend(_chain_problems(prev, cur))
        problems.extend(_snapshot_problems(home, cur))
        prev = cur
    problems.extend(_ledger_problems(home, lines))
    return problems


def _chain_problems(prev: AuditLine | None, cur: AuditLine) -> list[Problem]:
    seq, prev_hash = cur.record.get("seq"), cur.record.get("prev_hash")
    if not isinstance(seq, int):
        return []
    if prev is None:
        if seq != 1 or prev_hash != GENESIS:
            return [Problem(cur.file, cur.line, f"the log starts at seq {seq}: "
                                                f"{seq - 1} earlier line(s) were removed")]
        return []
    pseq = prev.record.get("seq")
    if not isinstance(pseq, int):
        return []
    if seq <= pseq:
        return [Problem(cur.file, cur.line, f"out of order: seq {seq} comes after seq {pseq} at {prev.where} "
                                            f"(lines were reordered)")]
    if seq != pseq + 1:
        return [Problem(cur.file, cur.line, f"{seq - pseq - 1} line(s) removed before this one "
                                            f"(seq {pseq + 1}..{seq - 1} missing)")]
    if prev_hash != prev.record.get("hash"):
        # the previous line was rewritten with a fresh hash: this line still chains to the original
        return [Problem(prev.file, prev.line, f"edited: the next line ({cur.where}) chains to a different hash")]
    return []


def _snapshot_problems(home: Path, cur: AuditLine) -> list[Problem]:
    rel, recorded = cur.record.get("metrics_file"), cur.record.get("metrics_snapshot")
    if not rel or not recorded:
        return []
    path = home / rel
    if not path.exists():
        return [Problem(rel, None, f"metrics file recorded at {cur.where} is missing")]
    actual = sha256_file(path)
    if actual != recorded:
        return [Problem(rel, None, f"metrics file changed after it was recorded at {cur.where} "
                                   f"(sha256 {actual[:12]}…, recorded {recorded[:12]}…)")]
    return []


def _ledger_problems(home: Path, lines: list[AuditLine]) -> list[Problem]:
    try:
        entries = ledger.read(home)
    except Exception as exc:  # a damaged ledger is itself a finding
        return [Problem(str(ledger.LEDGER_RELPATH), None, str(exc))]
    rel = str(ledger.LEDGER_RELPATH)
    by_seq = {line.seq: line for line in lines}
    problems = []
    for entry in entries:
        if entry.audit_seq is None:
            problems.append(Problem(rel, None, f"entry {entry.id} has no audit reference"))
            continue
        line = by_seq.get(entry.audit_seq)
        if line is None:
            problems.append(Problem(rel, None, f"entry {entry.id} was recorded as audit seq {entry.audit_seq}, "
                                               f"which is missing from the audit log (removed)"))
        elif line.record.get("hash") != entry.audit_hash:
            problems.append(Problem(line.file, line.line, f"differs from the hash the ledger recorded for "
                                                          f"{entry.id}: the line was edited"))
        elif (line.record.get("ledger_entry"), line.record.get("action"), line.record.get("phase_to"),
              line.record.get("metrics_snapshot")) != (entry.id, entry.action, entry.phase_to, entry.metrics_sha256):
            problems.append(Problem(rel, None, f"entry {entry.id} does not match its audit line {line.where}: "
                                               f"the ledger was edited"))
    known = {e.id for e in entries}
    for line in lines:
        ref = line.record.get("ledger_entry")
        if ref and ref not in known:
            problems.append(Problem(line.file, line.line, f"records ledger entry {ref}, which the ledger does not "
                                                          f"have (an interrupted action, or the ledger was edited)"))
    return problems
