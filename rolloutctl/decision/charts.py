"""Charts of the rollout: the SLO metrics against their thresholds, and the phase timeline.

Charts are Vega-Lite specifications built with altair from plain rows that this module reads from the warehouse
marts (`marts.metrics_windowed`, `marts.metric_status`, `marts.gate_decisions`) and the phase ledger. The same spec
serves twice:

- the daily report: `render_report_charts(home, date)` renders static SVG files with vl-convert (offline, no
  browser) into `reports/rollout/<date>/`, next to `reports/rollout/<date>.md`, and returns their paths;
- the dashboard (rolloutctl/dashboard.py) embeds the specs and lets the browser render them (tooltips included).

Charts:

- `autosave_p95`: the 1h, 24h and 7d windows of `autosave_p95` against the warn and critical levels of
  `marts.metric_status` (and the gate's 2.5 s rollback / breach-hour line);
- `restore_success_rate`, `merge_auto_success_rate`: the overall dimension's three windows against their levels;
- `phase_timeline`: for each phase, the stretch of its evaluation grid coloured by the gate's decision at each T,
  with every promotion and rollback of the ledger marked.

Every chart marks the ledger's promotions and rollbacks that fall in its time range, so a regression and the
rollback it caused read at a glance.
"""
from __future__ import annotations

import functools
import os
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import date as Date
from pathlib import Path

import altair as alt
import duckdb
import vl_convert as vlc
from altair.utils import schemapi

from ingest.errors import DataError, UsageError, WarehouseBusy
from ingest.warehouse import connect, fsync_path
from rolloutctl.core.layout import ANALYTICS_RELPATH, REPORT_RELDIR
from rolloutctl.core.phases import PHASES
from rolloutctl.core.windows import WINDOWS
from rolloutctl.governance import ledger

GRID = timedelta(minutes=15)

WIDTH = 760
COLORS = {
    "window": {"1h": "#4c78a8", "24h": "#b279a2", "7d": "#72b7b2"},
    "level": {"warn": "#f58518", "critical": "#e45756", "gate": "#333333"},
    "decision": {"promote": "#54a24b", "hold": "#bab0ac", "review": "#eeca3b", "rollback": "#e45756",
                 "unknown": "#dddddd"},
    "action": {"promote": "#2e7d32", "rollback": "#c62828"},
}
DECISIONS = ("promote", "hold", "review", "rollback", "unknown")


@dataclass(frozen=True)
class SloChart:
    """One SLO metric chart: the metric's dimension drawn in every window, against its thresholds."""

    name: str
    metric: str
    dimension: str
    title: str
    axis_title: str
    breach: str                     # "above" or "below": which side of a level is a breach
    default_warn: float             # SPEC §6 defaults, used only when marts.metric_status has no row
    default_critical: float
    percent: bool = False


SLO_CHARTS = (
    SloChart("autosave_p95", "autosave_p95", "all", "AutoSave save latency p95", "p95 duration (ms)",
             "above", 700, 900),
    SloChart("restore_success_rate", "restore_success_rate", "overall", "AutoSave restore success rate",
             "restore success", "below", 0.97, 0.995, percent=True),
    SloChart("merge_auto_success_rate", "merge_auto_success_rate", "overall", "Diff-Merge auto-acceptance rate",
             "auto-accepted merges", "below", 0.85, 0.80, percent=True),
)
TIMELINE = "phase_timeline"
CHART_NAMES = tuple(c.name for c in SLO_CHARTS) + (TIMELINE,)


@dataclass(frozen=True)
class Level:
    kind: str          # warn | critical | gate
    value: float
    label: str
    phases: tuple[str, ...] = ()    # gate lines: the phases whose rules use it (warn/critical: every phase)


