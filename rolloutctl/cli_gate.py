"""Commands that decide and act: gate, promote, rollback, flags, report, audit."""
from __future__ import annotations

import sys

import click

from . import actions, audit as audit_lib, cycle, flags as flags_lib
from .cli import cli
from .errors import UsageError
from .options import get_home, json_option
from .output import emit_json, err_console
from .phases import PHASES
from .report import fmt, present_verdict
from .timefmt import iso_z, parse_utc, utc_now

MARKS = {"passed": "✓", "clear": "✓", "fired": "✗", "not_met": "·", "insufficient_data": "?"}


class UtcTime(click.ParamType):
    name = "TIME"

    def convert(self, value, param, ctx):
        try:
            return parse_utc(value)
        except ValueError:
            self.fail(f"{value!r} is not an RFC 3339 time (e.g. 2026-11-05T10:15:00Z)", param, ctx)


phase_choice = click.Choice(PHASES)
no_build_option = click.option("--no-build", is_flag=True, help="Read the marts as built; skip the dbt build.")
executor_option = click.option("--executor", metavar="NAME", help="Who acts (recorded in the ledger and audit).")


def _print_run(run) -> None:
    ev = run.evaluation
    if ev.eval_at is None:
        click.echo(f"{ev.phase}: HOLD — no evaluation yet ({ev.reason.replace('_', ' ')})")
        return
    target = f" → {ev.next_phase}" if ev.next_phase else f" → {ev.rollback_to}" if ev.rollback_to else ""
    click.echo(f"{ev.phase} at {iso_z(ev.eval_at)}: {ev.decision.upper()}{target} ({ev.reason.replace('_', ' ')})")
    for line in present_verdict(ev):
        click.echo(f"  {line}")
    for r in ev.rules:
        mark = MARKS.get(r.status, " ")
        click.echo(f"  {mark} {r.rule_id:<32} {r.kind:<8} {fmt(r.value):>10} {r.comparator:>2} "
                   f"{fmt(r.threshold):<10} {r.status}")
    if ev.blocking_rollback_ids:
        click.echo(f"  promotion blocked until the RCA of {', '.join(ev.blocking_rollback_ids)} is complete")
    click.echo(f"metrics: {run.metrics_file}  report: {run.report}", err=True)


def _print_outcome(outcome) -> None:
    _print_run(outcome.run)
    for d in outcome.outbox:
        err_console.print(f"outbox: {d.id} {d.status} ({d.detail})")
    done = outcome.completed
    if done and done is not outcome.applied:
        err_console.print(f"completed first: the interrupted {done.action} {done.entry.phase_from} → "
                          f"{done.entry.phase_to} ({done.entry.id})")
    if outcome.note:
        err_console.print(f"{'' if outcome.applied else 'not applied: '}{outcome.note}")
    a = outcome.applied
    if a:
        e = a.entry
        forced = " (forced)" if e.forced else ""
        click.echo(f"applied: {a.action}{forced} {e.phase_from} → {e.phase_to} as {e.id} by {e.executor}; "
                   f"audit {a.audit_line}; flags {a.flags_file}")
        if a.rca_file:
            click.echo(f"  RCA stub: {a.rca_file} (promotion out of {e.phase_to} waits for it)")
        if a.event_file:
            click.echo(f"  rollback.executed → {a.event_file}")
        for d in a.notifications:
            where = f" → {d.outbox_file}" if d.outbox_file else ""
            click.echo(f"  {d.channel}: {d.status} ({d.detail}){where}")


@cli.command()
@click.option("--at", type=UtcTime(), help="Evaluate at this time (the latest evaluation at or before it).")
@click.option("--phase", type=phase_choice, help="Evaluate this phase instead of the ledger's current one.")
@json_option
@click.option("--apply", is_flag=True, help="Act on the decision: promote, or roll back (with notifications).")
@executor_option
@click.option("--to", "rollback_to", type=phase_choice, help="With --apply: roll back to this phase, not the previous.")
@no_build_option
@click.option("--target", help="dbt target of profiles.yml the build runs on (default: duckdb; spark: see README).")
@click.pass_context
def gate(ctx, at, phase, as_json, apply, executor, rollback_to, no_build, target):
    """Decide for the current phase: promote, hold, review or roll back.

    Brings the models up to date (unless --no-build), reads marts.gate_verdicts for the ledger's phase at its
    latest evaluation (or --at), writes metrics/autosave_merge/<date>.json and reports/rollout/<date>.md, and
    prints the decision with its reasons. The rules' decision (marts.gate_decisions) promotes only on a final grid
    time and clean data (else hold: not_final, data_quality); rollback and review act at once. Exit status: 0
    promote or hold, 3 rollback, 4 review.

    \b
    Example:
      rolloutctl gate                          # decide, write the analyzer output and report
      rolloutctl gate --json --no-build        # the decision as JSON from the marts as built
      rolloutctl gate --apply --executor oncall-bot
      rolloutctl gate --target spark           # build on Spark (sources: the Parquet lake)
    """
    outcome = actions.gate(get_home(ctx), phase=phase, at=at, rebuild=not no_build, apply=apply,
                           executor=executor, rollback_to=rollback_to, target=target)
    if as_json:
        emit_json(outcome.as_json())
    else:
        _print_outcome(outcome)
    sys.exit(outcome.exit_code)


