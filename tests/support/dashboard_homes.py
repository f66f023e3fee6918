"""Rollout homes for the chart and dashboard tests.

`real_home` runs the real pipeline (the telemetry generator → ingest → dbt build);
`synthetic_home` writes the marts the charts read (SPEC §5–7 columns) with known values, so
that a test can count what a chart must show. Both add a ledger with promotions and a rollback, an RCA for the
rollback and an incident queue.
"""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from ingest.warehouse import connect

REPO = Path(__file__).resolve().parents[2]
START = datetime(2026, 11, 1, tzinfo=UTC)
# Phase spans in hours from START (the synthetic rollout; the real one follows the generator's plan).
SPANS = {"A-0": (0, 12), "A-1": (12, 36), "A-2": (36, 60), "B-0": (60, 78), "B-1": (78, 96)}
REGRESSION = (44, 50)        # hours from START: A-2's 1h p95 at 3000 ms
ROLLBACK_AT = 45             # the rollback A-2 → A-1, hours from START


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def ledger_entries(ends: dict[str, datetime], rollback_at: datetime, repromote_at: datetime) -> list[dict]:
    """Promotions at each phase's end and one rollback A-2 → A-1 during the regression (re-promoted after it)."""
    steps = [("promote", "A-0", "A-1", ends["A-0"]), ("promote", "A-1", "A-2", ends["A-1"]),
             ("rollback", "A-2", "A-1", rollback_at), ("promote", "A-1", "A-2", repromote_at),
             ("promote", "A-2", "B-0", ends["A-2"]), ("promote", "B-0", "B-1", ends["B-0"])]
    entries = []
    for i, (action, src, dst, at) in enumerate(steps, start=1):
        t = _iso(at)
        entry = {"id": f"L{i:04d}", "action": action, "phase_from": src, "phase_to": dst,
                 "executor": "captain" if action == "promote" else "gate", "timestamp": t, "recorded_at": t,
                 "reason": "save p95 above 2.5 s for an hour" if action == "rollback" else "gate said promote",
                 "forced": False, "trigger_rules": ["a2_rollback_p95_critical"] if action == "rollback" else []}
        if action == "rollback":
            entry["rca_file"] = f"reports/rca/{t[:10]}-L{i:04d}-{src}-to-{dst}.md"
        entries.append(entry)
    return entries


def synthetic_ledger() -> list[dict]:
    hours = lambda h: START + timedelta(hours=h)  # noqa: E731
    return ledger_entries({p: hours(end) for p, (_, end) in SPANS.items()}, hours(ROLLBACK_AT), hours(52))


def write_governance(home: Path, entries: list[dict]) -> None:
    (home / "governance").mkdir(parents=True, exist_ok=True)
    (home / "governance" / "phase-ledger.yaml").write_text(
        "# test ledger\n" + yaml.safe_dump(entries, sort_keys=False), encoding="utf-8")
    for e in entries:
        if e.get("rca_file"):
            path = home / e["rca_file"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"---\nrollback_id: {e['id']}\nstatus: complete\n---\n# RCA {e['id']}\n\nRoot cause: "
                            f"a slow storage node.\n", encoding="utf-8")
    (home / "incident_queue.json").write_text(json.dumps([
        {"action": "notify_rollback", "phase": "A-2", "rollback_to": "A-1", "eval_at": _iso(START + timedelta(
            hours=ROLLBACK_AT)), "rules": ["a2_rollback_p95_critical"], "status": "open"}]), encoding="utf-8")


def real_home(home: Path, *, days: int = 4, events: int = 40000) -> Path:
    """generate_telemetry (with the A-2 regression) → ingest → the cycle's dbt build, with a ledger that rolls back."""
    from ingest.loader import ingest
    from rolloutctl.simulation import telemetry as gen
    from rolloutctl.warehouse.dbt_runner import CYCLE_SELECTOR, run_dbt
    plan = gen.phase_timeline(days, regression=True)
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    ends = {p["phase"]: parse(p["end"]) for p in plan["phases"]}
    reg_start, reg_end = parse(plan["regression"]["start"]), parse(plan["regression"]["end"])
    logs = home / "logs"
    subprocess.run([sys.executable, str(REPO / "scripts" / "generate_telemetry.py"), "--events", str(events),
                    "--days", str(days), "--seed", "7", "--regression", "--out", str(logs)], check=True,
                   stdout=subprocess.DEVNULL)
    ingest(home, [logs])
    write_governance(home, ledger_entries(ends, reg_start + timedelta(hours=1), reg_end + timedelta(hours=1)))
    # what the gate's cycle builds (every model and seed, the gate inputs' tests): the dashboard reads the marts; the
    # logic's own tests are make test-dbt's
    run_dbt(home, selector=CYCLE_SELECTOR, target_path=home / "dbt-target")
    return home


