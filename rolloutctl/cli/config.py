"""`config check`: the rollout policy (governance/*.csv, the dbt seeds) checked before it is built on."""
from __future__ import annotations

import click

from rolloutctl.cli.console import present_check
from rolloutctl.cli.options import json_option


@click.group()
def config():
    """The rollout policy in governance/: gate rules, thresholds, phase flags, gate parameters."""


@config.command("check")
@json_option
def config_check(as_json):
    """Check the policy seeds: required columns, known metrics and windows, thresholds and rules that can apply.

    Errors (exit status 1) make a seed wrong; warnings flag what works but cannot be what was meant.

    \b
    Example:
      rolloutctl config check
      rolloutctl config check --json
    """
    from rolloutctl.governance.policy_check import check_seeds

    problems = check_seeds()
    present_check(problems, f"policy seeds valid ({len(problems)} warning(s))", as_json)