@dataclass
class ChartData:
    """Everything the charts draw, as plain JSON-ready rows (times as RFC 3339 strings in UTC)."""

    metrics: list[dict] = field(default_factory=list)      # eval_at, phase, metric, dimension, window, value, …
    levels: dict[str, list[Level]] = field(default_factory=dict)   # chart name -> threshold lines
    applies: dict[str, set[str]] = field(default_factory=dict)    # chart name -> phases where its levels apply
    decisions: list[dict] = field(default_factory=list)    # phase, eval_at, decision
    ledger: list[dict] = field(default_factory=list)       # id, action, phase_from, phase_to, timestamp, …
    start: datetime | None = None                          # the time range drawn (exclusive start, inclusive end)
    end: datetime | None = None

    def rows(self, chart: SloChart, phase: str | None = None) -> list[dict]:
        return [r for r in self.metrics if r["metric"] == chart.metric and r["dimension"] == chart.dimension
                and (phase is None or r["phase"] == phase)]


# --------------------------------------------------------------------------------------------------------- reading

def iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value) -> datetime:
    if isinstance(value, datetime):
        t = value
    else:
        t = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC)


def open_warehouse(home: Path) -> tuple[duckdb.DuckDBPyConnection, str]:
    """Open the warehouse read-only; when a build or gate holds it, read the analysts' snapshot instead.

    Returns the connection and the file it reads (relative to home), so that a page can say where its data is from.
    """
    home = Path(home)
    try:
        return connect(home, read_only=True, wait=0), "warehouse/rollout.duckdb"   # busy: the snapshot, at once
    except WarehouseBusy:
        snapshot = home / ANALYTICS_RELPATH
        if not snapshot.exists():
            raise
        con = duckdb.connect(str(snapshot), read_only=True)
        con.execute("set TimeZone = 'UTC'")
        return con, str(ANALYTICS_RELPATH)


def has_table(con, schema: str, name: str) -> bool:
    return bool(con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name]).fetchone()[0])


def _dicts(cursor) -> list[dict]:
    cols = [d[0] for d in cursor.description]
    return [dict(zip(cols, row)) for row in cursor.fetchall()]


def read_ledger(home: Path) -> list[dict]:
    """The ledger's entries as dicts, oldest first, read (and refused) exactly as the gate reads them."""
    return [{**e.as_dict(), "timestamp": iso(e.effective_at)} for e in ledger.read(home)]


def load_chart_data(con, home: Path, *, phase: str | None = None, start: datetime | None = None,
                    end: datetime | None = None, metrics: bool = True) -> ChartData:
    """Read what the charts draw: metric rows with `start < eval_at <= end` (all when None), of `phase` (all when
    None), the thresholds, the gate's decisions and the ledger. metrics=False: only the decisions and the ledger
    (what the phase timeline draws)."""
    if phase is not None and phase not in PHASES:
        raise UsageError(f"unknown phase {phase!r}: expected one of {', '.join(PHASES)}")
    data = ChartData(start=start, end=end, ledger=read_ledger(home))
    if not has_table(con, "marts", "metrics_windowed"):
        raise DataError("the warehouse has no marts.metrics_windowed yet: run `rolloutctl build` first")
    filters, params = [], []
    if phase is not None:
        filters.append("m.phase = ?")
        params.append(phase)
    if start is not None:
        filters.append("m.eval_at > ?")
        params.append(start)
    if end is not None:
        filters.append("m.eval_at <= ?")
        params.append(end)
    if metrics:
        _read_metrics(con, data, filters, params)
    if has_table(con, "marts", "gate_decisions"):
        filters_d = [f.replace("m.", "d.") for f in filters]
        where_d = ("where " + " and ".join(filters_d)) if filters_d else ""
        data.decisions = [
            {"phase": p, "eval_at": iso(t), "decision": d}
            for p, t, d in con.execute(
                f"select d.phase, d.eval_at, d.decision from marts.gate_decisions as d {where_d} "
                f"order by d.phase, d.eval_at", params).fetchall()]
    return data


