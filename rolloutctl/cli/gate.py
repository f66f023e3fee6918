"""Deciding and acting: `gate`, `promote`, `rollback`."""
from __future__ import annotations

import sys

import click

from rolloutctl.cli.console import emit_json, err_console
from rolloutctl.cli.options import UtcTime, executor_option, get_home, json_option, no_build_option, phase_choice
from rolloutctl.core.errors import UsageError

MARKS = {"passed": "✓", "clear": "✓", "fired": "✗", "not_met": "·", "insufficient_data": "?"}


def _print_run(run) -> None:
    from rolloutctl.core.timestamps import iso_z
    from rolloutctl.decision.report import fmt, present_verdict

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


@click.command()
@click.option("--at", type=UtcTime(), help="Evaluate at this time (the latest evaluation at or before it).")
@click.option("--phase", type=phase_choice, help="Evaluate this phase instead of the ledger's current one.")
@json_option
@click.option("--apply", is_flag=True, help="Act on the decision: promote, or roll back (with notifications).")
@executor_option
@click.option("--to", "rollback_to", type=phase_choice, help="With --apply: roll back to this phase, not the previous.")
@no_build_option
@click.option("--target", help="dbt target of profiles.yml the build runs on (default: duckdb; spark: see README).")
@click.option("--every", "every", metavar="INTERVAL",
              help="Stay resident: a cycle every INTERVAL (15m, 90s, 1h) until stopped; see README.")
@click.option("--cycles", type=click.IntRange(min=1), help="With --every: stop after this many cycles.")
@click.pass_context
def gate(ctx, at, phase, as_json, apply, executor, rollback_to, no_build, target, every, cycles):
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
      rolloutctl gate --every 15m --apply --executor oncall-bot --json   # resident: a JSON line per cycle

    With --every, one process runs a cycle every INTERVAL (each exactly the command above), keeping dbt loaded
    between cycles; a failed cycle is reported and the next one runs. The exit status is the last cycle's.
    """
    options = dict(phase=phase, at=at, rebuild=not no_build, apply=apply, executor=executor,
                   rollback_to=rollback_to, target=target)
    if every is not None or cycles is not None:
        _gate_every(get_home(ctx), every, cycles, as_json, options)
    from rolloutctl.governance import actions

    outcome = actions.gate(get_home(ctx), **options)
    if as_json:
        emit_json(outcome.as_json())
    else:
        _print_outcome(outcome)
    sys.exit(outcome.exit_code)


def _gate_every(home, every, cycles, as_json, options) -> None:
    import json

    from rolloutctl.core.cadence import parse_interval
    from rolloutctl.core.timestamps import iso_z, utc_now
    from rolloutctl.governance.gate_loop import gate_every

    if every is None:
        raise UsageError("--cycles counts the cycles of --every INTERVAL")
    if options["at"] is not None:
        raise UsageError("--at evaluates one past time: it cannot be repeated with --every")
    exit_code = 0
    try:
        for n, outcome in enumerate(gate_every(home, parse_interval(every), cycles, **options)):
            failed = isinstance(outcome, Exception)
            exit_code = outcome.exit_code
            if as_json:
                line = {"cycle": n, "error": str(outcome), "exit_code": exit_code} if failed else \
                    {"cycle": n, "exit_code": exit_code, **outcome.as_json()}
                click.echo(json.dumps(line, default=str), nl=True)
            elif failed:
                err_console.print(f"cycle {n} at {iso_z(utc_now())} failed: {outcome}", markup=False)
            else:
                click.echo(f"— cycle {n} at {iso_z(utc_now())}")
                _print_outcome(outcome)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(exit_code)


@click.command()
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
    from rolloutctl.governance import actions

    outcome = actions.promote(get_home(ctx), to=to, executor=executor, reason=reason, force=force,
                              rebuild=not no_build)
    if as_json:
        emit_json(outcome.as_json())
    else:
        _print_outcome(outcome)


@click.command()
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
    from rolloutctl.governance import actions

    outcome = actions.rollback(get_home(ctx), to=to, executor=executor, reason=reason, rebuild=not no_build)
    if as_json:
        emit_json(outcome.as_json())
    else:
        _print_outcome(outcome)
