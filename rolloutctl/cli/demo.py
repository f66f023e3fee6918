"""`demo`: a multi-day rollout simulated end to end on a fresh home."""
from __future__ import annotations

import click

from rolloutctl.cli.console import emit_json, err_console
from rolloutctl.cli.options import get_home, json_option


@click.command()
@click.option("--days", default=10, show_default=True, help="Days of rollout to simulate.")
@click.option("--events-per-day", default=30_000, show_default=True, help="Telemetry volume.")
@click.option("--step-hours", default=12, show_default=True, help="Hours between gate runs.")
@click.option("--seed", default=42, show_default=True)
@json_option
@click.pass_context
def demo(ctx, days, events_per_day, step_hours, seed, as_json):
    """Simulate a rollout from A-0 to B-1 with a regression, a rollback, an RCA and a re-promotion.

    Each step collects and ingests its events, brings the models up to date and applies the gate; at the end it
    prints where the reports, ledger, audit log and warehouse are.

    \b
    Example:
      rolloutctl --home demo-home demo
      rolloutctl --home /tmp/short demo --days 4 --step-hours 12
    """
    from rolloutctl.simulation.demo import run_demo

    home = get_home(ctx)

    def show(step):
        if as_json:
            return
        mark = f"  [bold]{step.applied}[/]" if step.applied else ""
        colour = {"rollback": "red", "review": "yellow", "promote": "green"}.get(step.decision, "white")
        err_console.print(f"{step.at:%Y-%m-%d %H:%M}Z  {step.phase}  {step.events:>6} events  "
                          f"[{colour}]{step.decision}[/]{mark}")

    try:
        result = run_demo(home, days=days, events_per_day=events_per_day, step_hours=step_hours, seed=seed,
                          progress=show)
    except FileExistsError as exc:
        raise click.UsageError(str(exc)) from None
    if as_json:
        emit_json(result.as_json())
        return
    err_console.print()
    for rca_path in result.rcas:
        err_console.print(f"RCA completed by on-call: {rca_path}")
    for name, path in result.paths().items():
        click.echo(f"{name:15s} {path}")
