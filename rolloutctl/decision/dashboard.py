"""The offline dashboard `/dashboards/autosave-merge`: one self-contained HTML page.

`build_dashboard(home)` reads the warehouse (read-only; the analysts' snapshot when a build holds it), the phase
ledger, reports/rca/ and incident_queue.json, and writes `<home>/dashboards/autosave-merge/index.html`: the current
phase's decision and reasons, its rules table, the data's watermarks and finality, the phase timeline, per phase the
SLO charts against their thresholds, the latest metric statuses (rates with their 95% interval) and the error budgets,
QA progress, incidents, rollbacks and their RCA links.

The page needs no network: the Vega, Vega-Lite and vega-embed JavaScript is inlined from vl-convert's bundled copy,
the chart specs and data are inlined as JSON, and links to RCA files are relative, so it opens from file:// and can be
copied as one file (the RCA links then need the home beside it). `collect_dashboard` returns the page's data without
writing anything.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import vl_convert as vlc
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from rolloutctl.core.layout import DASHBOARD_RELDIR, DASHBOARD_TEMPLATE_DIR, INCIDENT_QUEUE_RELPATH, RCA_RELDIR
from rolloutctl.core.phases import PHASES
from rolloutctl.decision import charts
from rolloutctl.decision.charts import SLO_CHARTS, TIMELINE, has_table, iso
from rolloutctl.governance import rca
from rolloutctl.simulation import record

REASONS = {
    "rollback_rule_fired": "a rollback rule fired",
    "review_rule_fired": "a review rule fired: hold a rollback judgment meeting",
    "promote_rules_passed": "every promote rule passed",
    "rca_missing": "every promote rule passed, but a rollback into this phase has no complete RCA",
    "insufficient_data": "the promote rules not yet passed lack data",
    "promote_rules_not_met": "some promote rules are not met yet",
}


@dataclass
class DashboardResult:
    """What `build_dashboard` wrote, for the CLI to print."""

    path: Path
    out_dir: Path
    source: str
    generated_at: str
    current_phase: str
    decision: dict | None
    phases: list[str]
    charts: list[str]
    bytes: int
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        d = self.decision or {}
        return {
            "path": str(self.path), "url": self.path.resolve().as_uri(), "out_dir": str(self.out_dir),
            "source": self.source, "generated_at": self.generated_at, "current_phase": self.current_phase,
            "eval_at": d.get("eval_at"), "decision": d.get("decision"), "reason": d.get("reason"),
            "phases": self.phases, "charts": self.charts, "bytes": self.bytes, "warnings": self.warnings,
        }


# ----------------------------------------------------------------------------------------------------- collecting

def _rows(con, sql: str, params=()) -> list[dict]:
    cur = con.execute(sql, list(params))
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _plain(value):
    """A value as the template and JSON want it: times as RFC 3339, lists of plain values."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _plain_rows(rows: list[dict]) -> list[dict]:
    return [{k: _plain(v) for k, v in r.items()} for r in rows]


def rca_files(home: Path) -> list[dict]:
    """reports/rca/*.md with the rollback each names (front matter `rollback_id`) and its status."""
    folder = Path(home) / RCA_RELDIR
    found = []
    for path in sorted(folder.glob("*.md")) if folder.is_dir() else []:
        meta = rca.front_matter(path.read_text(encoding="utf-8", errors="replace"))
        found.append({"path": path, "rel": str(path.relative_to(home)), "name": path.name,
                      "rollback_id": str(meta.get("rollback_id") or ""),
                      "status": str(meta.get("status") or "unknown").strip().lower()})
    return found


def incident_queue(home: Path) -> tuple[list[dict], str | None]:
    """incident_queue.json's entries (a list, or an object holding one) and a warning when it cannot be read."""
    path = Path(home) / INCIDENT_QUEUE_RELPATH
    if not path.exists():
        return [], None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [], f"{INCIDENT_QUEUE_RELPATH} could not be read ({exc})"
    if isinstance(doc, dict):
        doc = next((v for v in doc.values() if isinstance(v, list)), [doc])
    return [e for e in doc if isinstance(e, dict)], None


