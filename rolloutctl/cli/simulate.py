"""`simulate`: measure the gate's verdict policies on simulated rollouts."""
from __future__ import annotations

from pathlib import Path

import click

from rolloutctl.cli.console import emit_json
from rolloutctl.cli.options import json_option, optional_home


def _rate(value) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _minutes(value) -> str:
    return "—" if value is None else f"{value / 60:.1f} h"


@click.command()
@click.option("--rollouts", type=click.IntRange(min=1), default=200, show_default=True,
              help="Simulated rollouts per scenario.")
@click.option("--seed", type=click.IntRange(min=0), default=1, show_default=True,
              help="Random seed: the figures are a pure function of the options.")
@click.option("--scenario", "scenarios", multiple=True, metavar="NAME",
              help="Only these scenarios (repeatable; default every one).")
@click.option("--database", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Keep the trials in this DuckDB file (tables buckets, fires, first_rollbacks) to query.")
@json_option
@click.pass_context
def simulate(ctx, rollouts, seed, scenarios, database, as_json):
    """Measure each verdict policy's false-rollback rate and detection delay on simulated rollouts.

    Every scenario (A/A, low traffic, steps, drifts and flapping of the p95, restore and merge rates) is drawn
    --rollouts times at the demo's shape and volume, with i.i.d. events; the seed's rollback rules, the same with
    3-consecutive hysteresis, multi-window burn rates on the SLO statuses, the anytime-valid policy (confidence
    sequences) and the same with a control-cohort comparison run over all of them in one DuckDB query. No rollout
    home is needed; with one (--home, ROLLOUT_HOME) the figures are also kept in <home>/warehouse/gate-trials.json,
    where `rolloutctl backtest` and the report read them. STATISTICS.md holds the figures and how they are
    computed.

    \b
    Example:
      rolloutctl simulate --rollouts 200 --seed 1
      rolloutctl simulate --rollouts 50 --scenario aa --scenario restore_-1pt --json
    """
    from rolloutctl.simulation.gate_trials import SCENARIOS, run_trials

    known = {s.name: s for s in SCENARIOS}
    unknown = [name for name in scenarios if name not in known]
    if unknown:
        raise click.UsageError(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(known)}")
    chosen = tuple(known[name] for name in scenarios) or SCENARIOS
    result = run_trials(rollouts, seed, chosen, str(database) if database else ":memory:")
    home = optional_home(ctx)
    kept = None
    if home is not None:
        from rolloutctl.simulation.record import save

        kept = save(home, result.as_json())
    if as_json:
        emit_json({**result.as_json(), "kept_in": str(kept) if kept else None})
        return
    click.echo(f"{rollouts} rollouts per scenario, seed {seed}")
    click.echo(f"{'scenario':<20} {'policy':<19} {'false rollback':>14} {'detected':>9} {'median delay':>13} "
               f"{'p90 delay':>10} {'seed caught, this missed':>24}")
    for row in result.summary:
        click.echo(f"{row['scenario']:<20} {row['policy']:<19} {_rate(row['false_rollback_rate']):>14} "
                   f"{_rate(row['detection_rate']):>9} {_minutes(row['median_delay_min']):>13} "
                   f"{_minutes(row['p90_delay_min']):>10} {row['seed_caught_missed']:>24}")
    if kept:
        click.echo(f"kept in {kept} (rolloutctl backtest and the report show them)")
