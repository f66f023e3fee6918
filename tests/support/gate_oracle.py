"""An independent implementation of SPEC §5–§7 in plain Python and numpy, straight from raw.events.

It shares nothing with the dbt models but the SPEC: it computes the windowed metrics itself (numpy.percentile for
the p95, k/n for rates), the metric status of §6, every default rule of §7 and the decision. Tests compare it with
marts.gate_decisions and marts.gate_rule_results at every grid time of every phase.

Where the SPEC leaves a rule's "insufficient data" open, this follows the documented choices of governance/gate_rules
(clean days lacking some day, zero-violations with no evaluable SLO row, no SLO row evaluable for the sustained rule).
"""
from __future__ import annotations

import bisect
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np

PHASES = ["A-0", "A-1", "A-2", "B-0", "B-1"]
Q = timedelta(minutes=15)
H = timedelta(hours=1)
D = timedelta(hours=24)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# SPEC §6: (metric, dimension, window) → (breach direction, warn, critical, min samples, phases it applies to)
THRESHOLDS = {
    ("autosave_p95", "all", "1h"): ("above", 700, 900, 20, {"A-1", "A-2", "B-0", "B-1"}),
    ("restore_success_rate", "overall", "24h"): ("below", 0.97, 0.995, 50, {"A-1", "A-2", "B-0", "B-1"}),
    ("merge_auto_success_rate", "overall", "24h"): ("below", 0.85, 0.80, 50, {"B-0", "B-1"}),
}


