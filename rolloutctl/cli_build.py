"""Commands that run the dbt project: build."""
from __future__ import annotations

import sys

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .cli import cli
from .options import get_home, json_option
from .output import emit_json, err_console


@cli.command()
@click.option("--full-refresh", is_flag=True, help="Rebuild incremental models from scratch.")
@click.option("--select", "-s", "select", multiple=True, help="dbt node selection (repeatable).")
@click.option("--target", help="dbt target of profiles.yml (default: duckdb).")
@json_option
@click.pass_context
def build(ctx, full_refresh, select, target, as_json):
    """Bring the dbt models up to date (`dbt build`: models, seeds, unit and data tests), then publish the
    analysts' snapshot.

    Incremental by default: a 15-minute cycle recomputes only the evaluation times its new events touch.

    \b
    Example:
      rolloutctl build
      rolloutctl build --full-refresh --json
    """
    from .build import BuildFailed
    from .cycle import build as build_cycle

    home = get_home(ctx)
    options = {"full_refresh": full_refresh, "select": list(select) or None, "target": target, "check": False}
    if as_json or not sys.stderr.isatty():
        result = build_cycle(home, **options)
    else:
        with Progress(TextColumn("dbt build"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                      TimeElapsedColumn(), console=err_console, transient=True) as bar:
            task = bar.add_task("", total=None)

            def show(event):
                if event.total:
                    bar.update(task, total=event.total)
                if event.status != "started":
                    bar.advance(task)
                bar.update(task, description=f"{event.resource_type} {event.name}")

            result = build_cycle(home, progress=show, **options)
    if as_json:
        emit_json(result.as_json())
    elif result.success:
        err_console.print(f"[green]✓[/] {result.summary()}")
    if not result.success:
        raise BuildFailed(result)


@cli.command()
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
    from .demo import run_demo

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