def _read_metrics(con, data: ChartData, filters: list[str], params: list) -> None:
    """The SLO charts' metric rows (with their status) and levels."""
    wanted = " or ".join(f"(m.metric = '{c.metric}' and m.dimension = '{c.dimension}')" for c in SLO_CHARTS)
    where = " and ".join([f"({wanted})", *filters])
    with_status = has_table(con, "marts", "metric_status")
    status_sql = "s.status" if with_status else "cast(null as varchar)"
    join = ("left join marts.metric_status as s on s.phase = m.phase and s.eval_at = m.eval_at "
            "and s.metric = m.metric and s.dimension = m.dimension and s.\"window\" = m.\"window\""
            ) if with_status else ""
    rows = _dicts(con.execute(f"""
        select m.eval_at, m.phase, m.metric, m.dimension, m."window" as "window", m.value, m.sample_count,
               {status_sql} as status
        from marts.metrics_windowed as m {join}
        where {where}
        order by m.metric, m.phase, m."window", m.eval_at""", params))
    for r in rows:
        r["eval_at"] = iso(r["eval_at"])
        r["value"] = None if r["value"] is None else float(r["value"])
        r["sample_count"] = int(r["sample_count"] or 0)
    data.metrics = rows
    _read_levels(con, data, with_status)


def _read_levels(con, data: ChartData, with_status: bool) -> None:
    """Warn and critical lines from marts.metric_status (the seed's levels as the marts applied them), plus the gate
    rules' own thresholds on the same metric where they differ (e.g. the 2.5 s rollback line for autosave_p95)."""
    found = {}
    applies: dict[str, set[str]] = {}
    if with_status:
        for metric, dimension, window, warn, critical in con.execute("""
                select metric, dimension, "window", any_value(warn_level), any_value(critical_level)
                from marts.metric_status group by all""").fetchall():
            found[(metric, dimension)] = (window, warn, critical)
        for metric, dimension, phase in con.execute("""
                select distinct metric, dimension, phase from marts.metric_status
                where status <> 'not_applicable'""").fetchall():
            applies.setdefault(f"{metric}/{dimension}", set()).add(phase)
    rules = []
    if has_table(con, "marts", "gate_rules"):
        rules = con.execute("""
            select metric, dimension, threshold,
                   string_agg(distinct "window", '/' order by "window"), string_agg(distinct phase, ', ' order by phase)
            from marts.gate_rules
            where measure = 'metric_value' and threshold is not null
            group by all
            order by threshold""").fetchall()
    for chart in SLO_CHARTS:
        window, warn, critical = found.get((chart.metric, chart.dimension),
                                           (None, chart.default_warn, chart.default_critical))
        fmt = _fmt(chart)
        where = f" ({window})" if window else ""
        levels = [Level("warn", float(warn), f"warn {fmt(warn)}{where}"),
                  Level("critical", float(critical), f"critical {fmt(critical)}{where}")]
        for metric, dimension, threshold, windows, phases in rules:
            if metric != chart.metric or dimension != chart.dimension:
                continue
            if any(abs(level.value - float(threshold)) < 1e-12 for level in levels):
                continue  # the gate reads the same line as the status does
            levels.append(Level("gate", float(threshold), f"gate {fmt(threshold)} ({windows}, {phases})",
                                tuple(phases.split(", "))))
        data.levels[chart.name] = levels
        data.applies[chart.name] = applies.get(f"{chart.metric}/{chart.dimension}", set())


def _fmt(chart: SloChart):
    if chart.percent:
        return lambda v: f"{float(v) * 100:.4g}%"
    return lambda v: f"{float(v):g} ms"


# -------------------------------------------------------------------------------------------------------- building

def _ms(domain: tuple[str, str]) -> list[int]:
    """A time range as epoch milliseconds (Vega-Lite's own form for a temporal domain)."""
    return [int(_parse_time(t).timestamp() * 1000) for t in domain]


