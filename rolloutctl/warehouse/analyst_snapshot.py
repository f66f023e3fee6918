"""The analysts' read-only snapshot of the warehouse, published after each build, at the cost of what changed.

DuckDB lets one process write a file or many read it, not both: an analyst's open session on the working
warehouse would block the 15-minute gate. So analysts open `warehouse/analytics.duckdb`, swapped in atomically
(written under a temporary name, fsynced, renamed). A session already open keeps reading the file it opened (the
old inode lives on until it closes); a new session sees the new build.

What it holds, and what publishing costs:
- the raw rows that only ever grow (raw.events, raw.rejected_events) are not copied again: each ingest run's rows
  are written once, as one Parquet file per load (`warehouse/analytics-history/<table>/<load_id>.parquet`, written
  aside and renamed; a load's rows are final once its run ended, and publishing holds the warehouse, so no run is
  under way), and the snapshot's raw.events is a view over exactly the files of the loads in its raw.loads. Files
  are never changed nor removed, so every snapshot ever published keeps reading the rows it was published with;
- every other table of the warehouse except staging's (the marts, the seeds, the small raw and governance tables,
  quality) is copied into the new file: what a build rebuilds anyway, sized by the evaluation grid, not by the
  events; int_telemetry_events_parsed (the typed events: history) is left out. The views are recreated as dbt
  made them.
A publish thus writes the loads since the last one and the marts.
"""
from __future__ import annotations

import os
from pathlib import Path

import duckdb

from ingest.warehouse import connect, fsync_path
from rolloutctl.core.layout import analytics_file, analytics_history_dir

HISTORY_TABLES = ("events", "rejected_events")   # raw tables written once per load, never updated
LEFT_OUT_SCHEMAS = ("staging",)                  # its tables: the typed events (history-sized)
# the working warehouse's build bookkeeping: a copy put back in its place (RELIABILITY.md) must build everything
LEFT_OUT_TABLES = {("quality", "data_test_scope")}


def publish(home: Path, con: duckdb.DuckDBPyConnection | None = None) -> Path:
    """Write the new loads' raw rows as Parquet, then swap in a new snapshot file referencing them.

    Publishing only reads the warehouse: through `con` when given (a read-only connection of its own, e.g. a cursor
    of the caller's, so that the caller reads the same warehouse from another thread meanwhile; closed when done),
    else through a read-only connection it opens. Either holds the file against writers (DuckDB's lock), so no
    ingest run is under way."""
    home = Path(home)
    target = analytics_file(home)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    con = con or connect(home, read_only=True)
    try:
        files = {table: _export_loads(con, analytics_history_dir(home) / table, table) for table in HISTORY_TABLES}
        con.execute("attach ? as snapshot (read_only false)", [str(tmp)])
        try:
            _copy_tables(con, files)
        finally:
            con.execute("detach snapshot")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        con.close()
    try:
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
        fsync_path(target.parent)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _export_loads(con, folder: Path, table: str) -> list[Path]:
    """The Parquet files holding raw.<table>, one per load of raw.loads, writing those not written yet."""
    folder.mkdir(parents=True, exist_ok=True)
    files = [_schema_file(con, folder, table)]
    loads = con.execute("select load_id, started_at from raw.loads order by started_at, load_id").fetchall()
    for load_id, started_at in loads:
        path = folder / f"{load_id}.parquet"
        if not path.exists():
            # loaded_at is the load's own clock, after its start: the scan skips every older row group
            _write_aside(con, path, f"select * from raw.{table} where {_time_column(table)} >= ? and load_id = ?",
                         [started_at, load_id])
        files.append(path)
    if files[1:]:
        fsync_path(folder)
    return files


def _time_column(table: str) -> str:
    return "loaded_at" if table == "events" else "rejected_at"


def _schema_file(con, folder: Path, table: str) -> Path:
    """A file with the table's columns and no rows: the view's first file, so that it has them with no load yet."""
    path = folder / "_schema.parquet"
    if not path.exists():
        _write_aside(con, path, f"select * from raw.{table} limit 0", [])
    return path


def _write_aside(con, path: Path, query: str, params: list) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    con.execute(f"copy ({query}) to '{_quoted(tmp)}' (format parquet)", params)
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _copy_tables(con, files: dict[str, list[Path]]) -> None:
    tables = con.execute("""
        select schema_name, table_name from duckdb_tables()
        where database_name = current_database() and not temporary
        order by schema_name, table_name
    """).fetchall()
    schemas = sorted({schema for schema, _ in tables} | {"raw", "staging"})
    for schema in schemas:
        con.execute(f"create schema if not exists snapshot.{_ident(schema)}")
    for schema, name in tables:
        if schema in LEFT_OUT_SCHEMAS or (schema, name) in LEFT_OUT_TABLES or (schema == "raw" and name in files):
            continue
        con.execute(f"create table snapshot.{_ident(schema)}.{_ident(name)} as "
                    f"select * from {_ident(schema)}.{_ident(name)}")
    for name, paths in files.items():
        listed = ", ".join(f"'{_quoted(p.resolve())}'" for p in paths)
        union = "" if _one_schema(con, name, paths[0]) else ", union_by_name = true"
        con.execute(f"create view snapshot.raw.{_ident(name)} as select * from read_parquet([{listed}]{union})")
    _copy_views(con)


def _one_schema(con, table: str, schema_file: Path) -> bool:
    """Whether every file of `table` has its columns: the table's columns are those its schema file, the first file
    ever written, was written with (each file is `select *` of the table). Then the view binds on its first file;
    union_by_name would read every file's footer each time a view over it is created (the staging views: 37 of
    them), a publish growing with the number of loads (0.25 s at 98 loads)."""
    written = [column[0] for column in con.execute("select * from read_parquet(?) limit 0",
                                                   [str(schema_file)]).description]
    current = [row[0] for row in con.execute(
        "select column_name from duckdb_columns() where database_name = current_database() and schema_name = 'raw' "
        "and table_name = ? order by column_index", [table]).fetchall()]
    return written == current


def _copy_views(con) -> None:
    """The staging views, as dbt made them (they name the working warehouse's catalog, so they read when the copy is
    put back in its place, RELIABILITY.md); a view over a table left out is left out too."""
    views = con.execute("""
        select sql from duckdb_views()
        where database_name = current_database() and not internal and not temporary
    """).fetchall()
    working = con.execute("select current_database()").fetchone()[0]
    pending = [sql for (sql,) in views]
    con.execute("use snapshot")
    try:
        while pending:       # a view binds its dependencies when created: create the others first
            failed = []
            for sql in pending:
                try:
                    con.execute(sql)
                except duckdb.CatalogException:
                    failed.append(sql)
            if len(failed) == len(pending):
                break
            pending = failed
    finally:
        con.execute(f"use {_ident(working)}")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
