"""`config check`: the rollout policy (governance/*.csv, the dbt seeds) checked before it is built on."""
from __future__ import annotations

import click

from rolloutctl.cli.console import present_check
from rolloutctl.cli.options import json_option, optional_home


@click.group()
def config():
    """The rollout policy in governance/: gate rules, thresholds, phase flags, gate parameters."""


@config.command("check")
@json_option
@click.pass_context
def config_check(ctx, as_json):
    """Check the policy seeds: required columns, known metrics and windows, thresholds and rules that can apply.

    Errors (exit status 1) make a seed wrong; warnings flag what works but cannot be what was meant. With --home,
    the seeds in force for that home: its own governance/<seed>.csv over the project's (listed when any).

    \b
    Example:
      rolloutctl config check
      rolloutctl config check --json
    """
    from rolloutctl.core.layout import policy_file, policy_names
    from rolloutctl.governance.policy_check import check_seeds
    from rolloutctl.warehouse.dbt_project import project_for

    home = optional_home(ctx)
    problems = check_seeds(project_for(home) if home else None)
    in_force = {f"{name}.csv": str(policy_file(name, home)) for name in policy_names()}
    present_check(problems, f"policy seeds valid ({len(problems)} warning(s))", as_json, in_force)


@config.command("project-dir")
@click.pass_context
def config_project_dir(ctx):
    """Print the dbt project folder rolloutctl builds with (for dbt run by hand, e.g. from an installed wheel).

    The installed project, or, for a --home holding its own policy seeds, the home's copy with them.

    \b
    Example:
      export ROLLOUT_HOME=~/rollout; P=$(rolloutctl config project-dir)
      dbt build --project-dir "$P" --profiles-dir "$P" --target-path "$ROLLOUT_HOME/warehouse/dbt-target"
    """
    from rolloutctl.core.layout import PROJECT_DIR
    from rolloutctl.warehouse.dbt_project import project_for

    home = optional_home(ctx)
    click.echo(str(project_for(home) if home else PROJECT_DIR))
