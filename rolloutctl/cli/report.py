"""`report`: re-render a day's report from the built marts."""
from __future__ import annotations

import click

from rolloutctl.cli.console import emit_json
from rolloutctl.cli.options import get_home, json_option, phase_choice


@click.command()
@click.option("--date", "day", metavar="YYYY-MM-DD", help="The day to render (default: today's UTC date).")
@click.option("--phase", type=phase_choice, help="The phase (default: the ledger's phase at the end of that day).")
@json_option
@click.pass_context
def report(ctx, day, phase, as_json):
    """Re-render the daily report reports/rollout/<date>.md from the built marts.

    \b
    Example:
      rolloutctl report --date 2026-11-05
    """
    from rolloutctl.core.timestamps import iso_z, utc_now
    from rolloutctl.decision import cycle

    run = cycle.report_for_day(get_home(ctx), day or utc_now().strftime("%Y-%m-%d"), phase)
    if as_json:
        emit_json({"report": run.report, "metrics_file": run.metrics_file, "phase": run.evaluation.phase,
                   "eval_at": iso_z(run.evaluation.eval_at)})
    else:
        click.echo(run.report)