def _x(title: str = "evaluation time (UTC)", domain: tuple[str, str] | None = None) -> alt.X:
    scale = alt.Scale(type="utc", domain=_ms(domain)) if domain else alt.Scale(type="utc")
    return alt.X("eval_at:T", scale=scale, title=title,
                 axis=alt.Axis(format="%m-%d %H:%M", labelAngle=0, labelOverlap=True, tickCount=8))


def _ledger_layers(entries: list[dict], domain: tuple[str, str] | None, *, with_labels: bool) -> list[alt.Chart]:
    """Vertical rules at each promotion and rollback inside the domain, labelled with what happened."""
    rows = []
    for e in entries:
        if domain and not (domain[0] <= e["timestamp"] <= domain[1]):
            continue
        rows.append({"eval_at": e["timestamp"], "action": e["action"],
                     "label": f"{e['action']} {e['phase_from']}→{e['phase_to']}",
                     "executor": str(e.get("executor", "")), "reason": str(e.get("reason", ""))[:200],
                     "id": str(e.get("id", ""))})
    if not rows:
        return []
    base = alt.Chart(alt.Data(values=rows))
    action_scale = _action_scale()
    color = alt.Color("action:N", scale=action_scale, legend=alt.Legend(title="ledger"))
    tooltip = [alt.Tooltip("label:N", title="action"), alt.Tooltip("eval_at:T", title="at", format="%Y-%m-%d %H:%M",
                                                                   formatType="utc"),
               alt.Tooltip("executor:N"), alt.Tooltip("reason:N"), alt.Tooltip("id:N", title="ledger id")]
    layers = [base.mark_rule(strokeWidth=2, strokeDash=[6, 3]).encode(
        x=alt.X("eval_at:T"), color=color, tooltip=tooltip).properties(name="ledger_rules")]
    if with_labels:
        no_legend = alt.Color("action:N", scale=action_scale, legend=None)
        for side, rows_side in _label_sides(rows, domain).items():
            layers.append(alt.Chart(alt.Data(values=rows_side)).mark_text(
                align=side, baseline="top", dx=4 if side == "left" else -4, dy=2, fontSize=10, fontWeight="bold")
                .encode(x=alt.X("eval_at:T"), y=alt.value(2), text="label:N", color=no_legend)
                .properties(name=f"ledger_labels_{side}"))
    return layers


def _action_scale() -> alt.Scale:
    return alt.Scale(domain=["promote", "rollback"], range=[COLORS["action"]["promote"], COLORS["action"]["rollback"]])


def _label_sides(rows: list[dict], domain: tuple[str, str] | None) -> dict[str, list[dict]]:
    """Labels of marks in the last third of the range go to their left, so they stay inside the plot."""
    if not domain:
        return {"left": rows} if rows else {}
    lo, hi = (_parse_time(t).timestamp() for t in domain)
    cut = lo + (hi - lo) * 2 / 3
    sides: dict[str, list[dict]] = {}
    for r in rows:
        sides.setdefault("right" if _parse_time(r["eval_at"]).timestamp() > cut else "left", []).append(r)
    return sides


def _unvalidated(build):
    """Altair checks each object it builds against the Vega-Lite schema, most of a report's chart time (about 1 s of
    a gate cycle here); the specs our builders make are checked against it in the tests instead
    (tests/dashboard/test_report_charts.py: every report and dashboard spec validates)."""
    @functools.wraps(build)
    def without_validation(*args, **kwargs):
        with schemapi.debug_mode(False):
            return build(*args, **kwargs)
    return without_validation


