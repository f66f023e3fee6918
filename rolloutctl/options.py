"""Options shared by several commands, defined once."""
from __future__ import annotations

from pathlib import Path

import click

# Folders of the system: a --home or --log-dir there (typed, or reached with ../..) would write rolloutctl's files
# among the system's. Refused with the folder named; anything below the first group is refused too.
SYSTEM_TREES = ("/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/boot", "/dev", "/proc", "/sys",
                "/run")
SYSTEM_FOLDERS = ("/", "/usr", "/var", "/var/lib", "/var/log", "/home", "/root", "/tmp", "/opt", "/srv", "/mnt",
                  "/media")


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


json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout (nothing else).")


def get_home(ctx: click.Context) -> Path:
    """The --home of the group (env ROLLOUT_HOME, default the current folder)."""
    return ctx.find_root().obj["home"]