@cli.command()
@click.option("--to", "to", type=phase_choice, required=True, help="The phase to promote to (the next one).")
@executor_option
@click.option("--reason", required=True, help="Why (recorded).")
@click.option("--force", is_flag=True, help="Promote although the gate does not say promote (recorded as forced).")
@no_build_option
@json_option
@click.pass_context
def promote(ctx, to, executor, reason, force, no_build, as_json):
    """Promote the current phase to the next one by hand.

    Refused unless the gate says promote (or --force, recorded as such), and always refused while a rollback into
    the current phase has no complete RCA. Writes the flag defaults, the ledger and the audit log.

    \b
    Example:
      rolloutctl promote --to A-2 --executor alice --reason "QA sign-off"
      rolloutctl promote --to B-0 --executor alice --reason "exec call" --force
    """
    if not executor:
        raise UsageError("promote needs --executor NAME")
    outcome = actions.promote(get_home(ctx), to=to, executor=executor, reason=reason, force=force,
                              rebuild=not no_build)
    if as_json:
        emit_json(outcome.as_json())
    else:
        _print_outcome(outcome)


@cli.command()
@click.option("--to", "to", type=phase_choice, required=True, help="The earlier phase to roll back to.")
@executor_option
@click.option("--reason", required=True, help="Why (recorded).")
@no_build_option
@json_option
@click.pass_context
def rollback(ctx, to, executor, reason, no_build, as_json):
    """Roll back to an earlier phase by hand.

    Runs the whole rollback procedure: flag defaults of that phase, ledger, audit, incident queue, Slack and
    PagerDuty notifications (or the outbox), the rollback.executed event and an RCA stub in reports/rca/.

    \b
    Example:
      rolloutctl rollback --to A-1 --executor bob --reason "customer data loss report"
    """
    if not executor:
        raise UsageError("rollback needs --executor NAME")
    outcome = actions.rollback(get_home(ctx), to=to, executor=executor, reason=reason, rebuild=not no_build)
    if as_json:
        emit_json(outcome.as_json())
    else:
        _print_outcome(outcome)


@cli.group()
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
    snapshot = flags_lib.resolve(get_home(ctx))
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
    doc = flags_lib.push(get_home(ctx), phase, action)
    if as_json:
        emit_json(doc)
    else:
        click.echo(f"{flags_lib.DEFAULTS_RELPATH} and {flags_lib.MARKDOWN_RELPATH}: defaults of {phase} "
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
    problems = flags_lib.verify(get_home(ctx))
    if as_json:
        emit_json({"ok": not problems, "problems": problems})
    else:
        for p in problems:
            click.echo(f"✗ {p}", err=True)
        if not problems:
            click.echo("✓ the flag defaults match the ledger's phase")
    sys.exit(1 if problems else 0)


@cli.command()
@click.option("--date", "day", metavar="YYYY-MM-DD", help="The day to render (default: today's UTC date).")
@click.option("--phase", type=phase_choice, help="The phase (default: the ledger's phase at the end of that day).")
@json_option
@click.pass_context
def report(ctx, day, phase, as_json):
    """Re-render the daily report reports/rollout/<date>.md from the built marts.

    \b
    Example:
      rolloutctl report --date 2026-11-05
    """
    run = cycle.report_for_day(get_home(ctx), day or utc_now().strftime("%Y-%m-%d"), phase)
    if as_json:
        emit_json({"report": run.report, "metrics_file": run.metrics_file, "phase": run.evaluation.phase,
                   "eval_at": iso_z(run.evaluation.eval_at)})
    else:
        click.echo(run.report)


@cli.group()
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
    problems = audit_lib.verify(get_home(ctx))
    if as_json:
        emit_json({"ok": not problems, "problems": [p.as_json() for p in problems]})
    else:
        for p in problems:
            click.echo(f"✗ {p}", err=True)
        if not problems:
            click.echo("✓ audit log intact: chain, metrics snapshots and ledger agree")
    sys.exit(1 if problems else 0)