def qa_progress(con) -> list[dict]:
    """Per phase and suite: the latest result of every case (by event time) and the target the gate rules set."""
    if not has_table(con, "raw", "events"):
        return []
    cases = _rows(con, """
        with latest as (
            select phase, payload ->> 'suite' as suite, payload ->> 'case_id' as case_id,
                   arg_max(payload ->> 'result', event_at) as result, max(event_at) as result_at
            from raw.events
            where event = 'qa.case.result'
            group by all
        )
        select phase, suite, count(*) as cases, count(*) filter (where result = 'pass') as passing,
               list(case_id order by case_id) filter (where result <> 'pass') as failing, max(result_at) as last_at
        from latest
        group by all
        order by phase, suite""")
    targets = {}
    if has_table(con, "marts", "gate_rules"):
        for phase, suite, measure, threshold in con.execute("""
                select phase, dimension, measure, threshold from marts.gate_rules where metric = 'qa'""").fetchall():
            targets[(phase, suite)] = (measure, threshold)
    out = []
    for row in cases:
        measure, threshold = targets.get((row["phase"], row["suite"]), (None, None))
        target = int(threshold) if threshold is not None else None
        done = row["passing"] >= target and (measure != "qa_suite_all_pass" or not row["failing"]) \
            if target is not None else None
        row.update(target=target, rule=measure, done=done, failing=row["failing"] or [],
                   percent=min(100, round(100 * row["passing"] / target)) if target else None)
        out.append(row)
    return _plain_rows(out)


def incidents(con) -> list[dict]:
    if not has_table(con, "raw", "events"):
        return []
    return _plain_rows(_rows(con, """
        select event_at, phase, event, payload ->> 'severity' as severity,
               coalesce(payload ->> 'incident_id', payload ->> 'bug_id') as id
        from raw.events
        where event = 'incident.declared' or (event = 'bug.reported' and payload ->> 'severity' = 'critical')
        order by event_at desc
        limit 200"""))


def latest_decisions(con) -> dict[str, dict]:
    """Each phase's decision at its latest evaluation time."""
    if not has_table(con, "marts", "gate_decisions"):
        return {}
    rows = _rows(con, """
        select * from marts.gate_decisions
        qualify row_number() over (partition by phase order by eval_at desc) = 1""")
    out = {}
    for r in _plain_rows(rows):
        r["reason_text"] = REASONS.get(r.get("reason"), r.get("reason") or "")
        out[r["phase"]] = r
    return out


def decision_counts(con) -> dict[str, dict[str, int]]:
    if not has_table(con, "marts", "gate_decisions"):
        return {}
    counts: dict[str, dict[str, int]] = {}
    for phase, decision, n in con.execute(
            "select phase, decision, count(*) from marts.gate_decisions group by all").fetchall():
        counts.setdefault(phase, {})[decision] = n
    return counts


def rules_at(con, phase: str, eval_at: str | None) -> list[dict]:
    if eval_at is None or not has_table(con, "marts", "gate_rule_results"):
        return []
    rows = _rows(con, """
        select * from marts.gate_rule_results where phase = ? and eval_at = ?
        order by case kind when 'rollback' then 0 when 'review' then 1 else 2 end, rule_id""",
                 [phase, charts._parse_time(eval_at)])
    return _plain_rows(rows)


def latest_statuses(con) -> dict[str, list[dict]]:
    """Per phase, the thresholded metrics at the phase's latest evaluation time, a rate with its 95% Wilson interval
    (marts.metric_confidence; NULL bounds for a quantile)."""
    if not has_table(con, "marts", "metric_status"):
        return {}
    bounds = ("c.lower_bound, c.upper_bound" if has_table(con, "marts", "metric_confidence")
              else "null as lower_bound, null as upper_bound")
    join = ("""left join marts.metric_confidence as c
            on c.phase = s.phase and c.eval_at = s.eval_at and c.metric = s.metric
            and c.dimension = s.dimension and c."window" = s."window" """
            if has_table(con, "marts", "metric_confidence") else "")
    rows = _rows(con, f"""
        select s.*, {bounds}
        from marts.metric_status as s
        {join}
        qualify s.eval_at = max(s.eval_at) over (partition by s.phase)
        order by s.phase, s.metric, s.dimension, s."window" """)
    out: dict[str, list[dict]] = {}
    for r in _plain_rows(rows):
        out.setdefault(r["phase"], []).append(r)
    return out


