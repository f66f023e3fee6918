"""Options shared by several commands, defined once."""
from __future__ import annotations

from pathlib import Path

import click

json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout (nothing else).")


def get_home(ctx: click.Context) -> Path:
    """The --home of the group (env ROLLOUT_HOME, default the current folder)."""
    return ctx.find_root().obj["home"]
