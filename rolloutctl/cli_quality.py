"""Commands that check the gate's own footing: `audit replay` (recompute a recorded decision) and `backtest`
(the gate over past data with other seeds)."""
from __future__ import annotations

import sys

import click

from . import replay as replay_lib
from .cli import cli
from .cli_gate import UtcTime, audit
from .errors import UsageError
from .options import get_home, json_option
from .output import emit_json, err_console

MARKS = {"same": "✓", "differs": "✗", "not_replayable": "?"}


@audit.command("replay")
@click.argument("line", required=False)
@click.option("--all", "replay_all", is_flag=True, help="Replay every line of the audit log.")
@click.option("--keep", is_flag=True, help="Keep the scratch warehouse (under warehouse/scratch/) to inspect.")
@json_option
@click.pass_context
def audit_replay(ctx, line, replay_all, keep, as_json):
    """Recompute a recorded decision from the raw events and the seeds it was made with.

    LINE is an audit line as `audit verify` prints it (file:line), its seq number, or the ledger entry it records.
    The raw rows written up to the decision are copied into a scratch warehouse with the recorded seeds and the
    ledger as it was, built as the gate builds, and the verdict, every rule, the raw counts and every metric row
    at T are compared with what was recorded. Exit status 0 when every line replayed the same, 1 otherwise.

    \b
    Example:
      rolloutctl audit replay L0003
      rolloutctl audit replay governance/audit/phase_rollout/2026-11-05.jsonl:2 --json
      rolloutctl audit replay --all
    """
    if bool(line) == replay_all:
        raise UsageError("give one audit LINE, or --all")
    home = get_home(ctx)
    results = replay_lib.replay_all(home, keep=keep) if replay_all else [replay_lib.replay(home, line, keep=keep)]
    if as_json:
        emit_json({"same": all(r.same for r in results), "replays": [r.as_json() for r in results]})
    else:
        for r in results:
            what = f"{r.action} {r.ledger_entry}" if r.ledger_entry else (r.action or "line")
            at = f" {r.phase} at {r.eval_at}" if r.eval_at else ""
            click.echo(f"{MARKS[r.status]} {r.where}: {what}{at}: {r.status.replace('_', ' ')}")
            for d in r.differences:
                click.echo(f"    {d}")
            for note in r.notes:
                err_console.print(f"    note: {note}")
    sys.exit(0 if results and all(r.same for r in results) else 1)