def error_budgets(con) -> dict[str, list[dict]]:
    """Per phase, each thresholded metric's error budget to date (marts.error_budget at the phase's latest grid
    time)."""
    if not has_table(con, "marts", "error_budget"):
        return {}
    out: dict[str, list[dict]] = {}
    for r in _plain_rows(_rows(con, """
            select * from marts.error_budget where is_latest
            order by phase, metric, dimension, "window" """)):
        out.setdefault(r["phase"], []).append(r)
    return out


def data_state(con, phase: str) -> dict:
    """What the gate knows of its data: each feature's watermark and how far it makes the grid final
    (marts.ingest_watermarks), and the latest verdict of `phase` (marts.gate_verdicts): final or not, and where it
    departs from the rules' decision."""
    watermarks = (_plain_rows(_rows(con, "select * from marts.ingest_watermarks order by feature"))
                  if has_table(con, "marts", "ingest_watermarks") else [])
    verdict = None
    if has_table(con, "marts", "gate_verdicts"):
        rows = _plain_rows(_rows(con, """
            select eval_at, decision, reason, rules_decision, differs_because, is_final, watermark_at, final_until
            from marts.gate_verdicts where phase = ? order by eval_at desc limit 1""", [phase]))
        verdict = rows[0] if rows else None
    return {"watermarks": watermarks, "verdict": verdict}


def collect_dashboard(home: Path, con=None) -> dict:
    """Everything the page shows, as plain data (no HTML)."""
    home = Path(home)
    source = "(caller's connection)"
    own = con is None
    if own:
        con, source = charts.open_warehouse(home)
    try:
        data = charts.load_chart_data(con, home)
        decisions = latest_decisions(con)
        ledger = data.ledger
        current = ledger[-1]["phase_to"] if ledger else PHASES[0]
        decision = decisions.get(current)
        ctx = {
            "source": source,
            "current_phase": current,
            "decision": decision,
            "rules": rules_at(con, current, decision["eval_at"] if decision else None),
            "decisions": decisions,
            "decision_counts": decision_counts(con),
            "statuses": latest_statuses(con),
            "budgets": error_budgets(con),
            "data": data_state(con, current),
            "qa": qa_progress(con),
            "incidents": incidents(con),
            "data_through": max((r["eval_at"] for r in data.metrics), default=None),
        }
    finally:
        if own:
            con.close()
    queue, warning = incident_queue(home)
    ctx["queue"] = queue
    ctx["warnings"] = [warning] if warning else []
    ctx["ledger"] = ledger
    ctx["rca"] = rca_files(home)
    ctx["chart_data"] = data
    ctx["measured"] = record.lines_for(home)
    return ctx


# ------------------------------------------------------------------------------------------------------- rendering

@lru_cache(maxsize=1)
def vega_bundle() -> str:
    """vega-embed, Vega-Lite and Vega as one script, from vl-convert's bundled copy (no network)."""
    return vlc.javascript_bundle(vl_version=charts.vl_version())


def _script_json(obj) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).replace("</", "<\\/").replace("<!--", "<\\!--")


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(DASHBOARD_TEMPLATE_DIR)), undefined=StrictUndefined,
                      autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = _num
    env.filters["when"] = lambda t: (t or "—").replace("T", " ").replace("Z", " UTC")
    env.filters["pct"] = lambda v: "—" if v is None else f"{100 * v:.2f}%"
    return env


