"""Presentation helpers: JSON on stdout, people-facing text and progress on stderr."""
from __future__ import annotations

import json
import sys
from contextlib import contextmanager

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

err_console = Console(stderr=True)


def emit_json(obj) -> None:
    click.echo(json.dumps(obj, indent=2, sort_keys=False, default=str))


@contextmanager
def byte_progress(label: str, enabled: bool):
    """A progress bar on a terminal (stderr); a no-op callback otherwise."""
    if not (enabled and sys.stderr.isatty()):
        yield None
        return
    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), TimeRemainingColumn(), console=err_console, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
