"""Commands that check the gate's own footing: `audit replay` (recompute a recorded decision) and `backtest`
(the gate over past data with other seeds)."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from . import replay as replay_lib
from .cli import cli
from .cli_gate import UtcTime, audit
from .errors import UsageError
from .options import get_home, json_option
from .output import emit_json, err_console
from .timefmt import iso_z

MARKS = {"same": "✓", "differs": "✗", "not_replayable": "?"}


@audit.command("replay")
@click.argument("line", required=False)
@click.option("--all", "replay_all", is_flag=True, help="Replay every line of the audit log.")
@click.option("--keep", is_flag=True, help="Keep the scratch warehouse (under warehouse/scratch/) to inspect.")
@json_option
@click.pass_context
def audit_replay(ctx, line, replay_all, keep, as_json):
    """Recompute a recorded decision from the raw events and the seeds it was made with.

    LINE is an audit line as `audit verify` prints it (file:line), its seq number, or the ledger entry it records.
    The raw rows written up to the decision are copied into a scratch warehouse with the recorded seeds and the
    ledger as it was, built as the gate builds, and the verdict, every rule, the raw counts and every metric row
    at T are compared with what was recorded. Exit status 0 when every line replayed the same, 1 otherwise.

    \b
    Example:
      rolloutctl audit replay L0003
      rolloutctl audit replay governance/audit/phase_rollout/2026-11-05.jsonl:2 --json
      rolloutctl audit replay --all
    """
    if bool(line) == replay_all:
        raise UsageError("give one audit LINE, or --all")
    home = get_home(ctx)
    results = replay_lib.replay_all(home, keep=keep) if replay_all else [replay_lib.replay(home, line, keep=keep)]
    if as_json:
        emit_json({"same": all(r.same for r in results), "replays": [r.as_json() for r in results]})
    else:
        for r in results:
            what = f"{r.action} {r.ledger_entry}" if r.ledger_entry else (r.action or "line")
            at = f" {r.phase} at {r.eval_at}" if r.eval_at else ""
            click.echo(f"{MARKS[r.status]} {r.where}: {what}{at}: {r.status.replace('_', ' ')}")
            for d in r.differences:
                click.echo(f"    {d}")
            for note in r.notes:
                err_console.print(f"    note: {note}")
    sys.exit(0 if results and all(r.same for r in results) else 1)


@cli.command()
@click.option("--rules", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="A gate_rules seed (CSV, the columns of seeds/gate_rules.csv) to evaluate instead of the current.")
@click.option("--thresholds", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="A metric_thresholds seed (CSV) to evaluate instead of the current.")
@click.option("--from", "since", type=UtcTime(), help="Compare grid times from this time on.")
@click.option("--to", "until", type=UtcTime(), help="Compare grid times up to this time.")
@click.option("--keep", is_flag=True, help="Keep the scratch warehouse (under warehouse/scratch/) to inspect.")
@json_option
@click.pass_context
def backtest(ctx, rules, thresholds, since, until, keep, as_json):
    """Evaluate the gate over past data with other rules or thresholds, and compare with the current seeds.

    The candidate seeds run in a scratch warehouse on the raw rows the production marts were built from (they are
    never touched). Per phase: how many grid times change decision; per rollback: when it fires under each rule
    set (earlier, later, same, never; new for one only the candidate has). The result is also a DuckDB file,
    warehouse/backtests/<id>.duckdb (schema backtest: runs, decisions, phase_summary, rollbacks).

    \b
    Example:
      rolloutctl backtest --rules loosened_rules.csv
      rolloutctl backtest --thresholds strict.csv --from 2026-11-03T00:00:00Z --to 2026-11-06T00:00:00Z --json
      duckdb -readonly warehouse/backtests/<id>.duckdb "select * from backtest.rollbacks"
    """
    from .backtest import backtest as run_backtest

    result = run_backtest(get_home(ctx), rules=rules, thresholds=thresholds, since=since, until=until, keep=keep)
    if as_json:
        emit_json(result.as_json())
        return
    compared = ", ".join(f"{name} {path}" for name, path in result.candidate_files.items())
    click.echo(f"backtest {result.id}: {compared} against the current seeds")
    click.echo(f"{'phase':<6} {'grid times':>10} {'changed':>8}  transitions (current→candidate)")
    for p in result.phases:
        moves = ", ".join(f"{k} {v}" for k, v in p.transitions.items()) or "—"
        click.echo(f"{p.phase:<6} {p.grid_times:>10} {p.changed:>8}  {moves}")
    click.echo("rollbacks:" if result.rollbacks else "rollbacks: none under either rule set")
    for r in result.rollbacks:
        cur = iso_z(r.current_first_at) if r.current_first_at else "—"
        cand = iso_z(r.candidate_first_at) if r.candidate_first_at else "never"
        shift = f" ({r.shift_minutes:+d} min)" if r.shift_minutes else ""
        rules_fired = ", ".join(r.candidate_rule_ids or r.current_rule_ids)
        click.echo(f"  {r.phase}  current {cur}  candidate {cand}  {r.change}{shift}  [{rules_fired}]")
    click.echo(f"table: {result.file} (backtest.runs, decisions, phase_summary, rollbacks)")