def _num(value, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        v = float(value)
        if v.is_integer() and abs(v) >= 1:
            return f"{int(v):,}"
        return f"{v:.{digits}g}"
    return str(value)


def phase_sections(ctx: dict) -> list[dict]:
    """One section per phase with data, the current phase first."""
    data = ctx["chart_data"]
    phases = charts.phases_with_data(data)
    ordered = [p for p in phases if p == ctx["current_phase"]] + [p for p in phases if p != ctx["current_phase"]]
    sections = []
    for phase in ordered:
        sections.append({
            "phase": phase,
            "current": phase == ctx["current_phase"],
            "decision": ctx["decisions"].get(phase),
            "counts": ctx["decision_counts"].get(phase, {}),
            "statuses": ctx["statuses"].get(phase, []),
            "budgets": ctx.get("budgets", {}).get(phase, []),
            "charts": [{"id": f"chart-{phase}-{c.name}", "name": c.name, "title": c.title,
                        "spec": charts.slo_spec(c, data, phase=phase, title_suffix=f" — {phase}", width=470,
                                                height=200)}
                       for c in SLO_CHARTS],
        })
    return sections


def render_html(ctx: dict, out_dir: Path, home: Path) -> tuple[str, list[str]]:
    """The page's HTML and the ids of its charts."""
    sections = phase_sections(ctx)
    specs = {"chart-timeline": charts.timeline_spec(ctx["chart_data"], width=1000)}
    for s in sections:
        for c in s["charts"]:
            specs[c["id"]] = c["spec"]

    def link(rel: str) -> str:
        return Path(os.path.relpath(Path(home) / rel, out_dir)).as_posix()

    rca_by_rollback = {r["rollback_id"]: r for r in ctx["rca"] if r["rollback_id"]}
    rollbacks = []
    for e in ctx["ledger"]:
        if e["action"] != "rollback":
            continue
        rca = rca_by_rollback.get(str(e.get("id")))
        rel = rca["rel"] if rca else e.get("rca_file")
        exists = bool(rca) or bool(rel and (Path(home) / rel).exists())
        rollbacks.append({**e, "rca_link": link(rel) if rel and exists else None, "rca_rel": rel,
                          "rca_status": rca["status"] if rca else ("missing" if not exists else "unknown")})
    html = _env().get_template("index.html.j2").render(
        ctx=ctx, sections=sections, rollbacks=rollbacks,
        rca_links=[{**r, "link": link(r["rel"])} for r in ctx["rca"]],
        timeline_id="chart-timeline",
        specs_json=_script_json(specs), vega_bundle=vega_bundle().replace("</script", "<\\/script"),
        generated_at=ctx["generated_at"], phases=PHASES, chart_names=[c.name for c in SLO_CHARTS] + [TIMELINE],
        versions={"vega": vlc.get_vega_version(), "vega_lite": charts.vl_version() or "latest",
                  "vega_embed": vlc.get_vega_embed_version()},
        dashboard_url="/" + DASHBOARD_RELDIR.as_posix())
    return html, list(specs)


def build_dashboard(home: Path, out_dir: Path | None = None, *, con=None) -> DashboardResult:
    """Write the dashboard (index.html) to `out_dir` (default `<home>/dashboards/autosave-merge/`)."""
    home = Path(home)
    out = Path(out_dir) if out_dir is not None else home / DASHBOARD_RELDIR
    ctx = collect_dashboard(home, con)
    ctx["generated_at"] = iso(datetime.now(UTC))
    out.mkdir(parents=True, exist_ok=True)
    html, chart_ids = render_html(ctx, out.resolve(), home.resolve())
    path = out / "index.html"
    charts._write_atomic(path, html)
    phases = charts.phases_with_data(ctx["chart_data"])
    return DashboardResult(path=path, out_dir=out, source=ctx["source"], generated_at=ctx["generated_at"],
                           current_phase=ctx["current_phase"], decision=ctx["decision"], phases=phases,
                           charts=chart_ids, bytes=len(html.encode("utf-8")), warnings=ctx["warnings"])
