"""What the CLI shows: JSON on stdout, people-facing text, progress and summaries on stderr.

Machine output (`--json`) is one JSON object on stdout and nothing else; everything for people goes to stderr
through rich, which adds colour on a terminal and writes plain text when piped (or with NO_COLOR set).
"""
from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.text import Text

# soft_wrap: a long line (a file:line of a reject, a path) is never split where a pipe or log reads it
err_console = Console(stderr=True, soft_wrap=True)
DECISION_STYLE = {"promote": "bold green", "hold": "bold blue", "review": "bold yellow", "rollback": "bold red"}


def emit_json(obj) -> None:
    click.echo(json.dumps(obj, indent=2, sort_keys=False, default=str))


def present_check(problems: list, ok_message: str, as_json: bool, in_force: dict[str, str] | None = None) -> None:
    """What a check command (`audit verify`, `flags verify`, `config check`) found, then exit: 1 when any problem is
    an error (a problem without a severity is one), else 0. Problems are strings or have as_json(). in_force: the
    files checked (name → path), printed when any is the home's own."""
    errors = [p for p in problems if getattr(p, "severity", "error") == "error"]
    if as_json:
        doc = {"ok": not errors, "problems": [p.as_json() if hasattr(p, "as_json") else p for p in problems]}
        emit_json(doc if in_force is None else {**doc, "files": in_force})
    else:
        present_files_in_force(in_force or {})
        for p in problems:
            click.echo(f"{'✗' if getattr(p, 'severity', 'error') == 'error' else '!'} {p}", err=True)
        if not errors:
            click.echo(f"✓ {ok_message}")
    sys.exit(1 if errors else 0)


def present_files_in_force(in_force: dict[str, str]) -> None:
    """The files a check read, when any is not the project's own (a home's policy or schemas over the packaged)."""
    from rolloutctl.core.layout import PROJECT_DIR

    if any(not Path(path).is_relative_to(PROJECT_DIR) for path in in_force.values()):
        for name, path in in_force.items():
            where = "project" if Path(path).is_relative_to(PROJECT_DIR) else "home"
            click.echo(f"  {name}: {path} ({where})")


@contextmanager
def byte_progress(label: str, enabled: bool):
    """A progress bar on a terminal (stderr); a no-op callback otherwise."""
    if not (enabled and sys.stderr.isatty()):
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), TimeRemainingColumn(), console=err_console, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def dashboard_summary(result: dict, con: Console | None = None) -> None:
    """Print where the dashboard was written (the dict of `rolloutctl dashboard --json`)."""
    con = con or Console(highlight=False, soft_wrap=True)   # paths and URLs stay on one line
    decision = result.get("decision")
    head = Text.assemble(("Dashboard written: ", "bold"), str(result.get("path")))
    con.print(head, soft_wrap=True)
    line = Text.assemble(("  open ", "dim"), (str(result.get("url")), "underline"))
    con.print(line, soft_wrap=True)
    state = Text.assemble(("  current phase ", "dim"), (str(result.get("current_phase")), "bold"))
    if decision:
        state.append("  decision ", style="dim")
        state.append(str(decision).upper(), style=DECISION_STYLE.get(decision, "bold"))
        state.append(f" at {result.get('eval_at')}", style="dim")
    con.print(state)
    con.print(Text(f"  {len(result.get('charts') or [])} charts over {len(result.get('phases') or [])} phase(s), "
                   f"{int(result.get('bytes') or 0) / 1e6:.1f} MB, data from {result.get('source')}", style="dim"))
    for w in result.get("warnings") or []:
        con.print(Text(f"  warning: {w}", style="yellow"))