@_unvalidated
def slo_spec(chart: SloChart, data: ChartData, *, phase: str | None = None, title_suffix: str = "",
             width: int = WIDTH, height: int = 260) -> dict:
    """The Vega-Lite spec of one SLO chart: a line and a point per window and evaluation time, the levels as
    horizontal rules, the ledger's actions as vertical rules."""
    rows = [
        {"eval_at": r["eval_at"], "phase": r["phase"], "window": r["window"], "value": r["value"],
         "samples": r["sample_count"], "status": r["status"] or "—"}
        for r in data.rows(chart, phase) if r["window"] in WINDOWS
    ]
    domain = _domain(data, rows)
    fmt = ".2%" if chart.percent else ",.0f"
    x = _x(domain=domain)
    y = alt.Y("value:Q", title=chart.axis_title, scale=alt.Scale(zero=False),
              axis=alt.Axis(format=".1%" if chart.percent else ",.0f"))
    window_scale = alt.Scale(domain=list(WINDOWS), range=[COLORS["window"][w] for w in WINDOWS])
    window_color = alt.Color("window:N", title="window", scale=window_scale, sort=list(WINDOWS))
    base = alt.Chart(alt.Data(values=rows))
    tooltip = [alt.Tooltip("eval_at:T", title="T", format="%Y-%m-%d %H:%M", formatType="utc"),
               alt.Tooltip("phase:N"), alt.Tooltip("window:N"), alt.Tooltip("value:Q", format=fmt),
               alt.Tooltip("samples:Q", title="samples", format=","), alt.Tooltip("status:N")]
    lines = base.mark_line(strokeWidth=1.5, interpolate="linear").encode(
        x=x, y=y, color=alt.Color("window:N", scale=window_scale, legend=None), detail="phase:N",
    ).properties(name="metric_lines")
    points = base.mark_point(filled=True, size=14, opacity=0.85).encode(
        x=x, y=y, color=window_color, tooltip=tooltip).properties(name="metric_points")
    shown_phases = {r["phase"] for r in rows} or ({phase} if phase else set(PHASES))
    level_rows = [{"level": lv.value, "kind": lv.kind, "label": lv.label} for lv in data.levels.get(chart.name, [])
                  if not lv.phases or shown_phases & set(lv.phases)]
    kinds = ["warn", "critical", "gate"]
    level_scale = alt.Scale(domain=kinds, range=[COLORS["level"][k] for k in kinds])
    levels = alt.Chart(alt.Data(values=level_rows))
    rules = levels.mark_rule(strokeWidth=1.5, strokeDash=[4, 2]).encode(
        y=alt.Y("level:Q"), color=alt.Color("kind:N", scale=level_scale, legend=None), tooltip=["label:N"],
    ).properties(name="threshold_rules")
    labels = levels.mark_text(align="right", baseline="bottom", dx=-2, dy=-2, fontSize=10).encode(
        x=alt.value(width), y=alt.Y("level:Q"), text="label:N",
        color=alt.Color("kind:N", scale=level_scale, legend=None)).properties(
        name="threshold_labels")
    title = chart.title + title_suffix
    subtitle = _subtitle(chart, data, phase, rows)
    layered = alt.layer(lines, points, rules, labels, *_ledger_layers(data.ledger, domain, with_labels=True))
    layered = layered.resolve_scale(color="independent").properties(
        width=width, height=height, title=alt.TitleParams(title, subtitle=subtitle, anchor="start"))
    return _finish(layered)


def _subtitle(chart: SloChart, data: ChartData, phase: str | None, rows: list[dict]) -> list[str]:
    shown = [r for r in rows if r["value"] is not None]
    if not shown:
        return ["no evaluations with data in this range"]
    lines = []
    where = f"{chart.dimension}, every window" + (f", phase {phase}" if phase else "")
    lines.append(f"{where}; {len(shown)} evaluations with data")
    applies = data.applies.get(chart.name)
    if phase and applies is not None and applies and phase not in applies:
        lines.append(f"thresholds do not apply in {phase} (status not_applicable)")
    return lines


def _domain(data: ChartData, rows: list[dict]) -> tuple[str, str] | None:
    """The x range: the requested range when one was given, else the rows' own."""
    times = [r["eval_at"] for r in rows]
    lo = iso(data.start) if data.start else (min(times) if times else None)
    hi = iso(data.end) if data.end else (max(times) if times else None)
    return (lo, hi) if lo and hi else None


