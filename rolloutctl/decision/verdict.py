"""The gate's answer for one phase at one evaluation time, read from marts.gate_verdicts and gate_rule_results,
and the analyzer output `metrics/autosave_merge/<date>.json` it is recorded with.

The decision itself is computed by the dbt models; this module only chooses which row to read (the current phase's
latest evaluation, or `at`), shapes it (SPEC §8's `--json`), and writes the analyzer output for that day.
gate_verdicts holds the rules' decision of marts.gate_decisions beside the one the gate acts on: promotion waits for
a final grid time and clean data, rollback does not.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from rolloutctl.core.errors import DataError, UsageError
from rolloutctl.core.layout import METRICS_RELDIR
from rolloutctl.core.timestamps import iso_z

EXIT_PROMOTE = 0
EXIT_HOLD = 0
EXIT_ROLLBACK = 3
EXIT_REVIEW = 4
EXIT_CODES = {"promote": EXIT_PROMOTE, "hold": EXIT_HOLD, "rollback": EXIT_ROLLBACK, "review": EXIT_REVIEW}

DASHBOARD_URL = "/dashboards/autosave-merge"
QUARTER = timedelta(minutes=15)


@dataclass
class RuleResult:
    rule_id: str
    kind: str
    measure: str
    metric: str | None
    dimension: str | None
    window: str | None
    value: float | None
    comparator: str
    threshold: float | None
    min_samples: int | None
    sample_count: int | None
    fired: bool
    status: str
    detail: str | None
    description: str
    bound: str = "value"        # value, or lower_bound / upper_bound of the 95% interval (gate_rules.bound)

    def as_json(self) -> dict:
        return {"rule_id": self.rule_id, "kind": self.kind, "value": self.value, "threshold": self.threshold,
                "comparator": self.comparator, "fired": self.fired, "status": self.status}


@dataclass
class Evaluation:
    phase: str
    eval_at: datetime | None            # None: the phase has no evaluation to read (yet)
    decision: str
    reason: str
    next_phase: str | None = None
    rollback_to: str | None = None
    deciding_rule_ids: list[str] = field(default_factory=list)
    insufficient_rule_ids: list[str] = field(default_factory=list)
    blocking_rollback_ids: list[str] = field(default_factory=list)
    phase_started_at: datetime | None = None
    phase_start_source: str | None = None   # ledger | first_event
    rules: list[RuleResult] = field(default_factory=list)
    rules_decision: str | None = None       # marts.gate_decisions at eval_at (SPEC §7)
    rules_reason: str | None = None
    differs_because: list[str] = field(default_factory=list)   # data_quality, not_final
    is_final: bool | None = None
    watermark_at: datetime | None = None    # the lowest watermark among the phase's finality streams
    final_until: datetime | None = None     # the latest final grid time of the phase
    latest_eval_at: datetime | None = None  # the phase's latest grid time (later than eval_at when not final)
    watermarks: list[dict] = field(default_factory=list)       # marts.ingest_watermarks
    data_quality: dict | None = None        # marts.data_quality

    @property
    def day(self) -> str | None:
        """T's day: the UTC date of T - 15 min (T = 00:00 closes the previous day)."""
        return (self.eval_at - QUARTER).strftime("%Y-%m-%d") if self.eval_at else None

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.decision]

    def rule(self, rule_id: str) -> RuleResult | None:
        return next((r for r in self.rules if r.rule_id == rule_id), None)

    def as_json(self) -> dict:
        return {
            "phase": self.phase,
            "eval_at": iso_z(self.eval_at) if self.eval_at else None,
            "decision": self.decision,
            "next_phase": self.next_phase,
            "rollback_to": self.rollback_to,
            "reason": self.reason,
            "deciding_rule_ids": self.deciding_rule_ids,
            "insufficient_rule_ids": self.insufficient_rule_ids,
            "blocking_rollback_ids": self.blocking_rollback_ids,
            "phase_started_at": iso_z(self.phase_started_at) if self.phase_started_at else None,
            "rules": [r.as_json() for r in self.rules],
            "rules_decision": self.rules_decision,
            "rules_reason": self.rules_reason,
            "differs_because": self.differs_because,
            "finality": {
                "is_final": self.is_final,
                "latest_eval_at": _iso(self.latest_eval_at),
                "watermark_at": _iso(self.watermark_at),
                "final_until": _iso(self.final_until),
            },
            "watermarks": self.watermarks,
            "data_quality": self.data_quality,
        }


