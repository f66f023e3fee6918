"""Options and parameter types shared by several commands, defined once."""
from __future__ import annotations

from pathlib import Path

import click

from rolloutctl.core.phases import PHASES

# Folders of the system: a --home or --log-dir there (typed, or reached with ../..) would write rolloutctl's files
# among the system's. Refused with the folder named; anything below the first group is refused too.
SYSTEM_TREES = ("/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/boot", "/dev", "/proc", "/sys",
                "/run")
SYSTEM_FOLDERS = ("/", "/usr", "/var", "/var/lib", "/var/log", "/home", "/root", "/tmp", "/opt", "/srv", "/mnt",
                  "/media")
NO_HOME = ("no home: give --home DIR or set ROLLOUT_HOME (the folder that holds the rollout's warehouse, logs and "
           "governance files)")


def own_folder(value, option: str) -> Path:
    """`value` resolved (symlinks and .. followed); a system folder, or a file, is a usage error naming it."""
    path = Path(value).expanduser().resolve()
    text = str(path)
    if text in SYSTEM_FOLDERS or any(text == t or text.startswith(t + "/") for t in SYSTEM_TREES):
        shown = f"{value} (= {path})" if str(value) != text else text
        raise click.BadParameter(f"{shown} is a system folder; give a folder of your own", param_hint=option)
    if path.exists() and not path.is_dir():
        raise click.BadParameter(f"{value} is not a folder", param_hint=option)
    return path


def get_home(ctx: click.Context) -> Path:
    """The group's --home (env ROLLOUT_HOME). There is no default: a home in the current folder would put the live
    ledger, audit log and lock wherever the command happened to run, a checkout included."""
    home = ctx.find_root().obj["home"]
    if home is None:
        raise click.UsageError(NO_HOME, ctx=ctx)
    return home


def optional_home(ctx: click.Context) -> Path | None:
    """The group's --home when given: commands that work without one (schema lint, config check) use the home's
    own policy and schemas when there is one."""
    return ctx.find_root().obj["home"]


class UtcTime(click.ParamType):
    name = "TIME"

    def convert(self, value, param, ctx):
        from rolloutctl.core.timestamps import parse_utc

        try:
            return parse_utc(value)
        except ValueError:
            self.fail(f"{value!r} is not an RFC 3339 time (e.g. 2026-11-05T10:15:00Z)", param, ctx)


json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout (nothing else).")
phase_choice = click.Choice(PHASES)
no_build_option = click.option("--no-build", is_flag=True, help="Read the marts as built; skip the dbt build.")
executor_option = click.option("--executor", metavar="NAME", help="Who acts (recorded in the ledger and audit).")
