"""Helpers of the gate tests: gate evaluations recorded without a warehouse."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rolloutctl.core.files import sha256_file
from rolloutctl.core.phases import PHASES
from rolloutctl.decision.cycle import GateRun
from rolloutctl.decision.verdict import Evaluation, metrics_relpath
from rolloutctl.governance.actions import record_transition


def t(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def recorded_run(home: Path, phase: str, eval_at: str, decision: str = "promote", current: str | None = None,
                 rules: list[str] | None = None) -> GateRun:
    """A gate evaluation as `evaluate` returns it, with an analyzer output file written for its day."""
    ev = Evaluation(phase=phase, eval_at=t(eval_at), decision=decision, reason="test",
                    deciding_rule_ids=rules or [])
    rel = metrics_relpath(ev.day)
    path = home / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"phase": phase, "date": ev.day, "eval_at": eval_at, "evaluations": []}) + "\n")
    return GateRun(ev, current or phase, str(rel), sha256_file(path), None)




def promoted_to(home: Path, phase: str, start: str = "2026-11-01T12:00:00Z") -> None:
    """Record promotions A-0 → … → phase, 12 hours apart, as `gate --apply` would."""
    at = t(start)
    for src, dst in zip(PHASES, PHASES[1:PHASES.index(phase) + 1]):
        record_transition(home, recorded_run(home, src, at.strftime("%Y-%m-%dT%H:%M:%SZ")), "promote", dst,
                          "captain", "test promotion", [])
        at += timedelta(hours=12)