@_unvalidated
def timeline_spec(data: ChartData, *, highlight: tuple[datetime, datetime] | None = None, width: int = WIDTH) -> dict:
    """The phase timeline: per phase, runs of equal gate decisions along its evaluation grid, and the ledger's
    promotions (green) and rollbacks (red) as arrows between the phases they moved between."""
    base_rows = decision_runs(data)
    if not base_rows:
        # No gate marts: draw each phase's evaluation grid from the metric rows.
        spans: dict[str, list[str]] = {}
        for r in data.metrics:
            spans.setdefault(r["phase"], []).append(r["eval_at"])
        base_rows = [{"phase": p, "start": iso(_parse_time(min(ts)) - GRID), "end": max(ts), "decision": "unknown",
                      "evaluations": len(set(ts))} for p, ts in spans.items()]
    ledger_rows = [{"eval_at": e["timestamp"], "action": e["action"], "phase_from": e["phase_from"],
                    "phase_to": e["phase_to"], "label": f"{e['action']} {e['phase_from']}→{e['phase_to']}",
                    "executor": str(e.get("executor", "")), "reason": str(e.get("reason", ""))[:200]}
                   for e in data.ledger]
    times = [r["start"] for r in base_rows] + [r["end"] for r in base_rows] + [r["eval_at"] for r in ledger_rows]
    # The x scale keeps the data's own extent (Vega-Lite warns of a conflict when a bar with x2 has an explicit
    # domain); the extent still decides which side of its mark a label goes.
    domain = (min(times), max(times)) if times else None
    x = alt.X("start:T", title="time (UTC)", scale=alt.Scale(type="utc"),
              axis=alt.Axis(format="%m-%d %H:%M", labelAngle=0, labelOverlap=True, tickCount=8))
    y = alt.Y("phase:N", sort=list(PHASES), scale=alt.Scale(domain=list(PHASES)), title="phase")
    decision_color = alt.Color("decision:N", title="gate decision", sort=list(DECISIONS),
                               scale=alt.Scale(domain=list(DECISIONS),
                                               range=[COLORS["decision"][d] for d in DECISIONS]))
    layers = []
    if highlight:
        layers.append(alt.Chart(alt.Data(values=[{"start": iso(highlight[0]), "end": iso(highlight[1])}]))
                      .mark_rect(color="#fff3bf", opacity=0.7)
                      .encode(x=x, x2="end:T").properties(name="highlight_band"))
    layers.append(alt.Chart(alt.Data(values=base_rows)).mark_bar(height={"band": 0.7}).encode(
        x=x, x2="end:T", y=y, color=decision_color,
        tooltip=[alt.Tooltip("phase:N"), alt.Tooltip("decision:N"),
                 alt.Tooltip("start:T", title="from", format="%Y-%m-%d %H:%M", formatType="utc"),
                 alt.Tooltip("end:T", title="to", format="%Y-%m-%d %H:%M", formatType="utc"),
                 alt.Tooltip("evaluations:Q")]).properties(name="decision_runs"))
    if ledger_rows:
        action_scale = _action_scale()
        action_color = alt.Color("action:N", title="ledger", scale=action_scale)
        ledger = alt.Chart(alt.Data(values=ledger_rows))
        tip = [alt.Tooltip("label:N", title="action"),
               alt.Tooltip("eval_at:T", title="at", format="%Y-%m-%d %H:%M", formatType="utc"),
               alt.Tooltip("executor:N"), alt.Tooltip("reason:N")]
        lx = alt.X("eval_at:T")
        no_legend = alt.Color("action:N", scale=action_scale, legend=None)
        layers.append(ledger.mark_rule(strokeWidth=2).encode(
            x=lx, y=alt.Y("phase_from:N", sort=list(PHASES)), y2="phase_to:N", color=no_legend, tooltip=tip)
            .properties(name="ledger_links"))
        layers.append(ledger.mark_point(filled=True, size=120, opacity=1).encode(
            x=lx, y=alt.Y("phase_to:N", sort=list(PHASES)), color=action_color,
            shape=alt.Shape("action:N", scale=alt.Scale(domain=["promote", "rollback"],
                                                        range=["triangle-up", "triangle-down"]), legend=None),
            tooltip=tip).properties(name="ledger_marks"))
        for side, rows_side in _label_sides(ledger_rows, domain).items():
            layers.append(alt.Chart(alt.Data(values=rows_side)).mark_text(
                align=side, dx=8 if side == "left" else -8, dy=-9, fontSize=10, fontWeight="bold").encode(
                x=lx, y=alt.Y("phase_to:N", sort=list(PHASES)), text="label:N", color=no_legend)
                .properties(name=f"ledger_labels_{side}"))
    promotions = sum(e["action"] == "promote" for e in data.ledger)
    rollbacks = sum(e["action"] == "rollback" for e in data.ledger)
    subtitle = [f"gate decision at each evaluation; ledger: {promotions} promotion(s), {rollbacks} rollback(s)"
                if base_rows or ledger_rows else "no evaluations yet: run `rolloutctl ingest` and `rolloutctl build`"]
    chart = alt.layer(*layers).resolve_scale(color="independent").properties(
        width=width, height=34 * len(PHASES),
        title=alt.TitleParams("Phase timeline", subtitle=subtitle, anchor="start"))
    return _finish(chart)


