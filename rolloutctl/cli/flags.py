"""`flags`: resolve the feature flags, push a phase's defaults, verify the defaults file."""
from __future__ import annotations

import click

from rolloutctl.cli.console import emit_json, err_console, present_check
from rolloutctl.cli.options import get_home, json_option, phase_choice


@click.group()
def flags():
    """Feature flags: resolve them, push a phase's defaults, verify the defaults file."""


@flags.command("resolve")
@json_option
@click.pass_context
def flags_resolve(ctx, as_json):
    """Resolve every flag: environment → local override (A-0, A-1 only) → the phase's defaults.

    \b
    Example:
      ROLLOUT_FLAG_MERGE_PRECISION=beta rolloutctl flags resolve --json
    """
    from rolloutctl.governance import flags as flag_state

    snapshot = flag_state.resolve(get_home(ctx))
    if as_json:
        emit_json(snapshot.as_json())
        return
    click.echo(f"phase {snapshot.phase}, resolved at {snapshot.resolved_at}")
    for name, f in snapshot.flags.items():
        value = str(f["value"]).lower() if isinstance(f["value"], bool) else f["value"]
        click.echo(f"  {name:<18} {value:<8} ({f['source']})")
    for note in snapshot.notes:
        err_console.print(f"note: {note}")


def _write_flags(ctx, phase, action, as_json):
    from rolloutctl.governance import flags as flag_state

    doc = flag_state.push(get_home(ctx), phase, action)
    if as_json:
        emit_json(doc)
    else:
        click.echo(f"{flag_state.FLAG_DEFAULTS_RELPATH} and {flag_state.FLAG_TABLE_RELPATH}: defaults of {phase} "
                   f"({', '.join(f'{k}={v}' for k, v in doc['flags'].items())})")


@flags.command("push")
@click.option("--phase", type=phase_choice, required=True, help="The phase whose defaults to write.")
@json_option
@click.pass_context
def flags_push(ctx, phase, as_json):
    """Write the flag defaults file (JSON + generated Markdown table) for a phase.

    \b
    Example:
      rolloutctl flags push --phase A-2
    """
    _write_flags(ctx, phase, "push", as_json)


@flags.command("rollback")
@click.option("--phase", type=phase_choice, required=True, help="The phase rolled back to.")
@json_option
@click.pass_context
def flags_rollback(ctx, phase, as_json):
    """Write the flag defaults file for the phase rolled back to.

    \b
    Example:
      rolloutctl flags rollback --phase A-1
    """
    _write_flags(ctx, phase, "rollback", as_json)


@flags.command("verify")
@json_option
@click.pass_context
def flags_verify(ctx, as_json):
    """Check that the flag defaults file matches the ledger's current phase (the rollback smoke test).

    \b
    Example:
      rolloutctl flags verify
    """
    from rolloutctl.governance import flags as flag_state

    present_check(flag_state.verify(get_home(ctx)), "the flag defaults match the ledger's phase", as_json)
