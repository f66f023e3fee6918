"""Acting on the gate: promotions and rollbacks, from `gate --apply` or the manual `promote` / `rollback`.

Every action runs under the home's governance lock (a second operator gets ActionInProgress and nothing happens),
re-reads the ledger inside it, freezes a copy of the analyzer output, and writes its whole plan to
governance/pending-action.json (governance.pending: the commit point). It then records, in this order: the phase's
flag defaults, the audit line, the ledger entry; a rollback then opens the RCA stub, emits `rollback.executed`
through the Collector, appends `notify_rollback` to incident_queue.json and notifies Slack and PagerDuty (a failed
send is queued in the outbox and never undoes or blocks the rollback). Every step is idempotent: a process killed
at any point leaves each file before or after its step, and the next action completes the plan first
(complete_pending), so the action happens exactly once.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from ingest.collector import collect, log_file_for
from ingest.events import load_schemas
from rolloutctl.core.errors import ActionRefused, ConfigError, RcaMissing, UsageError
from rolloutctl.core.files import atomic_write_bytes, atomic_write_json, governance_lock, sha256_file
from rolloutctl.core.layout import INCIDENT_QUEUE_RELPATH, LOGS_RELDIR, METRICS_SNAPSHOTS_RELDIR, event_schema_files
from rolloutctl.core.phases import check as check_phase
from rolloutctl.core.phases import next_phase, order
from rolloutctl.core.timestamps import iso_z, utc_now
from rolloutctl.decision.cycle import GateRun, evaluate
from rolloutctl.decision.verdict import DASHBOARD_URL
from rolloutctl.governance import audit, flags, ledger, notify, pending, rca
from rolloutctl.governance.ledger import LedgerEntry
from rolloutctl.verification import replay


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
    completed: ActionResult | None = None   # an interrupted earlier action this run finished first

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
        if self.completed:
            doc["completed_interrupted"] = self.completed.as_json()
        return doc


def gate(home: Path, *, phase: str | None = None, at: datetime | None = None, rebuild: bool = True,
         apply: bool = False, executor: str | None = None, rollback_to: str | None = None,
         target: str | None = None) -> GateOutcome:
    """`rolloutctl gate`: evaluate, and with `apply` act on the decision (promote or roll back)."""
    if not apply:
        if executor or rollback_to:
            raise UsageError("--executor and --to only make sense with --apply")
        return GateOutcome(evaluate(home, phase=phase, at=at, rebuild=rebuild, target=target))
    if not executor:
        raise UsageError("--apply needs --executor NAME (recorded in the ledger and the audit log)")
    with governance_lock(home, f"gate --apply by {executor}"):
        completed = complete_pending(home)
        outbox = notify.flush_outbox(home)
        run = evaluate(home, phase=phase, at=at, rebuild=rebuild, target=target)
        ev = run.evaluation
        if ev.phase != run.current_phase:
            raise UsageError(f"--apply acts on the current phase ({run.current_phase}), not {ev.phase}")
        outcome = GateOutcome(run, outbox=outbox, completed=completed)
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
        completed = complete_pending(home)
        run = evaluate(home, rebuild=rebuild)
        ev, current = run.evaluation, run.current_phase
        if _is_rerun_of(completed, "promote", to, current):
            return GateOutcome(run, completed, note=f"completed the interrupted promotion to {to} "
                                                    f"({completed.entry.id}); nothing more to do")
        if to == current and entries_into(home, to):
            raise ActionRefused(f"the current phase is already {to} ({entries_into(home, to)}): nothing to do")
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
        completed = complete_pending(home)
        run = evaluate(home, rebuild=rebuild)
        if _is_rerun_of(completed, "rollback", to, run.current_phase):
            return GateOutcome(run, completed, note=f"completed the interrupted rollback to {to} "
                                                    f"({completed.entry.id}); nothing more to do")
        if to == run.current_phase and entries_into(home, to):
            raise ActionRefused(f"the current phase is already {to} ({entries_into(home, to)}): nothing to do")
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


def complete_pending(home: Path) -> ActionResult | None:
    """Finish the action an earlier process was killed in (call under the governance lock); None when there is none."""
    plan = pending.read(home)
    if plan is None:
        return None
    entries = ledger.read(home)
    entry = plan["entry"]
    if entry["id"] not in {e.id for e in entries} and ledger.current_phase(entries) != entry["phase_from"]:
        raise ConfigError(f"{pending.PENDING_RELPATH}: the interrupted action {pending.describe(plan)} starts from "
                          f"{entry['phase_from']}, but the ledger is at {ledger.current_phase(entries)} (edited by "
                          f"hand?); compare it with the ledger and audit log, then remove it")
    return _carry_out(Path(home), plan)


def entries_into(home: Path, phase: str) -> str:
    """The ledger entry that entered `phase` last, in words ("" when none)."""
    e = ledger.last_entry_into(ledger.read(home), phase)
    return f"{e.action} {e.phase_from} → {e.phase_to} as {e.id} by {e.executor} at {e.timestamp}" if e else ""


def _is_rerun_of(completed: ActionResult | None, action: str, to: str, current: str) -> bool:
    """The command run again after its own interrupted run: complete_pending already did what it asks."""
    return bool(completed and completed.action == action and completed.entry.phase_to == to == current)


def record_transition(home: Path, run: GateRun, action: str, to: str, executor: str, reason: str,
                trigger_rules: list[str], forced: bool = False) -> ActionResult:
    """Record a phase change, and for a rollback the whole rollback procedure (call under the governance lock).

    Plans everything first and writes the plan (governance.pending), then carries it out."""
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
        rel = METRICS_SNAPSHOTS_RELDIR / f"{entry.id}.json"
        atomic_write_bytes(home / rel, (home / run.metrics_file).read_bytes())
        entry.metrics_file, entry.metrics_sha256 = str(rel), sha256_file(home / rel)
    if action == "rollback":
        entry.rca_file = str(rca.stub_relpath(entry))
    record = audit.prepare(home, {
        "action": action, "phase": current, "phase_from": current, "phase_to": to, "executor": executor,
        "reason": reason, "forced": forced, "ledger_entry": entry.id, "effective_at": entry.timestamp,
        "trigger_rules": entry.trigger_rules, "metrics_file": entry.metrics_file,
        "metrics_snapshot": entry.metrics_sha256,
        **replay.audit_fields(home, run, len(entries)),     # seeds, version, raw counts, verdict: for audit replay
    })
    entry.audit_seq, entry.audit_hash = record["seq"], record["hash"]
    plan = {"action": action, "entry": entry.as_dict(), "audit": record,
            "flags": "rollback" if action == "rollback" else "push"}
    if action == "rollback":
        plan["rollback"] = {
            "rules": [asdict(r) for r in ev.rules if r.rule_id in trigger_rules],
            "incident": {
                "action": "notify_rollback", "id": entry.id, "created_at": entry.recorded_at,
                "eval_at": entry.timestamp, "phase_from": entry.phase_from, "phase_to": entry.phase_to,
                "trigger_rules": entry.trigger_rules, "executor": executor, "reason": reason,
                "metrics_file": entry.metrics_file, "rca_file": entry.rca_file, "dashboard": DASHBOARD_URL,
            },
        }
    pending.write(home, plan)
    return _carry_out(home, plan)


def rollback_procedure(home: Path, run: GateRun, to: str, executor: str, reason: str,
              trigger_rules: list[str]) -> ActionResult:
    return record_transition(home, run, "rollback", to, executor, reason, trigger_rules)


def _carry_out(home: Path, plan: dict) -> ActionResult:
    """Carry out an action's plan; every step is idempotent, so a plan interrupted anywhere can be carried out again."""
    entry = LedgerEntry(**plan["entry"])
    flags.write_defaults(home, entry.phase_to, plan["flags"])
    line = audit.write(home, plan["audit"])
    if entry.id not in {e.id for e in ledger.read(home)}:
        ledger.append(home, entry)
    result = ActionResult(plan["action"], entry, line.where, str(flags.FLAG_DEFAULTS_RELPATH))
    if "rollback" in plan:
        result.rca_file = str(rca.open_stub(home, entry, plan["rollback"]["rules"]))
        result.event_file = _emit_rollback_event(home, entry)
        result.notifications = _notify_once(home, plan["rollback"]["incident"])
    pending.clear(home)
    return result