def decision_runs(data: ChartData) -> list[dict]:
    """Consecutive evaluations of a phase with the same decision, as [start, end] stretches (start = first T − 15
    min, since T closes the quarter hour before it)."""
    runs: list[dict] = []
    by_phase: dict[str, list[dict]] = {}
    for d in data.decisions:
        by_phase.setdefault(d["phase"], []).append(d)
    for phase, rows in by_phase.items():
        rows.sort(key=lambda r: r["eval_at"])
        current = None
        for r in rows:
            t = _parse_time(r["eval_at"])
            if current and current["decision"] == r["decision"] and t - _parse_time(current["end"]) <= GRID:
                current["end"] = r["eval_at"]
                current["evaluations"] += 1
                continue
            current = {"phase": phase, "decision": r["decision"], "start": iso(t - GRID), "end": r["eval_at"],
                       "evaluations": 1}
            runs.append(current)
    return runs


def _finish(chart) -> dict:
    spec = chart.configure_view(strokeWidth=0).configure_axis(grid=True, gridColor="#eee").configure_title(
        fontSize=14, subtitleColor="#555").configure_legend(orient="right").to_dict(validate=False)
    spec.pop("$schema", None)
    spec["$schema"] = alt.SCHEMA_URL
    return spec


# ------------------------------------------------------------------------------------------------------- rendering

def vl_version() -> str | None:
    """The Vega-Lite version altair writes specs for, as vl-convert names it (None: vl-convert's latest)."""
    wanted = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    return wanted if wanted in vlc.get_vegalite_versions() else None


def to_svg(spec: dict) -> str:
    return vlc.vegalite_to_svg(spec, vl_version=vl_version())


def start_renderer() -> threading.Thread:
    """Start vl-convert's JavaScript engine in a background thread and return it. The first chart of a process
    pays for the engine's start (about 0.4 s here); vl-convert runs outside the GIL, so a gate cycle starts it before
    its dbt build and the build hides it."""
    thread = threading.Thread(target=to_svg, args=({"mark": "point", "data": {"values": []}},),
                              name="chart-renderer-start", daemon=True)
    thread.start()
    return thread


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_path(path.parent)


