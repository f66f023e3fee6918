"""Replayable verdicts: what a decision was made from, recorded with it, and `audit replay` to recompute it.

Every analyzer output and every audit entry records the inputs of its decision: the sha256 of the seeds in force
(scratch.DECISION_SEEDS), the project version (and a hash of the models' SQL), `loaded_through` (the last time the
raw tables the build read were written) and the row count of raw.events per phase before T. An audit entry also
records the verdict itself (decision, reasons, every rule's status and value, finality, data quality) and the
governance it was taken under (how many ledger entries preceded it, which RCAs were complete). Each action keeps a
copy of the seed files in governance/seeds/<name>-<sha256>.csv, so they can be found again after they change.

`replay(home, "L0003")` recomputes the decision in a scratch warehouse (scratch.py): the raw rows written up to
`loaded_through`, the recorded seeds, the ledger as it was, one dbt build with its data tests, as the gate runs it;
then compares the verdict at T, every rule, the raw counts and every metric row of the frozen analyzer output at T,
and says `same`, or exactly what differs.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from rolloutctl import __version__
from rolloutctl.core.errors import ConfigError, UsageError
from rolloutctl.core.files import atomic_write_bytes
from rolloutctl.core.layout import SEED_COPIES_RELDIR, policy_file
from rolloutctl.core.phases import PHASES
from rolloutctl.core.timestamps import iso_z, parse_utc
from rolloutctl.decision.verdict import Evaluation, analyzer_output, read_evaluation
from rolloutctl.governance import audit, ledger, rca
from rolloutctl.verification.scratch import DECISION_SEEDS, Scratch, models_hash, seed_hashes, sha256_bytes
from rolloutctl.warehouse.dbt_project import project_for
from rolloutctl.warehouse.dbt_runner import CYCLE_SELECTOR

RECORDED_KEYS = ("seeds", "project_version", "loaded_through", "raw_event_counts", "verdict", "governance")
REL_TOLERANCE = 1e-9


# ---- what is recorded ------------------------------------------------------------------------------------------

def provenance(con: duckdb.DuckDBPyConnection, home: Path, ev: Evaluation) -> dict | None:
    """The inputs of the evaluation `ev` as the build read them (None when it has no evaluation time)."""
    if ev.eval_at is None:
        return None
    row = con.execute("select loaded_through from marts.data_quality").fetchone()
    through = row[0] if row else None
    counts = dict.fromkeys(PHASES, 0)
    if through is not None:
        counts.update(dict(con.execute("""select phase, count(*) from raw.events
                                          where event_at < ? and loaded_at <= ? group by phase""",
                                       [ev.eval_at, through]).fetchall()))
    return {
        "seeds": seed_hashes(project_for(home)),
        "project_version": __version__,
        "models_sha256": models_hash(),
        "loaded_through": iso_z(through) if through else None,
        "raw_event_counts": counts,
    }


def verdict_record(ev: Evaluation) -> dict:
    return {
        "phase": ev.phase, "eval_at": iso_z(ev.eval_at), "decision": ev.decision, "reason": ev.reason,
        "next_phase": ev.next_phase, "rollback_to": ev.rollback_to, "deciding_rule_ids": ev.deciding_rule_ids,
        "rules_decision": ev.rules_decision, "rules_reason": ev.rules_reason, "differs_because": ev.differs_because,
        "is_final": ev.is_final,
        "data_quality_ok": ev.data_quality["ok"] if ev.data_quality else None,
        "failing_tests": ev.data_quality["failing_tests"] if ev.data_quality else [],
        "rules": {r.rule_id: {"status": r.status, "value": r.value} for r in ev.rules},
    }


def audit_fields(home: Path, run, ledger_entries_before: int) -> dict:
    """The fields an audit line of an action on `run` (a cycle.GateRun) carries for replay; {} when the run has
    no evaluation to replay. Keeps a copy of the seeds in force (call under the governance lock)."""
    if not getattr(run, "provenance", None):
        return {}
    keep_seed_copies(Path(home))
    complete = sorted(f.rollback_id for f in rca.scan(home) if f.is_complete)
    return {**run.provenance, "verdict": verdict_record(run.evaluation),
            "governance": {"ledger_entries": ledger_entries_before, "complete_rcas": complete}}


def seed_copy_relpath(name: str, sha: str) -> Path:
    return SEED_COPIES_RELDIR / f"{name}-{sha}.csv"


def keep_seed_copies(home: Path) -> None:
    for name in DECISION_SEEDS:
        data = policy_file(name, home).read_bytes()
        dest = Path(home) / seed_copy_relpath(name, sha256_bytes(data))
        if not dest.exists():
            atomic_write_bytes(dest, data)


# ---- replay ----------------------------------------------------------------------------------------------------

@dataclass
class Difference:
    what: str
    recorded: Any
    replayed: Any

    def __str__(self) -> str:
        return f"{self.what}: recorded {_show(self.recorded)}, replayed {_show(self.replayed)}"

    def as_json(self) -> dict:
        return {"what": self.what, "recorded": self.recorded, "replayed": self.replayed}


@dataclass
class Replay:
    where: str                      # audit file:line
    seq: int | None
    ledger_entry: str | None
    action: str | None
    phase: str | None
    eval_at: str | None
    same: bool | None               # None: could not be replayed (see notes)
    differences: list[Difference] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def status(self) -> str:
        return "not_replayable" if self.same is None else "same" if self.same else "differs"

    def as_json(self) -> dict:
        return {"line": self.where, "seq": self.seq, "ledger_entry": self.ledger_entry, "action": self.action,
                "phase": self.phase, "eval_at": self.eval_at, "status": self.status, "same": self.same,
                "differences": [d.as_json() for d in self.differences], "notes": self.notes,
                "seconds": round(self.seconds, 1)}


def find_line(home: Path, ref: str) -> audit.AuditLine:
    """An audit line by `file:line` (as printed; the file relative to home or its name), its seq, or the ledger
    entry it records (L0003)."""
    lines, _ = audit.read_lines(home)
    ref = ref.strip()
    for line in lines:
        if ref in (line.where, f"{Path(line.file).name}:{line.line}") or ref == line.record.get("ledger_entry") \
                or (ref.isdigit() and line.seq == int(ref)):
            return line
    raise UsageError(f"no audit line {ref!r}: give file:line (as `audit verify` prints it), a seq number, or a "
                     f"ledger entry id")


def replay_all(home: Path, keep: bool = False) -> list[Replay]:
    lines, _ = audit.read_lines(home)
    return [replay(home, line.where, keep=keep) for line in lines]


def replay(home: Path, ref: str, keep: bool = False) -> Replay:
    """Recompute the decision of one audit line and compare it with what was recorded."""
    started = time.perf_counter()
    home = Path(home)
    line = find_line(home, ref)
    rec = line.record
    verdict = rec.get("verdict") or {}
    result = Replay(line.where, line.seq, rec.get("ledger_entry"), rec.get("action"), verdict.get("phase"),
                    verdict.get("eval_at"), None)
    missing = [k for k in RECORDED_KEYS if not rec.get(k)]
    if missing:
        result.notes.append(f"not replayable: the line records no {', '.join(missing)} (an action recorded before "
                            f"verdicts were replayable, or taken with no evaluation)")
        return result
    seeds, unavailable = _recorded_seeds(home, rec["seeds"])
    if unavailable:
        result.notes += unavailable
        return result
    if rec.get("project_version") != __version__:
        result.notes.append(f"recorded under rolloutctl {rec.get('project_version')}, replayed under {__version__}")
    if rec.get("models_sha256") and rec["models_sha256"] != models_hash():
        result.notes.append("the models' SQL changed since the decision: a difference may come from the code")
    eval_at = parse_utc(verdict["eval_at"])
    through = parse_utc(rec["loaded_through"])
    entries = ledger.read(home)[: rec["governance"]["ledger_entries"]]
    with Scratch.create(home, f"replay-{line.seq}", seeds=seeds, keep=keep) as s:
        s.copy_raw(home, through)
        result.notes += _late_arrivals(home, eval_at, through)
        s.write_governance(entries, rec["governance"]["complete_rcas"])
        # what the cycle runs (every model and seed, the data tests guarding the gate's inputs), as it runs it
        s.build(["build"], selector=CYCLE_SELECTOR, data_quality=True)
        con = s.connect()
        try:
            counts = dict.fromkeys(PHASES, 0)
            counts.update(dict(con.execute("select phase, count(*) from raw.events where event_at < ? "
                                           "group by phase", [eval_at]).fetchall()))
            try:
                ev = read_evaluation(con, verdict["phase"], at=eval_at, latest_final=False)
            except UsageError as exc:
                ev = None
                result.differences.append(Difference("evaluation", verdict["eval_at"], str(exc)))
            rows = _metric_rows(analyzer_output(con, ev), verdict["eval_at"]) if ev and ev.eval_at else {}
        finally:
            con.close()
        if keep:
            result.notes.append(f"scratch kept in {s.root}")
    result.differences += _compare_counts(rec["raw_event_counts"], counts)
    if ev is not None:
        result.differences += _compare_verdict(verdict, verdict_record(ev) if ev.eval_at else {})
        result.differences += _compare_metrics(home, rec.get("metrics_file"), verdict["eval_at"], rows)
    result.same = not result.differences
    result.seconds = time.perf_counter() - started
    return result


def _recorded_seeds(home: Path, recorded: dict[str, str]) -> tuple[dict[str, Path], list[str]]:
    """Each recorded seed's file: the copy kept at the action, or the project's file when it still matches."""
    found, problems = {}, []
    for name, sha in recorded.items():
        copy = home / seed_copy_relpath(name, sha)
        current = policy_file(name, home)
        if copy.exists() and sha256_bytes(copy.read_bytes()) == sha:
            found[name] = copy
        elif current.exists() and sha256_bytes(current.read_bytes()) == sha:
            found[name] = current
        elif copy.exists():
            problems.append(f"not replayable: {copy.relative_to(home)} no longer has sha256 {sha[:12]}… "
                            f"(the kept seed copy was changed)")
        else:
            problems.append(f"not replayable: seed {name} with sha256 {sha[:12]}… is neither kept in "
                            f"{SEED_COPIES_RELDIR} nor the project's current seeds/{name}.csv")
    return found, problems


def _late_arrivals(home: Path, eval_at: datetime, through: datetime) -> list[str]:
    """Events before T loaded after the decision: not part of it, said so."""
    from ingest.warehouse import connect

    try:
        con = connect(home, read_only=True)
    except Exception:  # noqa: BLE001 — a busy warehouse only costs this note
        return []
    try:
        rows = con.execute("select phase, count(*) from raw.events where event_at < ? and loaded_at > ? "
                           "group by phase order by phase", [eval_at, through]).fetchall()
    finally:
        con.close()
    return [f"{n} event(s) of {p} before T arrived after the decision (not part of it, not replayed)"
            for p, n in rows]


def _metric_rows(doc: dict, eval_at: str) -> dict[tuple, dict]:
    for ev in doc["evaluations"]:
        if ev["eval_at"] == eval_at:
            return {(m["metric"], m["dimension"], m["window"]): m for m in ev["metrics"]}
    return {}


def _compare_counts(recorded: dict, replayed: dict) -> list[Difference]:
    return [Difference(f"raw.events of {p} before T", recorded.get(p, 0), replayed.get(p, 0))
            for p in PHASES if recorded.get(p, 0) != replayed.get(p, 0)]


VERDICT_FIELDS = ("eval_at", "decision", "reason", "next_phase", "rollback_to", "deciding_rule_ids",
                  "rules_decision", "rules_reason", "differs_because", "is_final", "data_quality_ok",
                  "failing_tests")


def _compare_verdict(recorded: dict, replayed: dict) -> list[Difference]:
    diffs = [Difference(k, recorded.get(k), replayed.get(k)) for k in VERDICT_FIELDS
             if recorded.get(k) != replayed.get(k)]
    rec_rules, rep_rules = recorded.get("rules", {}), replayed.get("rules", {})
    for rule_id in sorted(set(rec_rules) | set(rep_rules)):
        a, b = rec_rules.get(rule_id), rep_rules.get(rule_id)
        if a is None or b is None:
            diffs.append(Difference(f"rule {rule_id}", a, b))
            continue
        if a["status"] != b["status"]:
            diffs.append(Difference(f"rule {rule_id} status", a["status"], b["status"]))
        if not _close(a["value"], b["value"]):
            diffs.append(Difference(f"rule {rule_id} value", a["value"], b["value"]))
    return diffs


def _compare_metrics(home: Path, metrics_file: str | None, eval_at: str, replayed: dict) -> list[Difference]:
    """Every metric row of the frozen analyzer output at T against the replayed one."""
    if not metrics_file or not (home / metrics_file).exists():
        return []
    try:
        doc = json.loads((home / metrics_file).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{metrics_file}: not valid JSON: {exc}") from None
    recorded = _metric_rows(doc, eval_at)
    if recorded and not replayed:
        return [Difference("metric rows at T", len(recorded), 0)]
    diffs = []
    for key in sorted(set(recorded) | set(replayed)):
        a, b = recorded.get(key), replayed.get(key)
        name = " ".join(key)
        if a is None or b is None:
            diffs.append(Difference(f"metric {name} at T", "present" if a else None, "present" if b else None))
            continue
        for col in ("value", "sample_count", "status", "lower_bound", "upper_bound"):
            if col in a and not _close(a[col], b.get(col)):
                diffs.append(Difference(f"metric {name} {col}", a[col], b.get(col)))
    return diffs


def _close(a, b) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=REL_TOLERANCE, abs_tol=1e-12)
    return a == b


def _show(value) -> str:
    return json.dumps(value, default=str) if not isinstance(value, str) else value