def _iso(t: datetime | None) -> str | None:
    return iso_z(t) if t else None


def no_evaluation(phase: str, reason: str) -> Evaluation:
    return Evaluation(phase=phase, eval_at=None, decision="hold", reason=reason)


def read_evaluation(con: duckdb.DuckDBPyConnection, phase: str, at: datetime | None = None,
                    not_before: datetime | None = None, latest_final: bool = True) -> Evaluation:
    """The decision for `phase` at its latest evaluation time (or the latest one at or before `at`).

    The gate acts on the latest grid time when the rules there roll back or call a review (these may act on a
    grid time that is not final yet), or when it is final; otherwise on the latest final grid time before it, the
    latest whose data is complete (with none yet, the latest grid time: hold, not_final).

    `latest_final=False` reads the latest grid time as it is (audit replay compares that very row).

    `not_before`: when the phase was entered (the ledger). An evaluation older than that belongs to an earlier stay
    in the phase, so the answer is hold (`awaiting_data`) until the phase has an evaluation of its own.
    """
    params: list = [phase]
    where = "phase = ?"
    if at is not None:
        where += " and eval_at <= ?"
        params.append(at)
    columns = """eval_at, decision, reason, next_phase, rollback_to, deciding_rule_ids, insufficient_rule_ids,
               blocking_rollback_ids, phase_started_at, phase_start_source, rules_decision, rules_reason,
               differs_because, is_final, watermark_at, final_until"""
    row = _query(con, f"select {columns} from marts.gate_verdicts where {where} order by eval_at desc limit 1",
                 params).fetchone()
    if row is None:
        if at is not None and _query(con, "select 1 from marts.gate_verdicts where phase = ? limit 1",
                                     [phase]).fetchone():
            raise UsageError(f"no evaluation of {phase} at or before {iso_z(at)}: its evaluations start later")
        return no_evaluation(phase, "no_data")
    latest_at = row[0]
    if latest_final and not row[13] and row[10] not in ("rollback", "review"):
        final = _query(con, f"select {columns} from marts.gate_verdicts where {where} and is_final "
                            f"order by eval_at desc limit 1", params).fetchone()
        row = final or row
    eval_at = row[0]
    if not_before is not None and at is None and eval_at < not_before:
        return no_evaluation(phase, "awaiting_data")
    rules = [RuleResult(*r) for r in _query(con, """
        select rule_id, kind, measure, metric, dimension, "window", value, comparator, threshold, min_samples,
               sample_count, is_fired, status, detail, description, bound
        from marts.gate_rule_results where phase = ? and eval_at = ?
        order by case kind when 'rollback' then 1 when 'review' then 2 else 3 end, rule_id""",
                                                 [phase, eval_at]).fetchall()]
    return Evaluation(phase, eval_at, row[1], row[2], row[3], row[4], list(row[5]), list(row[6]), list(row[7]),
                      row[8], row[9], rules, rules_decision=row[10], rules_reason=row[11],
                      differs_because=list(row[12]), is_final=row[13], watermark_at=row[14], final_until=row[15],
                      latest_eval_at=latest_at, watermarks=read_watermarks(con),
                      data_quality=read_data_quality(con))


