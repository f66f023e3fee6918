"""The `rolloutctl` command group: parse, call one library function, present.

Commands live in cli_*.py modules by area and register on this group; exceptions from the library are
mapped to exit codes here, in one place.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click
import duckdb

from ingest.errors import RolloutError, from_duckdb_error, from_os_error

from . import __version__
from .options import own_folder

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _validate_home(ctx, param, value):
    return own_folder(value, "'--home' / ROLLOUT_HOME")


class UserFacingError(click.ClickException):
    """A library error shown as `Error: …` with its exit code, never a traceback."""

    def __init__(self, exc: RolloutError):
        super().__init__(str(exc))
        self.exit_code = exc.exit_code


class RolloutGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except RolloutError as exc:
            raise UserFacingError(exc) from None
        except OSError as exc:          # the machine, not the data: full disk, read-only home, unreadable file
            raise UserFacingError(from_os_error(exc)) from None
        except duckdb.Error as exc:     # e.g. the disk filled up under DuckDB
            raise UserFacingError(from_duckdb_error(exc)) from None


@click.group(cls=RolloutGroup, context_settings=CONTEXT_SETTINGS)
@click.option(
    "--home",
    envvar="ROLLOUT_HOME",
    default=".",
    show_default=True,
    callback=_validate_home,
    help="Folder holding warehouse/, logs/, metrics/, reports/, governance/ (env ROLLOUT_HOME).",
)
@click.version_option(__version__, prog_name="rolloutctl")
@click.pass_context
def cli(ctx: click.Context, home: Path) -> None:
    """Decide whether a phased rollout may move forward, must hold, or must roll back.

    \b
    Example:
      rolloutctl ingest logs/          # load JSONL telemetry into the warehouse
      rolloutctl build                 # bring the dbt models up to date
      rolloutctl gate --json           # the current phase's decision
    """
    ctx.ensure_object(dict)
    ctx.obj["home"] = home
    # Whatever the umask, nothing rolloutctl creates (warehouse, logs, governance files, reports) is writable by
    # other users: a umask of 0 or 002 must not let them edit the ledger or the telemetry the gate decides on.
    os.umask(os.umask(0) | 0o022)


def main() -> None:
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


# Commands register themselves on `cli` when their module is imported.
from . import cli_ingest  # noqa: E402,F401
from . import cli_build  # noqa: E402,F401
from . import cli_gate  # noqa: E402,F401
from . import cli_dashboard  # noqa: E402,F401
from . import cli_quality  # noqa: E402,F401