def day_range(day: Date | str) -> tuple[Date, datetime, datetime]:
    """A report date as the range (start, end] of its evaluation times.

    T's day is the UTC date of T − 15 min (SPEC §5: T = 00:00 closes the day before), so the date D holds
    D 00:15 … D+1 00:00: start = D 00:00 (exclusive), end = D+1 00:00 (inclusive).
    """
    if isinstance(day, str):
        try:
            day = Date.fromisoformat(day)
        except ValueError:
            raise UsageError(f"--date {day!r} is not a date: use YYYY-MM-DD (UTC)") from None
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return day, start, start + timedelta(days=1)


def report_chart_dir(home: Path, day: Date | str) -> Path:
    day, _, _ = day_range(day)
    return Path(home) / REPORT_RELDIR / day.isoformat()


def render_report_charts(home: Path, date: Date | str, *, phase: str | None = None, con=None,
                         out_dir: Path | None = None) -> dict[str, Path]:
    """Render the daily report's charts as SVG files and return {chart name: path}.

    `date` is the report's day (T's day, as the gate's: T = 00:00 closes the day before): the SLO charts draw every
    evaluation time T of that day (of `phase`, or of every phase when None, each phase its own line); the phase
    timeline draws the whole rollout up to the end of the
    date, with the date shaded. Files go to `out_dir` (default `<home>/reports/rollout/<date>/`, next to
    `reports/rollout/<date>.md`): autosave_p95.svg, restore_success_rate.svg, merge_auto_success_rate.svg,
    phase_timeline.svg. Pass `con` to reuse an open warehouse connection (DuckDB allows one configuration per file
    and process); otherwise the warehouse is opened read-only.
    """
    home = Path(home)
    day, start, end = day_range(date)
    out = Path(out_dir) if out_dir is not None else report_chart_dir(home, day)
    own = con is None
    if own:
        con, _ = open_warehouse(home)
    try:
        data = load_chart_data(con, home, phase=phase, start=start, end=end)
        # the whole rollout's timeline: its decisions, not its metric rows (those grow with history), unless there
        # are no gate marts to draw it from (timeline_spec then draws each phase's grid from the metrics)
        history = load_chart_data(con, home, end=end, metrics=not has_table(con, "marts", "gate_decisions")
                                  ) if phase is None else None
    finally:
        if own:
            con.close()
    specs = report_specs(data, history or data, day, phase)
    with ThreadPoolExecutor(max_workers=len(specs)) as pool:   # the renders overlap in part (BENCHMARKS.md, run 5)
        svgs = dict(zip(specs, pool.map(to_svg, specs.values())))
    paths = {}
    for name, svg in svgs.items():
        path = out / f"{name}.svg"
        _write_atomic(path, svg)
        paths[name] = path
    return paths


def report_specs(data: ChartData, history: ChartData, day: Date, phase: str | None) -> dict[str, dict]:
    suffix = f" — {day.isoformat()}" + (f", phase {phase}" if phase else "")
    specs = {c.name: slo_spec(c, data, phase=phase, title_suffix=suffix) for c in SLO_CHARTS}
    day_start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    timeline = ChartData(metrics=history.metrics, decisions=history.decisions,
                         ledger=[e for e in history.ledger if e["timestamp"] <= iso(day_start + timedelta(days=1))])
    specs[TIMELINE] = timeline_spec(timeline, highlight=(day_start, day_start + timedelta(days=1)))
    return specs


def chart_markdown(paths: dict[str, Path], relative_to: Path) -> dict[str, str]:
    """Markdown image links for a report at `relative_to` (a file or its folder): {name: "![title](rel/path.svg)"}."""
    base = Path(relative_to)
    base = base.parent if base.suffix else base
    titles = {c.name: c.title for c in SLO_CHARTS} | {TIMELINE: "Phase timeline"}
    return {name: f"![{titles.get(name, name)}]({Path(os.path.relpath(path, base)).as_posix()})"
            for name, path in paths.items()}


def phases_with_data(data: ChartData) -> list[str]:
    seen = {r["phase"] for r in data.metrics} | {d["phase"] for d in data.decisions}
    return [p for p in PHASES if p in seen]