def read_watermarks(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """marts.ingest_watermarks as this build saw them, one dict per feature."""
    rows = _query(con, """select feature, watermark_at, allowed_lateness_minutes, is_finality_stream, final_until
                          from marts.ingest_watermarks order by feature""", []).fetchall()
    return [{"feature": f, "watermark_at": _iso(w), "allowed_lateness_minutes": m, "is_finality_stream": s,
             "final_until": _iso(u)} for f, w, m, s, u in rows]


def read_error_budget(con: duckdb.DuckDBPyConnection, phase: str, eval_at: datetime | None) -> list[dict] | None:
    """marts.error_budget of `phase` as it stood at `eval_at`: one dict per thresholded metric that applies in the
    phase ([] when none does), or None when the warehouse was built before the mart existed."""
    if eval_at is None:
        return []
    try:
        rows = con.execute("""
            select metric, dimension, "window", grid_times, evaluated_times, critical_times, critical_share,
                   budget_share, budget_remaining, is_exhausted
            from marts.error_budget where phase = ? and eval_at = ?
            order by metric, dimension, "window" """, [phase, eval_at]).fetchall()
    except duckdb.CatalogException:
        return None
    keys = ("metric", "dimension", "window", "grid_times", "evaluated_times", "critical_times", "critical_share",
            "budget_share", "budget_remaining", "is_exhausted")
    return [dict(zip(keys, r)) for r in rows]


def read_data_quality(con: duckdb.DuckDBPyConnection) -> dict | None:
    """marts.data_quality: the reject share of the 24 h up to the latest ingest and the build's failing tests."""
    row = _query(con, """select is_ok, reject_share, max_reject_share, rejected_lines, ingested_lines,
                                checked_from, checked_through, failing_tests
                         from marts.data_quality""", []).fetchone()
    if row is None:
        return None
    ok, share, max_share, rejected, lines, since, through, failing = row
    return {"ok": ok, "reject_share": share, "max_reject_share": max_share, "rejected_lines": rejected,
            "ingested_lines": lines, "checked_from": _iso(since), "checked_through": _iso(through),
            "failing_tests": list(failing)}


def _query(con, sql: str, params: list):
    try:
        return con.execute(sql, params)
    except duckdb.CatalogException as exc:
        raise DataError(f"the gate marts are not built yet ({exc}); run `rolloutctl build` or `rolloutctl gate` "
                        f"without --no-build") from None


def metrics_relpath(day: str) -> Path:
    return METRICS_RELDIR / f"{day}.json"


def analyzer_output(con: duckdb.DuckDBPyConnection, evaluation: Evaluation) -> dict:
    """Every metric row with its status at every T of the evaluation's day (up to T) for its phase."""
    day_start = datetime.fromisoformat(evaluation.day + "T00:00:00+00:00")
    rows = _query(con, """
        select m.eval_at, m.feature, m.metric, m.dimension, m."window", m.value, m.sample_count,
               s.status, cast(s.warn_level as double), cast(s.critical_level as double),
               cast(s.min_samples as bigint), c.lower_bound, c.upper_bound
        from marts.metrics_windowed as m
        left join marts.metric_status as s
            on s.phase = m.phase and s.eval_at = m.eval_at and s.metric = m.metric
            and s.dimension = m.dimension and s."window" = m."window"
        left join marts.metric_confidence as c
            on c.phase = m.phase and c.eval_at = m.eval_at and c.metric = m.metric
            and c.dimension = m.dimension and c."window" = m."window"
        where m.phase = ? and m.eval_at > ? and m.eval_at <= ? and m.eval_at <= ?
        order by m.eval_at, m.feature, m.metric, m.dimension, m."window"
        """, [evaluation.phase, day_start, day_start + timedelta(days=1), evaluation.eval_at]).fetchall()
    evaluations: dict[str, list[dict]] = {}
    for t, feature, metric, dimension, window, value, n, status, warn, crit, min_n, lower, upper in rows:
        evaluations.setdefault(iso_z(t), []).append({
            "feature": feature, "metric": metric, "dimension": dimension, "window": window, "value": value,
            "sample_count": n, "status": status, "warn_level": warn, "critical_level": crit, "min_samples": min_n,
            "lower_bound": lower, "upper_bound": upper,     # 95% Wilson interval of a rate (marts.metric_confidence)
        })
    return {
        "phase": evaluation.phase,
        "date": evaluation.day,
        "eval_at": iso_z(evaluation.eval_at),
        "decision": evaluation.decision,
        "dashboard": DASHBOARD_URL,
        "evaluations": [{"eval_at": t, "metrics": ms} for t, ms in evaluations.items()],
    }


def format_analyzer_output(doc: dict) -> str:
    """Pretty at the top, one metric row per line (a day holds thousands of rows)."""
    head = {k: v for k, v in doc.items() if k != "evaluations"}
    lines = ["{"] + [f"  {json.dumps(k)}: {json.dumps(v)}," for k, v in head.items()] + ['  "evaluations": [']
    for i, ev in enumerate(doc["evaluations"]):
        lines.append(f'    {{"eval_at": {json.dumps(ev["eval_at"])}, "metrics": [')
        rows = [f"      {json.dumps(m, separators=(', ', ': '))}" for m in ev["metrics"]]
        lines.append(",\n".join(rows))
        lines.append("    ]}" + ("," if i + 1 < len(doc["evaluations"]) else ""))
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"
