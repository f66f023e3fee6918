"""A hand-made rollout in which every default gate rule fires, stays clear and lacks data at known times.

Each phase gets its own dates, and each story its own two-day slot (events only in the slot's first day), so that
no 24h window of one story sees another story's events. `EXPECT` lists (phase, T, rule) → status as SPEC §7 says
it must be; `EXPECT_DECISIONS` the decision at chosen times. The ledger rolls back into A-1 (its RCA decides the
A-1 promotion) and enters A-2 once more (a phase start from the ledger).
"""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

UTC = UTC


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Events:
    def __init__(self):
        self.lines: list[dict] = []
        self.n = 0

    def _add(self, event: str, t: datetime, phase: str, **fields) -> None:
        self.n += 1
        self.lines.append({"event": event, "event_id": f"sc-{self.n}", "ts": iso(t), "phase": phase, **fields})

    def saves(self, phase, start, minutes, count, ms):
        """`count` saves of `ms` ms spread evenly over `minutes` from `start`."""
        for i in range(count):
            self._add("autosave.save.completed", start + timedelta(seconds=i * minutes * 60 / count), phase,
                      feature="autosave", duration_ms=ms, retry_count=0, bytes=1024)

    def restores(self, phase, start, minutes, count, failures):
        for i in range(count):
            ok = i < count - failures          # failures come last
            extra = {} if ok else {"retryable": False}
            self._add("autosave.restore.result", start + timedelta(seconds=i * minutes * 60 / count), phase,
                      feature="autosave", success=ok, source="current" if i % 2 else "history", duration_ms=40,
                      **extra)

    def merges(self, phase, start, minutes, count, accepted, precision):
        for i in range(count):
            self._add("merge.diff.apply", start + timedelta(seconds=i * minutes * 60 / count), phase,
                      feature="merge", precision=precision, auto_accept_ratio=0.9, auto_accepted=i < accepted,
                      hunk_count=3)

    def sessions(self, phase, start, minutes, count, crashes):
        for i in range(count):
            self._add("app.session.ended", start + timedelta(seconds=i * minutes * 60 / count), phase,
                      crashed=i < crashes)

    def bug(self, phase, t, severity):
        self._add("bug.reported", t, phase, severity=severity, bug_id=f"bug-{self.n}")

    def incident(self, phase, t, severity):
        self._add("incident.declared", t, phase, severity=severity, incident_id=f"inc-{self.n}")

    def qa(self, phase, t, suite, case_id, result):
        self._add("qa.case.result", t, phase, suite=suite, case_id=case_id, result=result)

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(e) + "\n" for e in self.lines))
        return path


