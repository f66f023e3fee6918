"""`backtest`: the gate over past data with other rules or thresholds."""
from __future__ import annotations

from pathlib import Path

import click

from rolloutctl.cli.console import emit_json
from rolloutctl.cli.options import UtcTime, get_home, json_option


@click.command()
@click.option("--rules", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="A gate_rules seed (CSV, the columns of governance/gate_rules.csv) to evaluate instead of the "
                   "current.")
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
    set (earlier, later, same, never; new for one only the candidate has), and how often the current rules are
    wrong as the last `rolloutctl simulate` measured them. The result is also a DuckDB file,
    warehouse/backtests/<id>.duckdb (schema backtest: runs, decisions, phase_summary, rollbacks).

    \b
    Example:
      rolloutctl backtest --rules loosened_rules.csv
      rolloutctl backtest --thresholds strict.csv --from 2026-11-03T00:00:00Z --to 2026-11-06T00:00:00Z --json
      duckdb -readonly warehouse/backtests/<id>.duckdb "select * from backtest.rollbacks"
    """
    from rolloutctl.core.timestamps import iso_z
    from rolloutctl.simulation.record import describe, measured
    from rolloutctl.verification.backtest import backtest as run_backtest

    home = get_home(ctx)
    result = run_backtest(home, rules=rules, thresholds=thresholds, since=since, until=until, keep=keep)
    figures = measured(home)
    if as_json:
        emit_json({**result.as_json(), "measured": figures})
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
    # how often the rules the gate acts on are wrong, as the last `rolloutctl simulate` of this home measured them
    click.echo("measured on simulated rollouts:")
    for line in describe(figures):
        click.echo(f"  {line}")