def synthetic_home(home: Path) -> Path:
    """Marts with known rows: 4 days, the five phases in turn, a 6-hour latency regression in A-2."""
    write_governance(home, synthetic_ledger())
    con = connect(home)  # creates raw.* too
    try:
        con.execute("create schema if not exists marts")
        con.execute(f"""
            create or replace table marts.gate_rules as
            select * from read_csv('{REPO / "governance" / "gate_rules.csv"}', header = true, all_varchar = true)
        """)
        con.execute("""
            create or replace table marts.gate_rules as
            select * replace (cast(threshold as double) as threshold, cast(min_samples as integer) as min_samples)
            from marts.gate_rules""")
        con.execute("create or replace table phase_spans (phase varchar, first_h integer, last_h integer)")
        con.executemany("insert into phase_spans values (?, ?, ?)", [(p, a, b) for p, (a, b) in SPANS.items()])
        con.execute(f"""
            create or replace table grid as
            select phase, timestamptz '{_iso(START)}' + to_minutes(q * 15) as eval_at, q * 15 / 60.0 as h
            from phase_spans, range(first_h * 4 + 1, last_h * 4 + 1) as r(q)
        """)
        con.execute(f"""
            create or replace table marts.metrics_windowed as
            with metrics(metric, feature, dimension) as (
                values ('autosave_p95', 'autosave', 'all'), ('restore_success_rate', 'autosave', 'overall'),
                       ('restore_success_rate', 'autosave', 'current'),
                       ('merge_auto_success_rate', 'merge', 'overall'), ('crash_rate', 'app', 'all')
            ),
            windows("window", hours) as (values ('1h', 1), ('24h', 24), ('7d', 168)),
            crossed as (
                select grid.*, metrics.*, windows."window", windows.hours,
                       ({REGRESSION[0]} < h and h <= {REGRESSION[1]} and grid.phase = 'A-2') as in_regression,
                       -- hours of the regression inside the window
                       greatest(0, least(h, {REGRESSION[1]}) - greatest(h - hours, {REGRESSION[0]}))
                           * (grid.phase = 'A-2')::int as regression_hours
                from grid, metrics, windows
            )
            select
                eval_at, phase, feature, metric, dimension, "window",
                case
                    -- every 7th quarter hour the 1h restore window is empty: no sample, NULL value
                    when metric = 'restore_success_rate' and "window" = '1h' and (h * 4)::int % 7 = 0 then null
                    when metric = 'autosave_p95' and "window" = '1h' and in_regression then 3000 + 40 * sin(h * 3)
                    when metric = 'autosave_p95' then 560 + 25 * sin(h / 2 + hours) + 2440 * regression_hours / hours
                    when metric = 'merge_auto_success_rate' then
                        case phase when 'B-0' then 0.88 when 'B-1' then 0.90 else 0.82 end + 0.01 * sin(h)
                    when metric = 'crash_rate' then 0.005
                    else 0.998 + 0.0015 * sin(h * 2) - 0.01 * (regression_hours > 0)::int
                end as value,
                case
                    when metric = 'restore_success_rate' and "window" = '1h' and (h * 4)::int % 7 = 0 then 0
                    else cast(least(h - (select min(first_h) from phase_spans where phase_spans.phase = crossed.phase),
                                    hours) * 100 + 1 as bigint)
                end as sample_count
            from crossed
        """)
        con.execute("""
            create or replace table marts.metric_status as
            with thresholds(metric, dimension, "window", breach, warn_level, critical_level, min_samples, phases) as (
                values ('autosave_p95', 'all', '1h', 'above', 700.0, 900.0, 20, ['A-1', 'A-2', 'B-0', 'B-1']),
                       ('restore_success_rate', 'overall', '24h', 'below', 0.97, 0.995, 50,
                        ['A-1', 'A-2', 'B-0', 'B-1']),
                       ('merge_auto_success_rate', 'overall', '24h', 'below', 0.85, 0.80, 50, ['B-0', 'B-1'])
            )
            select m.*, t.warn_level, t.critical_level, t.min_samples,
                   case
                       when not list_contains(t.phases, m.phase) then 'not_applicable'
                       when m.sample_count < t.min_samples then 'insufficient_data'
                       when t.breach = 'above' and m.value > t.critical_level then 'critical'
                       when t.breach = 'below' and m.value < t.critical_level then 'critical'
                       when t.breach = 'above' and m.value > t.warn_level then 'warn'
                       when t.breach = 'below' and m.value < t.warn_level then 'warn'
                       else 'ok'
                   end as status
            from marts.metrics_windowed as m
            inner join thresholds as t using (metric, dimension, "window")
        """)
        con.execute("""
            create or replace table marts.gate_rule_results as
            select g.phase, g.eval_at, r.rule_id, r.kind, r.measure, r.metric, r.dimension, r."window",
                   case when r.metric = 'autosave_p95' then m.value else r.threshold end as value,
                   r.comparator, r.threshold, r.min_samples, m.sample_count,
                   (r.kind = 'rollback' and r.metric = 'autosave_p95' and m.value > 900)
                       or (r.kind = 'promote' and g.h > (select last_h from phase_spans s where s.phase = g.phase) - 3)
                       as is_fired,
                   case
                       when r.kind = 'promote' and g.h > (select last_h from phase_spans s where s.phase = g.phase) - 3
                           then 'passed'
                       when r.kind = 'promote' then 'not_met'
                       when r.kind <> 'promote' and r.metric = 'autosave_p95' and m.value > 900 then 'fired'
                       when r.rule_id like '%crash%' then 'insufficient_data'
                       else 'clear'
                   end as status,
                   'synthetic' as detail, r.description
            from grid as g
            inner join marts.gate_rules as r on r.phase = g.phase
            left join marts.metrics_windowed as m
                on m.phase = g.phase and m.eval_at = g.eval_at and m.metric = 'autosave_p95' and m."window" = '1h'
        """)
        con.execute("""
            create or replace table marts.gate_decisions as
            select phase, eval_at,
                   case
                       when bool_or(kind = 'rollback' and status = 'fired') then 'rollback'
                       when bool_or(kind = 'review' and status = 'fired') then 'review'
                       when bool_and(kind <> 'promote' or status = 'passed') then 'promote'
                       else 'hold'
                   end as decision,
                   'synthetic' as reason,
                   cast(null as varchar) as next_phase, cast(null as varchar) as rollback_to,
                   list(rule_id order by rule_id) filter (where status in ('fired', 'not_met')) as deciding_rule_ids,
                   list(rule_id order by rule_id) filter (where status = 'insufficient_data')
                       as insufficient_rule_ids,
                   cast([] as varchar[]) as blocking_rollback_ids
            from marts.gate_rule_results
            group by phase, eval_at
        """)
        con.execute("""
            update marts.gate_decisions set
                next_phase = case when decision = 'promote' then
                    case phase when 'A-0' then 'A-1' when 'A-1' then 'A-2' when 'A-2' then 'B-0'
                               when 'B-0' then 'B-1' end end,
                rollback_to = case when decision = 'rollback' then
                    case phase when 'A-1' then 'A-0' when 'A-2' then 'A-1' when 'B-0' then 'A-2'
                               when 'B-1' then 'B-0' end end,
                reason = case decision when 'rollback' then 'rollback_rule_fired'
                                       when 'promote' then 'promote_rules_passed'
                                       when 'review' then 'review_rule_fired' else 'promote_rules_not_met' end
        """)
        # A few raw events the dashboard reads directly: QA results and declared incidents.
        qa = []
        for suite, phase, n, at in (("autosave_qa", "A-1", 12, 14), ("restore_qa", "A-2", 12, 38),
                                    ("merge_qa", "B-0", 24, 62), ("release_notes", "B-1", 1, 80)):
            for i in range(1, n + 1):
                result = "fail" if (suite == "merge_qa" and i == n) else "pass"
                qa.append((phase, START + timedelta(hours=at, minutes=i),
                           json.dumps({"event": "qa.case.result", "suite": suite, "case_id": f"{suite[:2]}-{i:02d}",
                                       "result": result, "phase": phase, "executor": "qa-bot"})))
        incidents = [("A-2", START + timedelta(hours=44, minutes=40),
                      json.dumps({"event": "incident.declared", "severity": "sev2", "incident_id": "INC-7",
                                  "phase": "A-2"}))]
        rows = [(f"e{i}", json.loads(p)["event"], "qa" if "qa" in json.loads(p)["event"] else "app", phase, t, p)
                for i, (phase, t, p) in enumerate(qa + incidents)]
        con.executemany("""
            insert into raw.events (event_id, event, feature, phase, event_at, payload, source_file, line_no,
                                    load_id, loaded_at)
            values (?, ?, ?, ?, ?, ?, 'synthetic.jsonl', 1, 'synthetic', now())""", rows)
        con.execute("drop table grid")
        con.execute("drop table phase_spans")
    finally:
        con.close()
    return home
