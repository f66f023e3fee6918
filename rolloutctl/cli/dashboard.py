"""`rolloutctl dashboard`: write the offline dashboard (/dashboards/autosave-merge)."""
from __future__ import annotations

from pathlib import Path

import click

from rolloutctl.cli.console import emit_json
from rolloutctl.cli.options import get_home, json_option


@click.command("dashboard")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to write index.html to (default: <home>/dashboards/autosave-merge/).")
@json_option
@click.pass_context
def dashboard(ctx: click.Context, out_dir: Path | None, as_json: bool) -> None:
    """Write the rollout dashboard: one HTML file that opens offline, from file://.

    It shows the current phase's gate decision and reasons, its rules, the phase timeline with every promotion and
    rollback, per phase the AutoSave latency, restore and merge charts against their thresholds, QA progress,
    incidents and links to the RCAs. The warehouse is read read-only (the analysts' snapshot while a build holds
    it); nothing on the page is fetched from the network.

    \b
    Example:
      rolloutctl dashboard                    # writes dashboards/autosave-merge/index.html
      rolloutctl dashboard --out /tmp/dash    # somewhere else
      rolloutctl dashboard --json             # {"path", "url", "decision", "charts", ...}
    """
    from rolloutctl.decision.dashboard import build_dashboard  # altair and vl-convert load only for this command

    result = build_dashboard(get_home(ctx), out_dir)
    if as_json:
        emit_json(result.as_dict())
        return
    from rolloutctl.cli.console import dashboard_summary

    dashboard_summary(result.as_dict())