def _notify_once(home: Path, incident: dict) -> list[notify.Delivery]:
    """Queue the incident and deliver its notifications, skipping those a killed run already recorded."""
    queued = _queued_incident(home, incident["id"])
    done = {d["id"]: notify.Delivery(**d) for d in (queued or {}).get("notifications", [])}
    if queued is None:
        _queue_incident(home, incident)
    deliveries: list[notify.Delivery] = []
    for note in notify.rollback_notifications(incident):
        deliveries += [done[note.id]] if note.id in done else notify.deliver(home, [note])
        _queue_incident(home, {**incident, "notifications": [d.as_json() for d in deliveries]})
    return deliveries


def _emit_rollback_event(home: Path, entry: LedgerEntry) -> str:
    """Emit `rollback.executed` through the Collector, once: a line with its event_id already in the log counts."""
    event = {
        "event": "rollback.executed", "event_id": f"rollback-{entry.id}", "timestamp": entry.timestamp,
        "phase_from": entry.phase_from, "phase_to": entry.phase_to,
        "trigger_metric": ",".join(entry.trigger_rules) or "manual", "executor": entry.executor,
        "reason": entry.reason,
    }
    schemas = load_schemas(event_schema_files(home))
    target = log_file_for(Path(home) / LOGS_RELDIR, event, schemas)
    if target.exists() and event["event_id"] in _event_ids(target):
        return str(target.relative_to(Path(home).resolve()))
    result = collect(home / LOGS_RELDIR, [("rolloutctl rollback", [json.dumps(event).encode("utf-8")])],
                     schemas=schemas)
    if result.rejected:
        raise ConfigError(f"the Collector rejected rollback.executed: {result.rejected[0]['message']}")
    return str(Path(result.files[0]).relative_to(Path(home).resolve()))


def _event_ids(path: Path) -> set[str]:
    """event_ids in a log file (logs/rollout/<date>.jsonl holds only rollback.executed: small)."""
    ids = set()
    for raw in path.read_bytes().splitlines():
        try:
            obj = json.loads(raw)
        except ValueError:
            continue        # a torn line: the loader rejects it, and the event is written again whole
        if isinstance(obj, dict) and isinstance(obj.get("event_id"), str):
            ids.add(obj["event_id"])
    return ids


def _queued_incident(home: Path, incident_id: str) -> dict | None:
    path = Path(home) / INCIDENT_QUEUE_RELPATH
    queue = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    return next((q for q in queue if isinstance(q, dict) and q.get("id") == incident_id), None) \
        if isinstance(queue, list) else None


def _queue_incident(home: Path, incident: dict) -> None:
    """Add or update (same id) an entry of incident_queue.json, rewritten atomically (under the caller's lock)."""
    path = Path(home) / INCIDENT_QUEUE_RELPATH
    queue = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    if not isinstance(queue, list):
        raise ConfigError(f"{path}: expected a JSON list")
    ids = [q.get("id") for q in queue]
    if incident["id"] in ids:
        queue[ids.index(incident["id"])] = incident
    else:
        queue.append(incident)
    atomic_write_json(path, queue)
