"""The daily rollout report, reports/rollout/<date>.md, rendered from templates/reports/rollout_phase.md.

Everything in it comes from the gate's evaluation, the analyzer output of the same day (latest metrics, hourly
trends), the ledger and RCA files (rollbacks), and the incidents declared in the 24 h before T.
"""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import duckdb

from rolloutctl.core.files import atomic_write_text
from rolloutctl.core.layout import REPORT_RELDIR
from rolloutctl.core.templates import render
from rolloutctl.core.timestamps import iso_z
from rolloutctl.core.windows import WINDOWS
from rolloutctl.decision.charts import chart_markdown
from rolloutctl.decision.verdict import DASHBOARD_URL, Evaluation
from rolloutctl.governance import ledger, rca
from rolloutctl.simulation import record

TREND_METRICS = (("autosave_p95", "all"), ("restore_success_rate", "overall"), ("merge_auto_success_rate", "overall"))
STATUS_MARKS = {"passed": "✅", "clear": "✅", "fired": "🔴", "not_met": "⏳", "insufficient_data": "❔"}


def report_relpath(day: str) -> Path:
    return REPORT_RELDIR / f"{day}.md"


def fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.4f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def reasons(ev: Evaluation) -> list[str]:
    by_id = {r.rule_id: r for r in ev.rules}

    def said(rule_id: str) -> str:
        r = by_id.get(rule_id)
        if r is None:
            return f"`{rule_id}`"
        return f"`{rule_id}` — {r.description} (value {fmt(r.value)} {r.comparator} {fmt(r.threshold)})"

    if ev.decision in ("rollback", "review"):
        head = (f"Roll back to {ev.rollback_to}" if ev.decision == "rollback" and ev.rollback_to
                else "Hold a review meeting" if ev.decision == "review" else "Roll back")
        return [f"{head}: " + ("rule fired:" if len(ev.deciding_rule_ids) == 1 else "rules fired:")] + \
            [said(i) for i in ev.deciding_rule_ids]
    if ev.decision == "promote":
        target = f"promote to {ev.next_phase}" if ev.next_phase else "GA confirmed (B-1 is the last phase)"
        return [f"Every promote rule of {ev.phase} passed: {target}."]
    if ev.reason == "data_quality":
        return [f"Hold: the rules say {(ev.rules_decision or '').lower()}, but the data cannot be trusted to promote "
                f"on (data_quality):"] + data_quality_notes(ev)
    if ev.reason == "not_final":
        return [f"Hold: the rules say promote, but {iso_z(ev.eval_at)} is not final yet (not_final): events of its "
                f"windows may still arrive within the allowed lateness."]
    if ev.reason == "rca_missing":
        return [f"Every promote rule passed, but promotion waits for the RCA of "
                f"{', '.join(ev.blocking_rollback_ids)} (rca_missing)."]
    return ["Hold: not every promote rule passed yet:"] + [said(i) for i in ev.deciding_rule_ids]


def present_verdict(ev: Evaluation) -> list[str]:
    """Where the gate's decision departs from the rules', and why: finality and data quality, in words."""
    lines = []
    if ev.differs_because:
        rules_reason = (ev.rules_reason or "").replace("_", " ")
        lines.append(f"the rules say {(ev.rules_decision or '').upper()} ({rules_reason}); "
                     f"the gate holds: {', '.join(ev.differs_because)}")
    return lines + finality_notes(ev) + data_quality_notes(ev)


def finality_notes(ev: Evaluation) -> list[str]:
    if ev.latest_eval_at and ev.eval_at and ev.latest_eval_at != ev.eval_at:
        return [f"{iso_z(ev.latest_eval_at)} is not final yet: acting on {iso_z(ev.eval_at)}, the latest final "
                f"grid time"]
    if ev.is_final is False:
        until = f" (final until {iso_z(ev.final_until)})" if ev.final_until else ""
        return [f"{iso_z(ev.eval_at)} is not final yet{until}"]
    return []


def data_quality_notes(ev: Evaluation) -> list[str]:
    dq, lines = ev.data_quality, []
    if dq and not dq["ok"]:
        if dq["failing_tests"]:
            lines.append(f"data tests failing: {', '.join(dq['failing_tests'])}")
        share = dq["reject_share"]
        if share is not None and share > dq["max_reject_share"]:
            lines.append(f"reject share {share:.2%} ({dq['rejected_lines']} of {dq['ingested_lines']} lines in the "
                         f"24 h to {dq['checked_through']}) is above {dq['max_reject_share']:.2%}")
    return lines