def build_events() -> Events:
    e = Events()
    # ---- daily breach hours (review); the crash baseline: 1000 sessions, 10 crashes = 0.01
    d = at("2026-01-01T00:00")
    for h in range(3):
        e.saves("A-0", d + timedelta(hours=h), 60, 25, 3000)          # hours 00, 01, 02 breach
    e.saves("A-0", d + timedelta(hours=3), 60, 10, 3000)              # hour 03: too few saves to count
    for h in range(4, 24):
        e.saves("A-0", d + timedelta(hours=h), 60, 25, 400)
    e.saves("A-0", d + timedelta(hours=24), 60, 25, 3000)             # the next day starts from zero
    e.sessions("A-0", d, 24 * 60, 1000, 10)

    # ---- A-1, slot 1: p95 over 1h (rollback > 2500, critical > 900, too few saves)
    d = at("2026-01-10T00:00")
    e.saves("A-1", d, 60, 30, 3000)
    e.saves("A-1", d + timedelta(hours=1), 60, 30, 2500)
    e.saves("A-1", d + timedelta(hours=2), 60, 30, 900)
    e.saves("A-1", d + timedelta(hours=3), 60, 5, 3000)
    # slot 2: p95 over 24h (promote <= 2500)
    d = at("2026-01-12T00:00")
    e.saves("A-1", d, 15, 10, 100)
    e.saves("A-1", d + timedelta(minutes=15), 45, 30, 100)
    e.saves("A-1", d + timedelta(hours=1), 180, 90, 5000)             # hours 01, 02, 03 breach 2500 ms
    # slot 3: restore success over 24h (rollback < 0.995)
    d = at("2026-01-14T00:00")
    e.restores("A-1", d, 15, 30, 0)
    e.restores("A-1", d + timedelta(minutes=15), 45, 170, 1)          # 200 restores, 1 failure: 0.995
    e.restores("A-1", d + timedelta(hours=1), 60, 200, 2)             # 400, 3 failures: 0.9925
    # slot 4: autosave_qa (>= 10 cases whose latest result passes), healthy saves, the RCA block
    d = at("2026-01-16T00:00")
    e.saves("A-1", d, 25, 30, 300)
    for i in range(1, 10):
        e.qa("A-1", d + timedelta(minutes=5), "autosave_qa", f"aq-{i:02d}", "pass")
    e.qa("A-1", d + timedelta(minutes=20), "autosave_qa", "aq-10", "pass")
    e.qa("A-1", d + timedelta(minutes=40), "autosave_qa", "aq-03", "fail")
    e.qa("A-1", d + timedelta(minutes=50), "autosave_qa", "aq-11", "pass")

    # ---- A-2, slot 1: restore failure >= 0.5% (success <= 0.995: the same 0.995 fires here)
    d = at("2026-01-20T00:00")
    e.restores("A-2", d, 15, 30, 0)
    e.restores("A-2", d + timedelta(minutes=15), 45, 170, 1)
    # slot 2: crash rate > 1.05 x baseline (0.0105)
    d = at("2026-01-22T00:00")
    e.sessions("A-2", d, 15, 30, 0)
    e.sessions("A-2", d + timedelta(minutes=15), 45, 70, 1)           # 100 sessions, 1 crash: 0.01
    e.sessions("A-2", d + timedelta(hours=1), 60, 100, 2)             # 200, 3 crashes: 0.015
    # slot 3: breach hours and critical p95 (zero SLO violations no longer holds)
    d = at("2026-01-24T00:00")
    for h in range(3):
        e.saves("A-2", d + timedelta(hours=h), 60, 25, 3000)
    # slot 4: after the ledger re-enters A-2 (2026-01-26T00:00): healthy data, restore_qa
    d = at("2026-01-26T00:00")
    e.saves("A-2", d, 60, 30, 300)
    e.restores("A-2", d, 60, 100, 0)
    for i in range(1, 12):
        e.qa("A-2", d + timedelta(minutes=5), "restore_qa", f"rq-{i:02d}", "pass")
    e.qa("A-2", d + timedelta(minutes=5), "restore_qa", "rq-12", "fail")
    e.qa("A-2", d + timedelta(minutes=35), "restore_qa", "rq-12", "pass")
    e.qa("A-2", d + timedelta(minutes=50), "restore_qa", "rq-13", "fail")

    # ---- B-0, slot 1: merge auto-acceptance (promote >= 0.80, rollback < 0.80)
    d = at("2026-02-01T00:00")
    e.merges("B-0", d, 15, 30, 24, "beta")
    e.merges("B-0", d + timedelta(minutes=15), 45, 70, 56, "beta")    # 100 applies, 80 accepted: 0.80
    e.merges("B-0", d + timedelta(hours=1), 60, 100, 70, "beta")      # 200, 150: 0.75
    # slot 2: critical bugs over 24h (> 3)
    d = at("2026-02-03T00:00")
    for m in (10, 20, 30):
        e.bug("B-0", d + timedelta(minutes=m), "critical")
    e.bug("B-0", d + timedelta(minutes=50), "major")
    e.bug("B-0", d + timedelta(minutes=70), "critical")
    # slot 3: merge_qa (>= 20 cases passing)
    d = at("2026-02-05T00:00")
    for i in range(1, 20):
        e.qa("B-0", d + timedelta(minutes=5), "merge_qa", f"mq-{i:02d}", "pass")
    e.qa("B-0", d + timedelta(minutes=5), "merge_qa", "mq-21", "fail")
    e.qa("B-0", d + timedelta(minutes=20), "merge_qa", "mq-20", "pass")

    # ---- B-1: sev1 incident, release notes, five clean days, then a day of critical p95 (96 in a row)
    d = at("2026-02-10T00:00")
    e.incident("B-1", d + timedelta(hours=3), "sev2")
    e.incident("B-1", d + timedelta(hours=5), "sev1")
    e.qa("B-1", d + timedelta(hours=6), "release_notes", "rn-01", "pass")
    e.qa("B-1", d + timedelta(hours=7), "release_notes", "rn-01", "fail")
    e.saves("B-1", at("2026-02-16T00:00"), 30 * 60, 720, 3000)        # 24 an hour, Feb 16 00:00 to Feb 17 06:00
    e.sessions("B-1", at("2026-02-17T13:00"), 1, 1, 0)                # the grid runs on to Feb 17 13:15
    return e


