"""`build`: bring the dbt models up to date and publish the analysts' snapshot."""
from __future__ import annotations

import sys

import click

from rolloutctl.cli.console import emit_json, err_console
from rolloutctl.cli.options import get_home, json_option


@click.command()
@click.option("--full-refresh", is_flag=True, help="Rebuild incremental models from scratch.")
@click.option("--all-tests", is_flag=True,
              help="The full `dbt build` CI runs: every unit test and every data test, over all history (the default "
                   "runs only the data tests guarding the gate's inputs, on the new rows).")
@click.option("--select", "-s", "select", multiple=True, help="dbt node selection (repeatable).")
@click.option("--target", help="dbt target of profiles.yml (default: duckdb).")
@json_option
@click.pass_context
def build(ctx, full_refresh, all_tests, select, target, as_json):
    """Bring the dbt models up to date, then publish the analysts' snapshot.

    By default the operational cycle: the models holding data, incrementally (a 15-minute cycle recomputes only
    the evaluation times its new events touch), and the data tests that guard the gate's inputs, on the rows loaded
    since the last passing build. --all-tests is the full `dbt build` (every unit and data test, all history).

    \b
    Example:
      rolloutctl build
      rolloutctl build --all-tests
      rolloutctl build --full-refresh --json
    """
    from rolloutctl.warehouse.dbt_runner import BuildFailed
    from rolloutctl.warehouse.refresh import refresh

    home = get_home(ctx)
    options = {"full_refresh": full_refresh, "all_tests": all_tests, "select": list(select) or None, "target": target,
               "check": False}
    if as_json or not sys.stderr.isatty():
        result = refresh(home, **options)
    else:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(TextColumn("dbt build"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                      TimeElapsedColumn(), console=err_console, transient=True) as bar:
            task = bar.add_task("", total=None)

            def show(event):
                if event.total:
                    bar.update(task, total=event.total)
                if event.status != "started":
                    bar.advance(task)
                bar.update(task, description=f"{event.resource_type} {event.name}")

            result = refresh(home, progress=show, **options)
    if as_json:
        emit_json(result.as_json())
    elif result.success:
        err_console.print(f"[green]✓[/] {result.summary()}")
    if not result.success:
        raise BuildFailed(result)
