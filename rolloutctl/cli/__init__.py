"""The `rolloutctl` command group: parse, call one library function, present.

Each command area is a module of this package holding plain click commands; this module creates the group, adds
them (imports run one way: the group imports its commands), and maps library exceptions to exit codes in one
place. Commands import the library they call inside their body, so `rolloutctl --help` loads none of it.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from rolloutctl import __version__
from rolloutctl.cli import audit, backtest, build, config, dashboard, demo, flags, gate, report, simulate, telemetry
from rolloutctl.cli.options import own_folder
from rolloutctl.core import garbage_collection

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _validate_home(ctx, param, value):
    return None if value is None else own_folder(value, "'--home' / ROLLOUT_HOME")


class UserFacingError(click.ClickException):
    """A library error shown as `Error: …` with its exit code, never a traceback."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


class RolloutGroup(click.Group):
    def invoke(self, ctx: click.Context):
        from ingest.errors import as_rollout_error

        try:
            return super().invoke(ctx)
        except Exception as exc:
            error = as_rollout_error(exc)
            if error is None:
                raise
            raise UserFacingError(str(error), error.exit_code) from None


@click.group(cls=RolloutGroup, context_settings=CONTEXT_SETTINGS)
@click.option(
    "--home",
    envvar="ROLLOUT_HOME",
    callback=_validate_home,
    help="Folder holding warehouse/, logs/, metrics/, reports/, governance/ (env ROLLOUT_HOME). No default: "
         "commands that read or write a rollout's state need it.",
)
@click.version_option(__version__, prog_name="rolloutctl")
@click.pass_context
def cli(ctx: click.Context, home: Path | None) -> None:
    """Decide whether a phased rollout may move forward, must hold, or must roll back.

    \b
    Example:
      export ROLLOUT_HOME=~/rollout     # where the rollout's warehouse, logs and governance files live
      rolloutctl ingest logs/          # load JSONL telemetry into the warehouse
      rolloutctl build                 # bring the dbt models up to date
      rolloutctl gate --json           # the current phase's decision
    """
    ctx.ensure_object(dict)
    ctx.obj["home"] = home
    # Whatever the umask, nothing rolloutctl creates (warehouse, logs, governance files, reports) is writable by
    # other users: a umask of 0 or 002 must not let them edit the ledger or the telemetry the gate decides on.
    os.umask(os.umask(0) | 0o022)


for command in (telemetry.schema, telemetry.ingest, telemetry.collect, build.build, gate.gate, gate.promote,
                gate.rollback, flags.flags, report.report, audit.audit, backtest.backtest, dashboard.dashboard,
                demo.demo, config.config, simulate.simulate):
    cli.add_command(command)


def main() -> None:
    try:
        _run()
    finally:
        garbage_collection.at_exit()


def _run() -> None:
    try:
        cli.main(standalone_mode=False, prog_name="rolloutctl")
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    sys.exit(0)