LEDGER = [
    {"id": "L0001", "action": "rollback", "phase_from": "A-2", "phase_to": "A-1", "executor": "gate",
     "timestamp": "2026-01-16T00:15:00Z", "recorded_at": "2026-01-16T00:15:02Z", "reason": "scenario",
     "forced": False, "trigger_rules": ["a2_rollback_p95_critical"],
     "rca_file": "reports/rca/2026-01-16-L0001-A-2-to-A-1.md"},
    {"id": "L0002", "action": "promote", "phase_from": "A-1", "phase_to": "A-2", "executor": "captain",
     "timestamp": "2026-01-26T00:00:00Z", "recorded_at": "2026-01-26T00:00:02Z", "reason": "scenario",
     "forced": True, "trigger_rules": []},
]


def write_rca(home: Path, status: str) -> None:
    path = home / LEDGER[0]["rca_file"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\nrollback_id: L0001\nstatus: {status}\n---\n# RCA L0001\n")


def write_governance(home: Path, rca_status: str = "draft") -> None:
    path = home / "governance" / "phase-ledger.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(LEDGER, sort_keys=False))
    write_rca(home, rca_status)


# (phase, T, rule) → status, as SPEC §7 says
EXPECT = {
    # daily breach hours >= 3 → review; an hour with < 20 saves does not count; the next day starts at zero
    ("A-0", "2026-01-01T02:00", "a0_review_breach_hours"): ("clear", 2),
    ("A-0", "2026-01-01T03:00", "a0_review_breach_hours"): ("fired", 3),
    ("A-0", "2026-01-01T04:00", "a0_review_breach_hours"): ("fired", 3),
    ("A-0", "2026-01-02T00:00", "a0_review_breach_hours"): ("fired", 3),     # T = 00:00 closes Jan 1
    ("A-0", "2026-01-02T00:15", "a0_review_breach_hours"): ("clear", 0),
    ("A-0", "2026-01-02T01:00", "a0_review_breach_hours"): ("clear", 1),
    ("A-0", "2026-01-01T02:00", "a0_promote_no_review"): ("passed", 0),
    ("A-0", "2026-01-01T03:00", "a0_promote_no_review"): ("not_met", 1),
    # A-1 p95 1h: > 2500 rolls back (2500 itself does not); critical is > 900 (900 itself is not); < 20 saves
    ("A-1", "2026-01-10T01:00", "a1_rollback_p95_1h"): ("fired", 3000),
    ("A-1", "2026-01-10T02:00", "a1_rollback_p95_1h"): ("clear", 2500),
    ("A-1", "2026-01-10T04:00", "a1_rollback_p95_1h"): ("insufficient_data", 3000),
    ("A-1", "2026-01-10T01:00", "a1_rollback_p95_critical"): ("fired", 3000),
    ("A-1", "2026-01-10T02:00", "a1_rollback_p95_critical"): ("fired", 2500),
    ("A-1", "2026-01-10T03:00", "a1_rollback_p95_critical"): ("clear", 900),
    ("A-1", "2026-01-10T04:00", "a1_rollback_p95_critical"): ("insufficient_data", 3000),
    ("A-1", "2026-01-10T01:00", "a1_rollback_breach_hours"): ("clear", 1),
    ("A-1", "2026-01-10T04:00", "a1_rollback_breach_hours"): ("clear", 1),
    ("A-1", "2026-01-12T03:00", "a1_rollback_breach_hours"): ("clear", 2),
    ("A-1", "2026-01-12T04:00", "a1_rollback_breach_hours"): ("fired", 3),
    # A-1 p95 24h <= 2500 promotes
    ("A-1", "2026-01-12T00:15", "a1_promote_p95_24h"): ("insufficient_data", 100),
    ("A-1", "2026-01-12T01:00", "a1_promote_p95_24h"): ("passed", 100),
    ("A-1", "2026-01-12T03:00", "a1_promote_p95_24h"): ("not_met", 5000),
    # A-1 restore success 24h < 0.995 rolls back: exactly 0.995 does not
    ("A-1", "2026-01-14T00:15", "a1_rollback_restore_24h"): ("insufficient_data", 1.0),
    ("A-1", "2026-01-14T01:00", "a1_rollback_restore_24h"): ("clear", 0.995),
    ("A-1", "2026-01-14T02:00", "a1_rollback_restore_24h"): ("fired", 0.9925),
    # A-1 autosave_qa: >= 10 cases whose latest result is pass
    ("A-1", "2026-01-16T00:15", "a1_promote_autosave_qa"): ("not_met", 9),
    ("A-1", "2026-01-16T00:30", "a1_promote_autosave_qa"): ("passed", 10),
    ("A-1", "2026-01-16T00:45", "a1_promote_autosave_qa"): ("not_met", 9),
    ("A-1", "2026-01-16T01:00", "a1_promote_autosave_qa"): ("passed", 10),
    # A-2 restore failure >= 0.5%: success <= 0.995, so exactly 0.995 rolls back here
    ("A-2", "2026-01-20T00:15", "a2_rollback_restore_failure"): ("insufficient_data", 1.0),
    ("A-2", "2026-01-20T00:30", "a2_rollback_restore_failure"): ("clear", 1.0),
    ("A-2", "2026-01-20T01:00", "a2_rollback_restore_failure"): ("fired", 0.995),
    # A-2 crash rate 24h > 1.05 x the A-0 baseline (0.01)
    ("A-2", "2026-01-22T00:15", "a2_rollback_crash_rate"): ("insufficient_data", 0.0),
    ("A-2", "2026-01-22T01:00", "a2_rollback_crash_rate"): ("clear", 0.01),
    ("A-2", "2026-01-22T02:00", "a2_rollback_crash_rate"): ("fired", 0.015),
    # A-2 breach hours and critical p95
    ("A-2", "2026-01-24T02:00", "a2_rollback_breach_hours"): ("clear", 2),
    ("A-2", "2026-01-24T03:00", "a2_rollback_breach_hours"): ("fired", 3),
    ("A-2", "2026-01-24T01:00", "a2_rollback_p95_critical"): ("fired", 3000),
    ("A-2", "2026-01-24T00:15", "a2_rollback_p95_critical"): ("insufficient_data", 3000),
    ("A-2", "2026-01-24T05:00", "a2_rollback_p95_critical"): ("insufficient_data", None),
    ("A-2", "2026-01-26T01:00", "a2_rollback_p95_critical"): ("clear", 300),
    # A-2 zero SLO violations since the phase started (first event; from 2026-01-26 the ledger)
    ("A-2", "2026-01-20T00:15", "a2_promote_zero_slo_violations"): ("insufficient_data", 0),
    ("A-2", "2026-01-20T01:00", "a2_promote_zero_slo_violations"): ("passed", 0),
    # (1h p95 critical at 01:00, and the restore rate of slot 1 critical at 3 evaluations as its successes leave
    # the 24h window: 169/170 < 0.995 on 2026-01-21 from 00:15 to 00:45)
    ("A-2", "2026-01-21T00:15", "a2_promote_zero_slo_violations"): ("not_met", 1),
    ("A-2", "2026-01-24T01:00", "a2_promote_zero_slo_violations"): ("not_met", 4),
    ("A-2", "2026-01-26T00:15", "a2_promote_zero_slo_violations"): ("insufficient_data", 0),
    ("A-2", "2026-01-26T01:00", "a2_promote_zero_slo_violations"): ("passed", 0),
    # A-2 restore_qa: 12 cases, all latest results pass
    ("A-2", "2026-01-26T00:15", "a2_promote_restore_qa"): ("not_met", 11),
    ("A-2", "2026-01-26T00:45", "a2_promote_restore_qa"): ("passed", 12),
    ("A-2", "2026-01-26T01:00", "a2_promote_restore_qa"): ("not_met", 12),
    # B-0 merge auto-acceptance: promote >= 0.80, roll back < 0.80
    ("B-0", "2026-02-01T00:15", "b0_promote_merge_rate"): ("insufficient_data", 0.8),
    ("B-0", "2026-02-01T01:00", "b0_promote_merge_rate"): ("passed", 0.8),
    ("B-0", "2026-02-01T02:00", "b0_promote_merge_rate"): ("not_met", 0.75),
    ("B-0", "2026-02-01T00:15", "b0_rollback_merge_rate"): ("insufficient_data", 0.8),
    ("B-0", "2026-02-01T01:00", "b0_rollback_merge_rate"): ("clear", 0.8),
    ("B-0", "2026-02-01T02:00", "b0_rollback_merge_rate"): ("fired", 0.75),
    # B-0 critical bugs over 24h > 3
    ("B-0", "2026-02-03T01:00", "b0_rollback_critical_bugs"): ("clear", 3),
    ("B-0", "2026-02-03T01:15", "b0_rollback_critical_bugs"): ("fired", 4),
    ("B-0", "2026-02-04T00:15", "b0_rollback_critical_bugs"): ("clear", 3),
    # B-0 merge_qa >= 20
    ("B-0", "2026-02-05T00:15", "b0_promote_merge_qa"): ("not_met", 19),
    ("B-0", "2026-02-05T00:30", "b0_promote_merge_qa"): ("passed", 20),
    # B-1 sev1 incident in [T - 24h, T)
    ("B-1", "2026-02-10T05:00", "b1_rollback_sev1_incident"): ("clear", 0),
    ("B-1", "2026-02-10T05:15", "b1_rollback_sev1_incident"): ("fired", 1),
    ("B-1", "2026-02-11T05:00", "b1_rollback_sev1_incident"): ("fired", 1),
    ("B-1", "2026-02-11T05:15", "b1_rollback_sev1_incident"): ("clear", 0),
    # B-1 release notes have a pass in the phase
    ("B-1", "2026-02-10T06:00", "b1_promote_release_notes"): ("not_met", 0),
    ("B-1", "2026-02-10T06:15", "b1_promote_release_notes"): ("passed", 1),
    ("B-1", "2026-02-10T08:00", "b1_promote_release_notes"): ("passed", 1),
    # B-1 five clean days before T's day
    ("B-1", "2026-02-14T12:00", "b1_promote_clean_days"): ("insufficient_data", 4),
    ("B-1", "2026-02-15T12:00", "b1_promote_clean_days"): ("passed", 5),
    ("B-1", "2026-02-16T00:30", "b1_promote_clean_days"): ("passed", 5),
    ("B-1", "2026-02-17T12:00", "b1_promote_clean_days"): ("not_met", 4),
    # B-1 one SLO row critical at all 96 evaluations of the trailing 24h
    ("B-1", "2026-02-16T00:30", "b1_rollback_sustained_critical"): ("insufficient_data", 0),
    ("B-1", "2026-02-17T00:30", "b1_rollback_sustained_critical"): ("clear", 95),
    ("B-1", "2026-02-17T00:45", "b1_rollback_sustained_critical"): ("fired", 96),
}

# (phase, T) → (decision, reason, next_phase, rollback_to)
EXPECT_DECISIONS = {
    ("A-0", "2026-01-01T02:00"): ("promote", "promote_rules_passed", "A-1", None),
    ("A-0", "2026-01-01T03:00"): ("review", "review_rule_fired", None, None),
    ("A-1", "2026-01-10T01:00"): ("rollback", "rollback_rule_fired", None, "A-0"),
    ("A-1", "2026-01-16T00:30"): ("hold", "rca_missing", None, None),
    ("A-1", "2026-01-16T00:45"): ("hold", "promote_rules_not_met", None, None),
    ("A-1", "2026-01-12T00:15"): ("hold", "promote_rules_not_met", None, None),
    ("A-2", "2026-01-20T01:00"): ("rollback", "rollback_rule_fired", None, "A-1"),
    ("A-2", "2026-01-26T00:45"): ("promote", "promote_rules_passed", "B-0", None),
    ("B-0", "2026-02-01T02:00"): ("rollback", "rollback_rule_fired", None, "A-2"),
    ("B-1", "2026-02-10T05:15"): ("rollback", "rollback_rule_fired", None, "B-0"),
    ("B-1", "2026-02-16T00:30"): ("promote", "promote_rules_passed", None, None),
    ("B-1", "2026-02-14T12:00"): ("hold", "insufficient_data", None, None),
}
