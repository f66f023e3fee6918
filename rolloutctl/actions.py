"""Acting on the gate: promotions and rollbacks, from `gate --apply` or the manual `promote` / `rollback`.

Every action runs under the home's governance lock (a second operator gets ActionInProgress and nothing happens),
re-reads the ledger inside it, and records, in this order: a frozen copy of the analyzer output, the phase's flag
defaults, the audit line, the ledger entry. A rollback then opens the RCA stub, emits `rollback.executed` through
the Collector, appends `notify_rollback` to incident_queue.json and notifies Slack and PagerDuty (a failed send is
queued in the outbox and never undoes or blocks the rollback).
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ingest.collector import collect

from . import audit, flags, ledger, notify, rca, replay
from .cycle import GateRun, evaluate
from .errors import ActionRefused, ConfigError, RcaMissing, UsageError
from .files import atomic_write_json, governance_lock, sha256_file
from .gate import DASHBOARD_URL, METRICS_RELDIR
from .ledger import LedgerEntry
from .phases import check as check_phase, next_phase, order
from .timefmt import iso_z, utc_now

INCIDENT_QUEUE = Path("incident_queue.json")
SNAPSHOT_RELDIR = METRICS_RELDIR / "snapshots"
LOG_RELDIR = Path("logs")


@dataclass
class ActionResult:
    action: str                         # promote | rollback
    entry: LedgerEntry
    audit_line: str                     # file:line
    flags_file: str
    rca_file: str | None = None
    event_file: str | None = None
    notifications: list[notify.Delivery] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"action": self.action, "ledger_entry": self.entry.as_dict(), "audit": self.audit_line,
                "flags_file": self.flags_file, "rca_file": self.rca_file, "event_file": self.event_file,
                "notifications": [d.as_json() for d in self.notifications]}


@dataclass
class GateOutcome:
    run: GateRun
    applied: ActionResult | None = None
    note: str | None = None             # why nothing was applied, with --apply
    outbox: list[notify.Delivery] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return self.run.evaluation.exit_code

    def as_json(self) -> dict:
        doc = self.run.as_json()
        doc["applied"] = self.applied.as_json() if self.applied else None
        if self.note:
            doc["note"] = self.note
        if self.outbox:
            doc["outbox"] = [d.as_json() for d in self.outbox]
        return doc


def gate(home: Path, *, phase: str | None = None, at: datetime | None = None, rebuild: bool = True,
         apply: bool = False, executor: str | None = None, rollback_to: str | None = None) -> GateOutcome:
    """`rolloutctl gate`: evaluate, and with `apply` act on the decision (promote or roll back)."""
    if not apply:
        if executor or rollback_to:
            raise UsageError("--executor and --to only make sense with --apply")
        return GateOutcome(evaluate(home, phase=phase, at=at, rebuild=rebuild))
    if not executor:
        raise UsageError("--apply needs --executor NAME (recorded in the ledger and the audit log)")
    with governance_lock(home, f"gate --apply by {executor}"):
        outbox = notify.flush_outbox(home)
        run = evaluate(home, phase=phase, at=at, rebuild=rebuild)
        ev = run.evaluation
        if ev.phase != run.current_phase:
            raise UsageError(f"--apply acts on the current phase ({run.current_phase}), not {ev.phase}")
        outcome = GateOutcome(run, outbox=outbox)
        if ev.eval_at is None:
            outcome.note = f"no evaluation of {ev.phase} yet ({ev.reason}): nothing to apply"
        elif run.entered_at and ev.eval_at < run.entered_at:
            outcome.note = (f"the evaluation at {iso_z(ev.eval_at)} predates the ledger's entry into {ev.phase} "
                            f"({iso_z(run.entered_at)}): nothing to apply")
        elif ev.decision == "rollback":
            target = check_phase(rollback_to) if rollback_to else ev.rollback_to
            outcome.applied = rollback_procedure(home, run, target, executor,
                                        f"gate: {', '.join(ev.deciding_rule_ids)} fired at {iso_z(ev.eval_at)}",
                                        ev.deciding_rule_ids)
        elif ev.decision == "promote" and ev.next_phase:
            _check_rca(home, ev.phase)
            outcome.applied = record_transition(home, run, "promote", ev.next_phase, executor,
                                          f"gate: every promote rule of {ev.phase} passed at {iso_z(ev.eval_at)}",
                                          ev.deciding_rule_ids)
        elif ev.decision == "promote":
            outcome.note = f"{ev.phase} is the last phase: GA confirmed, nothing to promote"
        else:
            outcome.note = f"decision {ev.decision}: nothing to apply"
        return outcome


def promote(home: Path, *, to: str, executor: str, reason: str, force: bool = False,
            rebuild: bool = True) -> GateOutcome:
    """Manual promotion to the next phase: refused unless the gate says promote, or `force` (recorded)."""
    check_phase(to)
    with governance_lock(home, f"promote by {executor}"):
        run = evaluate(home, rebuild=rebuild)
        ev, current = run.evaluation, run.current_phase
        if to != next_phase(current):
            raise ActionRefused(f"the current phase is {current}: it can only be promoted to "
                                f"{next_phase(current) or 'nothing (it is the last phase)'}, not {to}")
        _check_rca(home, current)
        forced = ev.decision != "promote"
        if forced and not force:
            at = f" at {iso_z(ev.eval_at)}" if ev.eval_at else ""
            raise ActionRefused(f"the gate says {ev.decision} for {current}{at} ({ev.reason}), not promote; "
                                f"use --force to promote anyway (recorded as forced)")
        applied = record_transition(home, run, "promote", to, executor, reason, [] if forced else ev.deciding_rule_ids,
                              forced=forced)
        return GateOutcome(run, applied)


def rollback(home: Path, *, to: str, executor: str, reason: str, rebuild: bool = True) -> GateOutcome:
    """Manual rollback to an earlier phase, with the whole rollback procedure (RCA, event, notifications)."""
    check_phase(to)
    with governance_lock(home, f"rollback by {executor}"):
        run = evaluate(home, rebuild=rebuild)
        if order(to) >= order(run.current_phase):
            raise ActionRefused(f"the current phase is {run.current_phase}: a rollback goes to an earlier phase, "
                                f"not {to}")
        return GateOutcome(run, rollback_procedure(home, run, to, executor, reason, []))


def _check_rca(home: Path, phase: str) -> None:
    missing = rca.rollbacks_without_rca(home, ledger.read(home), phase)
    if missing:
        files = ", ".join(f"{e.id} ({e.rca_file or rca.stub_relpath(e)})" for e in missing)
        raise RcaMissing(f"promotion out of {phase} is blocked until the RCA of each rollback into it is complete: "
                         f"{files}; write it and set `status: complete` in its front matter")


def record_transition(home: Path, run: GateRun, action: str, to: str, executor: str, reason: str,
                trigger_rules: list[str], forced: bool = False) -> ActionResult:
    """Record a phase change (call under the governance lock)."""
    home = Path(home)
    entries = ledger.read(home)
    current = ledger.current_phase(entries)
    if current != run.current_phase:
        raise ActionRefused(f"the ledger moved to {current} meanwhile; nothing applied")
    ev = run.evaluation
    entry = LedgerEntry(
        id=ledger.next_id(entries), action=action, phase_from=current, phase_to=to, executor=executor,
        timestamp=iso_z(ev.eval_at or utc_now()), recorded_at=iso_z(utc_now()), reason=reason, forced=forced,
        trigger_rules=list(trigger_rules),
    )
    if run.metrics_file:
        rel = SNAPSHOT_RELDIR / f"{entry.id}.json"
        (home / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(home / run.metrics_file, home / rel)
        entry.metrics_file, entry.metrics_sha256 = str(rel), sha256_file(home / rel)
    if action == "rollback":
        entry.rca_file = str(rca.stub_relpath(entry))
    flags.write_defaults(home, to, "rollback" if action == "rollback" else "push")
    line = audit.append(home, {
        "action": action, "phase": current, "phase_from": current, "phase_to": to, "executor": executor,
        "reason": reason, "forced": forced, "ledger_entry": entry.id, "effective_at": entry.timestamp,
        "trigger_rules": entry.trigger_rules, "metrics_file": entry.metrics_file,
        "metrics_snapshot": entry.metrics_sha256,
        **replay.audit_fields(home, run, len(entries)),     # seeds, version, raw counts, verdict: for audit replay
    })
    entry.audit_seq, entry.audit_hash = line.seq, line.record["hash"]
    ledger.append(home, entry)
    return ActionResult(action, entry, line.where, str(flags.DEFAULTS_RELPATH))


def rollback_procedure(home: Path, run: GateRun, to: str, executor: str, reason: str,
              trigger_rules: list[str]) -> ActionResult:
    home = Path(home)
    result = record_transition(home, run, "rollback", to, executor, reason, trigger_rules)
    entry = result.entry
    rules = [r for r in run.evaluation.rules if r.rule_id in trigger_rules]
    result.rca_file = str(rca.open_stub(home, entry, rules))
    result.event_file = _emit_rollback_event(home, entry)
    incident = {
        "action": "notify_rollback", "id": entry.id, "created_at": entry.recorded_at, "eval_at": entry.timestamp,
        "phase_from": entry.phase_from, "phase_to": entry.phase_to, "trigger_rules": entry.trigger_rules,
        "executor": executor, "reason": reason, "metrics_file": entry.metrics_file, "rca_file": result.rca_file,
        "dashboard": DASHBOARD_URL,
    }
    _queue_incident(home, incident)
    result.notifications = notify.deliver(home, notify.rollback_notifications(incident))
    _queue_incident(home, {**incident, "notifications": [d.as_json() for d in result.notifications]})
    return result


def _emit_rollback_event(home: Path, entry: LedgerEntry) -> str:
    event = {
        "event": "rollback.executed", "event_id": f"rollback-{entry.id}", "timestamp": entry.timestamp,
        "phase_from": entry.phase_from, "phase_to": entry.phase_to,
        "trigger_metric": ",".join(entry.trigger_rules) or "manual", "executor": entry.executor,
        "reason": entry.reason,
    }
    result = collect(home / LOG_RELDIR, [("rolloutctl rollback", [json.dumps(event).encode("utf-8")])])
    if result.rejected:
        raise ConfigError(f"the Collector rejected rollback.executed: {result.rejected[0]['message']}")
    return str(Path(result.files[0]).relative_to(Path(home).resolve()))


def _queue_incident(home: Path, incident: dict) -> None:
    """Add or update (same id) an entry of incident_queue.json, rewritten atomically (under the caller's lock)."""
    path = Path(home) / INCIDENT_QUEUE
    queue = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    if not isinstance(queue, list):
        raise ConfigError(f"{path}: expected a JSON list")
    ids = [q.get("id") for q in queue]
    if incident["id"] in ids:
        queue[ids.index(incident["id"])] = incident
    else:
        queue.append(incident)
    atomic_write_json(path, queue)