def floor15(t: datetime) -> datetime:
    s = int((t - EPOCH).total_seconds() // 900) * 900
    return EPOCH + timedelta(seconds=s)


def day_of(t: datetime) -> date:
    return (t - Q).date()


@dataclass
class Series:
    """Events of one phase and kind, sorted by time, with values."""
    times: list = field(default_factory=list)
    values: list = field(default_factory=list)

    def window(self, start: datetime, end: datetime) -> list:
        lo = bisect.bisect_left(self.times, start)
        hi = bisect.bisect_left(self.times, end)
        return self.values[lo:hi]


@dataclass
class RuleOutcome:
    rule_id: str
    kind: str
    status: str   # passed / not_met / fired / clear / insufficient_data

    @property
    def counts(self) -> bool:
        return self.status in ("passed", "fired")


@dataclass
class Decision:
    phase: str
    eval_at: datetime
    decision: str
    next_phase: str | None
    rollback_to: str | None
    deciding: list[str]
    rules: dict[str, RuleOutcome]


class Oracle:
    def __init__(self, events: list[tuple[str, str, datetime, dict]], ledger: list[dict] | None = None,
                 complete_rcas: set[str] | None = None, crash_baseline_override: float | None = None):
        """events: (event, phase, event_at, payload); ledger: dicts with id, action, phase_to, effective_at."""
        self.ledger = ledger or []
        self.complete_rcas = complete_rcas or set()
        bounds: dict[str, list[datetime]] = {}
        s = defaultdict(Series)
        qa = defaultdict(list)          # (phase, suite) -> [(t, case, result)]
        a0_sessions = []
        for event, phase, t, p in sorted(events, key=lambda e: e[2]):
            b = bounds.setdefault(phase, [t, t])
            b[0], b[1] = min(b[0], t), max(b[1], t)

            def add(name, value):
                s[(phase, name)].times.append(t)
                s[(phase, name)].values.append(value)

            if event == "autosave.save.completed":
                add("save_ms", float(p["duration_ms"]))
            elif event == "autosave.restore.result":
                add("restore", bool(p["success"]))
            elif event == "merge.diff.apply":
                add("merge", bool(p["auto_accepted"]))
            elif event == "app.session.ended":
                add("session", bool(p["crashed"]))
                if phase == "A-0":
                    a0_sessions.append(bool(p["crashed"]))
            elif event == "bug.reported" and p["severity"] == "critical":
                add("critical_bug", 1)
            elif event == "incident.declared":
                add("incident_" + p["severity"], 1)
            elif event == "qa.case.result":
                qa[(phase, p["suite"])].append((t, p["case_id"], p["result"]))
        self.series = s
        self.qa = qa
        if crash_baseline_override is not None:
            self.baseline = crash_baseline_override
        else:
            self.baseline = (sum(a0_sessions) / len(a0_sessions)) if a0_sessions else None
        self.grid = {}
        for phase, (first, last) in bounds.items():
            t, end, ts = floor15(first) + Q, floor15(last) + Q, []
            while t <= end:
                ts.append(t)
                t += Q
            self.grid[phase] = ts
        self.first_event = {phase: b[0] for phase, b in bounds.items()}
        self._status_cache: dict = {}

    # --- SPEC §5 metrics -------------------------------------------------------------------------------------
    def p95(self, phase, T, w):
        xs = self.series[(phase, "save_ms")].window(T - w, T)
        return (float(np.percentile(np.array(xs), 95)) if xs else None), len(xs)

    def rate(self, phase, name, T, w):
        xs = self.series[(phase, name)].window(T - w, T)
        return ((sum(xs) / len(xs)) if xs else None), len(xs)

    def count(self, phase, name, T, w):
        return len(self.series[(phase, name)].window(T - w, T))

    def metric(self, phase, key, T):
        name, _dim, win = key
        w = H if win == "1h" else D
        if name == "autosave_p95":
            return self.p95(phase, T, w)
        return self.rate(phase, {"restore_success_rate": "restore", "merge_auto_success_rate": "merge"}[name], T, w)

    # --- SPEC §6 status ---------------------------------------------------------------------------------------
    def status(self, phase, key, T) -> str:
        ck = (phase, key, T)
        if ck in self._status_cache:
            return self._status_cache[ck]
        direction, warn, crit, min_n, phases = THRESHOLDS[key]
        if phase not in phases:
            st = "not_applicable"
        else:
            v, n = self.metric(phase, key, T)
            if n < min_n or v is None:
                st = "insufficient_data"
            else:
                breach = (lambda lv: v > lv) if direction == "above" else (lambda lv: v < lv)
                st = "critical" if breach(crit) else "warn" if breach(warn) else "ok"
        self._status_cache[ck] = st
        return st

    # --- helpers of §7 ----------------------------------------------------------------------------------------
    def breach_hours(self, phase, T) -> int:
        n = 0
        for Tp in self.grid[phase]:
            if Tp > T:
                break
            if Tp.minute == 0 and day_of(Tp) == day_of(T):
                v, k = self.p95(phase, Tp, H)
                if k >= 20 and v > 2500:
                    n += 1
        return n

    def qa_latest(self, phase, suite, T):
        latest = {}
        # fail counts as the later of two results at the same instant
        for t, case, result in sorted(self.qa[(phase, suite)], key=lambda r: (r[0], r[2] == "fail")):
            if t < T:
                latest[case] = result
        passing = sum(1 for r in latest.values() if r == "pass")
        return passing, len(latest) - passing

    def qa_passes(self, phase, suite, T):
        return sum(1 for t, _c, r in self.qa[(phase, suite)] if t < T and r == "pass")

    def phase_start(self, phase, T):
        entered = [e["effective_at"] for e in self.ledger if e["phase_to"] == phase and e["effective_at"] <= T]
        return max(entered) if entered else self.first_event[phase]

    # --- §7 rules ---------------------------------------------------------------------------------------------
    def rules(self, phase, T) -> dict[str, RuleOutcome]:
        out: dict[str, RuleOutcome] = {}

        def rollback(rule_id, cond, insufficient=False, kind="rollback"):
            out[rule_id] = RuleOutcome(rule_id, kind, "insufficient_data" if insufficient else
                                       ("fired" if cond else "clear"))

        def promote(rule_id, cond, insufficient=False):
            out[rule_id] = RuleOutcome(rule_id, "promote", "insufficient_data" if insufficient else
                                       ("passed" if cond else "not_met"))

        p95_1h, n_1h = self.p95(phase, T, H)
        p95_24h, n_24h = self.p95(phase, T, D)
        restore, n_restore = self.rate(phase, "restore", T, D)
        slo_keys = list(THRESHOLDS)

        if phase == "A-0":
            rollback("a0_review_breach_hours", self.breach_hours(phase, T) >= 3, kind="review")
            promote("a0_promote_no_review", out["a0_review_breach_hours"].status != "fired")
        if phase in ("A-1", "A-2"):
            st = self.status(phase, ("autosave_p95", "all", "1h"), T)
            rollback(f"{phase[0].lower()}{phase[2]}_rollback_p95_critical", st == "critical",
                     st == "insufficient_data")
            rollback(f"{phase[0].lower()}{phase[2]}_rollback_breach_hours", self.breach_hours(phase, T) >= 3)
        if phase == "A-1":
            promote("a1_promote_p95_24h", n_24h >= 20 and p95_24h <= 2500, n_24h < 20)
            promote("a1_promote_autosave_qa", self.qa_latest(phase, "autosave_qa", T)[0] >= 10)
            rollback("a1_rollback_p95_1h", n_1h >= 20 and p95_1h > 2500, n_1h < 20)
            rollback("a1_rollback_restore_24h", n_restore >= 50 and restore < 0.995, n_restore < 50)
        if phase == "A-2":
            passing, failing = self.qa_latest(phase, "restore_qa", T)
            promote("a2_promote_restore_qa", passing >= 12 and failing == 0)
            start = self.phase_start(phase, T)
            crit = evaluable = 0
            for Tp in self.grid[phase]:
                if start < Tp <= T:
                    for k in slo_keys:
                        st = self.status(phase, k, Tp)
                        crit += st == "critical"
                        evaluable += st in ("ok", "warn", "critical")
            promote("a2_promote_zero_slo_violations", crit == 0, evaluable == 0)
            rollback("a2_rollback_restore_failure", n_restore >= 50 and restore <= 0.995, n_restore < 50)
            crash, n_crash = self.rate(phase, "session", T, D)
            insufficient = n_crash < 50 or self.baseline is None
            rollback("a2_rollback_crash_rate", not insufficient and crash > 1.05 * self.baseline, insufficient)
        if phase == "B-0":
            promote("b0_promote_merge_qa", self.qa_latest(phase, "merge_qa", T)[0] >= 20)
            merge, n_merge = self.rate(phase, "merge", T, D)
            promote("b0_promote_merge_rate", n_merge >= 50 and merge >= 0.80, n_merge < 50)
            rollback("b0_rollback_merge_rate", n_merge >= 50 and merge < 0.80, n_merge < 50)
            rollback("b0_rollback_critical_bugs", self.count(phase, "critical_bug", T, D) > 3)
        if phase == "B-1":
            days = [day_of(T) - timedelta(days=i) for i in range(1, 6)]
            present, dirty = set(), set()
            for Tp in self.grid[phase]:
                d = day_of(Tp)
                if d in days:
                    present.add(d)
                    if any(self.status(phase, k, Tp) == "critical" for k in slo_keys):
                        dirty.add(d)
            promote("b1_promote_clean_days", len(present) == 5 and not dirty, not dirty and len(present) < 5)
            promote("b1_promote_release_notes", self.qa_passes(phase, "release_notes", T) >= 1)
            window = [Tp for Tp in self.grid[phase] if T - D < Tp <= T]
            sustained = len(window) == 96 and any(
                all(self.status(phase, k, Tp) == "critical" for Tp in window) for k in slo_keys)
            evaluable_now = any(self.status(phase, k, T) in ("ok", "warn", "critical") for k in slo_keys)
            rollback("b1_rollback_sustained_critical", sustained, not evaluable_now)
            rollback("b1_rollback_sev1_incident", self.count(phase, "incident_sev1", T, D) >= 1)
        return out

    def decide(self, phase, T) -> Decision:
        rules = self.rules(phase, T)
        fired = lambda kind: sorted(r.rule_id for r in rules.values() if r.kind == kind and r.status == "fired")
        promotes = sorted(r.rule_id for r in rules.values() if r.kind == "promote")
        blockers = sorted(r.rule_id for r in rules.values() if r.kind == "promote" and r.status != "passed")
        rca_block = any(e["action"] == "rollback" and e["phase_to"] == phase and e["effective_at"] <= T
                        and e["id"] not in self.complete_rcas for e in self.ledger)
        i = PHASES.index(phase)
        if fired("rollback"):
            return Decision(phase, T, "rollback", None, PHASES[i - 1] if i else None, fired("rollback"), rules)
        if fired("review"):
            return Decision(phase, T, "review", None, None, fired("review"), rules)
        if not blockers and not rca_block:
            return Decision(phase, T, "promote", PHASES[i + 1] if i + 1 < len(PHASES) else None, None, promotes,
                            rules)
        return Decision(phase, T, "hold", None, None, blockers, rules)

    def all_decisions(self):
        for phase in PHASES:
            for T in self.grid.get(phase, []):
                yield self.decide(phase, T)


def events_from_warehouse(con) -> list[tuple[str, str, datetime, dict]]:
    rows = con.execute("select event, phase, event_at, cast(payload as varchar) from raw.events").fetchall()
    return [(e, p, t.astimezone(UTC), json.loads(payload)) for e, p, t, payload in rows]


def compare_with_oracle(con, oracle) -> list[str]:
    """Every grid decision and rule status of the marts against the oracle's; the first 20 differences."""

    decisions = {(p, ts.astimezone(UTC)): (d, n, r, sorted(ids)) for p, ts, d, n, r, ids in con.execute(
        "select phase, eval_at, decision, next_phase, rollback_to, deciding_rule_ids from marts.gate_decisions"
    ).fetchall()}
    statuses = {(p, ts.astimezone(UTC), rid): st for p, ts, rid, st in con.execute(
        "select phase, eval_at, rule_id, status from marts.gate_rule_results").fetchall()}
    mismatches, seen = [], 0
    for d in oracle.all_decisions():
        seen += 1
        expected = (d.decision, d.next_phase, d.rollback_to, sorted(d.deciding))
        got = decisions.get((d.phase, d.eval_at))
        if got != expected:
            mismatches.append(f"{d.phase} {d.eval_at}: marts {got}, oracle {expected}")
        for rule_id, outcome in d.rules.items():
            got_status = statuses.get((d.phase, d.eval_at, rule_id))
            if got_status != outcome.status:
                mismatches.append(f"{d.phase} {d.eval_at} {rule_id}: marts {got_status}, oracle {outcome.status}")
    assert seen == len(decisions), "the grids differ"
    return mismatches[:20]
