"""Commands that bring telemetry in: schema lint, ingest, collect."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from rolloutctl.cli.console import byte_progress, emit_json, err_console, present_files_in_force
from rolloutctl.cli.options import get_home, json_option, optional_home, own_folder

EXIT_REJECTED = 3
EXIT_INCOMPATIBLE = 3  # `schema diff`: it ran, and the change is not backward compatible


@click.group()
def schema():
    """Event schemas (schemas/events/)."""


@schema.command("lint")
@json_option
@click.pass_context
def schema_lint(ctx, as_json):
    """Check every event schema (any Draft 2020-12 schema that names its event) and show what the fast path decides.

    With --home, the schema files in force for that home: its own schemas/events/*.json over the project's (a file
    of the same name replaces the project's), listed when any. Per event, the loader's bulk fast path decides all
    lines, some (the rest go to jsonschema: which keyword where, and why) or none.

    \b
    Example:
      rolloutctl schema lint
      rolloutctl --home ~/rollout schema lint --json
    """
    from ingest.schema_lint import fast_path_coverage, lint
    from rolloutctl.core.layout import event_schema_files

    files = event_schema_files(optional_home(ctx))
    problems, checked = lint(files)
    covered = [] if problems else fast_path_coverage(files)
    in_force = {path.name: str(path) for path in files}
    if as_json:
        emit_json({"schemas": checked, "problems": problems, "files": in_force,
                   "fast_path": [c.as_json() for c in covered]})
    else:
        present_files_in_force(in_force)
        for p in problems:
            click.echo(f"✗ {p}", err=True)
        if not problems:
            click.echo(f"✓ {checked} event schemas valid (Draft 2020-12), every event of the spec covered")
            for c in covered:
                click.echo(f"  fast path {c.fast:>7}: {c.event}")
                for d in c.deferred:
                    click.echo(f"      → jsonschema: {d.where or '/'} {d.keyword}: {d.reason}")
    if problems:
        sys.exit(1)


@schema.command("diff")
@click.argument("old", type=click.Path(exists=True, path_type=Path))
@click.argument("new", type=click.Path(exists=True, path_type=Path))
@json_option
def schema_diff(old, new, as_json):
    """Say whether the event schemas NEW still accept every line the schemas OLD accept (files or folders).

    Incompatible (exit status 3): an event removed, a property made required, an enum narrowed, a type changed, a
    bound tightened, additionalProperties tightened, a feature/time/phase annotation changed, or any other change
    that cannot be proved harmless. Compatible changes (an event added, a bound relaxed, …) are listed too.

    \b
    Example:
      rolloutctl schema diff schemas/events/ ~/rollout/schemas/events/
      git show main:schemas/events/autosave.json > /tmp/old.json
      rolloutctl schema diff --json /tmp/old.json schemas/events/autosave.json
    """
    from ingest.schema_diff import diff_schemas

    result = diff_schemas(old, new)
    if as_json:
        emit_json(result.as_json())
    else:
        for c in result.changes:
            mark = "✓" if c.compatible else "✗"
            click.echo(f"{mark} {c.event}{' ' + c.where if c.where else ''}: {c.message}")
        click.echo("backward compatible" if result.compatible else "NOT backward compatible for lines already loaded")
    if not result.compatible:
        sys.exit(EXIT_INCOMPATIBLE)


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--sink", type=click.Choice(["duckdb", "parquet"]), default="duckdb", show_default=True,
              help="Where events land: the warehouse, or Parquet in the folder given first (DIR, for Spark).")
@json_option
@click.option("--strict", is_flag=True, help="Exit with status 3 when any line was rejected.")
@click.pass_context
def ingest(ctx, paths, sink, as_json, strict):
    """Load JSONL telemetry (files, or folders of *.jsonl) into the warehouse, or as Parquet into DIR.

    Every non-blank line ends in raw.events, raw.rejected_events (with file, line and reason) or the duplicate
    count. Running it again loads only what is new. With --sink parquet the first argument is the sink folder
    DIR: events land in DIR/events/feature=…/event_date=…/, rejects in DIR/rejected_events/, with DIR/loads/ and
    DIR/watermarks/ (the raw.* tables the models read, for the Spark target).

    \b
    Example:
      rolloutctl ingest logs/
      rolloutctl ingest --json --strict logs/autosave/2026-11-01.jsonl
      rolloutctl ingest --sink parquet /data/rollout-lake logs/
    """
    from rich.markup import escape

    from ingest.loader import ingest as ingest_files
    from ingest.parquet_sink import ingest_parquet

    with byte_progress("ingest", enabled=not as_json) as progress:
        if sink == "parquet":
            if len(paths) < 2:
                raise click.UsageError("--sink parquet needs DIR, then the files or folders to load")
            sink_dir = own_folder(paths[0], "'--sink parquet DIR'")
            result = ingest_parquet(sink_dir, paths[1:], progress=progress, schemas=_schemas(ctx))
        else:
            result = ingest_files(get_home(ctx), paths, progress=progress)
    if as_json:
        emit_json(result.as_json())
    else:
        for note in result.notes:
            err_console.print(f"[yellow]note:[/] {note}")
        err_console.print(
            f"{result.files} files, {result.lines} lines: [green]{result.loaded} loaded[/], "
            f"[{'red' if result.rejected else 'green'}]{result.rejected} rejected[/], "
            f"{result.duplicates} duplicates, {result.pending_partial} unterminated last lines waiting "
            f"({result.seconds:.2f} s)"
        )
        for r in result.reject_samples:
            err_console.print(f"[red]rejected[/] {escape(r['file'])}:{r['line']}: {escape(r['message'])}")
        if result.rejected:
            more = result.rejected - len(result.reject_samples)
            err_console.print(f"{f'… {more} more; ' if more else ''}every reject with its line: select source_file, "
                              f"line_no, json_path, message from {result.rejects_from} where load_id = "
                              f"'{result.load_id}'", markup=False)
    if strict and result.rejected:
        sys.exit(EXIT_REJECTED)


@click.command()
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--log-dir", type=click.Path(file_okay=False, path_type=Path),
              callback=lambda ctx, param, value: value and own_folder(value, "'--log-dir'"),
              help="Where to append (default: <home>/logs).")
@json_option
@click.option("--strict", is_flag=True, help="Exit with status 3 when any line was rejected.")
@click.pass_context
def collect(ctx, files, log_dir, as_json, strict):
    """Validate events (from FILES or stdin) and append them to <log-dir>/<feature>/<date>.jsonl.

    \b
    Example:
      producer | rolloutctl collect
      rolloutctl collect --log-dir /var/log/rollout events.jsonl
    """
    from ingest.collector import collect as collect_events

    log_dir = log_dir or get_home(ctx) / "logs"
    if files:
        sources = [(str(f), f.open("rb")) for f in files]
    else:
        sources = [("<stdin>", sys.stdin.buffer)]
    try:
        result = collect_events(log_dir, sources, schemas=_schemas(ctx))
    finally:
        for _, fh in sources:
            if fh is not sys.stdin.buffer:
                fh.close()
    if as_json:
        emit_json(result.as_json())
    else:
        for r in result.rejected:
            err_console.print(f"[red]rejected[/] {r['source']}:{r['line']}: {r['message']}")
        err_console.print(f"{result.written} of {result.read} events written to {log_dir}")
    if strict and result.rejected:
        sys.exit(EXIT_REJECTED)


def _schemas(ctx):
    """The event schemas in force: the home's own over the project's, when a home is given."""
    from ingest.events import load_schemas
    from rolloutctl.core.layout import event_schema_files

    return load_schemas(event_schema_files(optional_home(ctx)))
