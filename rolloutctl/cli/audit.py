"""`audit`: check the audit log (`verify`) and recompute recorded decisions (`replay`)."""
from __future__ import annotations

import sys

import click

from rolloutctl.cli.console import emit_json, err_console, present_check
from rolloutctl.cli.options import get_home, json_option
from rolloutctl.core.errors import UsageError


@click.group()
def audit():
    """The audit log of promotions and rollbacks."""


@audit.command("verify")
@json_option
@click.pass_context
def audit_verify(ctx, as_json):
    """Check the audit log: hash chain, metrics snapshots, and agreement with the ledger.

    Any edited, removed or reordered line, or metrics file changed after it was recorded, is reported with its
    file and line; the exit status is then 1.

    \b
    Example:
      rolloutctl audit verify
    """
    from rolloutctl.governance import audit as audit_log

    present_check(audit_log.verify(get_home(ctx)), "audit log intact: chain, metrics snapshots and ledger agree",
                  as_json)


REPLAY_MARKS = {"same": "✓", "differs": "✗", "not_replayable": "?"}


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
    from rolloutctl.verification import replay

    home = get_home(ctx)
    results = replay.replay_all(home, keep=keep) if replay_all else [replay.replay(home, line, keep=keep)]
    if as_json:
        emit_json({"same": all(r.same for r in results), "replays": [r.as_json() for r in results]})
    else:
        for r in results:
            what = f"{r.action} {r.ledger_entry}" if r.ledger_entry else (r.action or "line")
            at = f" {r.phase} at {r.eval_at}" if r.eval_at else ""
            click.echo(f"{REPLAY_MARKS[r.status]} {r.where}: {what}{at}: {r.status.replace('_', ' ')}")
            for d in r.differences:
                click.echo(f"    {d}")
            for note in r.notes:
                err_console.print(f"    note: {note}")
    sys.exit(0 if results and all(r.same for r in results) else 1)