def trends(doc: dict) -> list[dict]:
    out = []
    for metric, dimension in TREND_METRICS:
        rows = []
        for ev in doc["evaluations"]:
            if not ev["eval_at"].endswith(":00:00Z"):
                continue
            values = {m["window"]: m["value"] for m in ev["metrics"]
                      if m["metric"] == metric and m["dimension"] == dimension}
            if values:
                rows.append({"hour": ev["eval_at"][11:16], **{w: values.get(w) for w in WINDOWS}})
        out.append({"metric": metric, "dimension": dimension, "rows": rows})
    return out


def recent_incidents(con: duckdb.DuckDBPyConnection, ev: Evaluation) -> list[dict]:
    """incident.declared (any phase) in the 24 h before T."""
    rows = con.execute("""
        select declared_at, phase, severity, incident_id
        from staging.stg_telemetry__incident_declared
        where declared_at >= ? and declared_at < ?
        order by declared_at""", [ev.eval_at - timedelta(hours=24), ev.eval_at]).fetchall()
    return [{"declared_at": iso_z(t), "phase": p, "severity": s, "incident_id": i} for t, p, s, i in rows]


def budget_rows(budget: list[dict] | None) -> list[dict]:
    """marts.error_budget rows as the report prints them: shares as percentages, the state in words."""
    out = []
    for b in budget or []:
        state = "**exhausted**" if b["is_exhausted"] else "within budget"
        out.append({**b, "critical": f"{b['critical_times']} of {b['grid_times']}",
                    "share": f"{100 * b['critical_share']:.2f}%", "budget": f"{100 * b['budget_share']:.2f}%",
                    "remaining": f"{100 * b['budget_remaining']:+.2f} pts", "state": state})
    return out


def write_report(home: Path, ev: Evaluation, doc: dict | None, incidents: list[dict], metrics_file: str | None,
                 charts: dict[str, Path] | None = None, budget: list[dict] | None = None) -> str:
    """Render the report of the evaluation's day; return its path relative to home. `charts`: SVG files to link
    (charts.render_report_charts). `budget`: marts.error_budget of the phase at T (verdict.read_error_budget;
    None when the warehouse predates the mart)."""
    home = Path(home)
    day = ev.day
    rel = report_relpath(day)
    here = (home / rel).parent
    statuses = {f.rollback_id: f for f in rca.scan(home)}
    rollbacks = []
    for e in ledger.read(home):
        if e.action != "rollback":
            continue
        f = statuses.get(e.id)
        rca_file = f.path if f else e.rca_file
        rollbacks.append({**e.as_dict(), "rca_file": rca_file,
                          "rca_link": os.path.relpath(home / rca_file, here) if rca_file else None,
                          "rca_status": f.status if f else "missing"})
    latest = doc["evaluations"][-1]["metrics"] if doc and doc["evaluations"] else []
    text = render(
        "rollout_phase.md",
        ev=ev, day=day, eval_at=iso_z(ev.eval_at),
        started=iso_z(ev.phase_started_at) if ev.phase_started_at else "—",
        start_source="the ledger" if ev.phase_start_source == "ledger" else "its first event",
        dashboard=DASHBOARD_URL,
        metrics_file=metrics_file or "—",
        metrics_link=os.path.relpath(home / metrics_file, here) if metrics_file else "",
        reasons=reasons(ev),
        insufficient=[r for r in ev.rules if r.status == "insufficient_data"],
        latest=latest,
        trends=trends(doc) if doc else [],
        qa=[r for r in ev.rules if r.measure.startswith("qa_")],
        incidents=incidents,
        finality_notes=finality_notes(ev),
        budget=budget_rows(budget),
        budget_missing=budget is None,
        iso=lambda t: iso_z(t) if t else "—",
        rollbacks=rollbacks,
        fmt=fmt,
        status_mark=lambda s: STATUS_MARKS.get(s, ""),
        charts=chart_markdown(charts, home / rel) if charts else {},
        measured=record.lines_for(home),
    )
    atomic_write_text(home / rel, text)
    return str(rel)
