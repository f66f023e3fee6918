"""`ingest --sink parquet DIR`: the same validation and de-duplication as the warehouse, landing Parquet files.

This is what the Spark target reads (SPEC §11): every `raw.*` table the dbt models read as a folder of Parquet files
named after the table, with the warehouse table's columns and types.

    DIR/
      events/feature=<feature>/event_date=<YYYY-MM-DD>/<load_id>-<n>.parquet
                         raw.events minus `feature` (Hive partition: the folder holds it) and partitioned by
                         event_date, the UTC date of event_at: event_id, event, phase, event_at (timestamp, UTC),
                         payload (the JSON object as text), line_key, source_file, line_no, load_id, loaded_at
      rejected_events/<load_id>-<n>.parquet
                         raw.rejected_events: source_file, line_no, raw_line, line_bytes, json_path, message,
                         load_id, rejected_at; plus schema-0.parquet, with no rows, so that the folder has a schema
                         (Spark cannot read a folder without a file) even when nothing was ever rejected
      loads/loads.parquet             raw.loads (one row per ingest run, with its counts), rewritten whole
      watermarks/watermarks.parquet   raw.watermarks (per feature the latest event time landed), rewritten whole
      _state.duckdb                   the sink's own state (readers skip names starting with _ or .)
      governance/, quality/           not the sink's: rolloutctl/lake.py mirrors those tables into the same lake

Read it with DuckDB as `read_parquet('DIR/events/**/*.parquet', hive_partitioning = true)`, with Spark as
`spark.read.parquet('DIR/events')`. Timestamps are stored adjusted to UTC (Parquet TIMESTAMP(isAdjustedToUTC,
MICROS)): DuckDB reads timestamptz, Spark TimestampType.

Files are written with pyarrow rather than DuckDB's `COPY … (FORMAT parquet, PARTITION_BY …)`: the sink must name
each file itself — write it under a hidden temporary name, record it, then rename it in place — and COPY chooses
its own names inside the partitions.

Exactly once, whatever kills the process. The loader's loop (ingest.loader.run_ingest) validates a block of lines
and computes its new rows in one transaction on _state.duckdb, which holds raw.ingest_files (per file: offset,
lines, fingerprints), raw.loads, raw.watermarks, sink.landed_keys (the keys de-duplication compares with) and
sink.files (every Parquet file written). Per block:
  1. each Parquet file of the block is written as `.<name>.parquet.tmp` beside its final place and fsynced; it is
     listed in sink.files as not published; the block's keys go to sink.landed_keys;
  2. commit — the commit point: the file's new offset, the keys, the watermarks and the file list become durable
     together;
  3. each file is renamed to its final name (the folders fsynced), then marked published; loads and watermarks are
     exported again.
A kill before 2 leaves hidden temporary files and no state: the next run deletes them and reads the block again. A
kill after 2 leaves files listed but not renamed: the next run renames them first (roll forward). So readers never
see a half-written file, nor rows that a later run withdraws; a rerun after any kill ends with exactly the rows of one
clean run. Only one ingest writes a sink folder at a time (_state.duckdb's lock; the next one waits, like the
warehouse's).
"""
from __future__ import annotations

import os
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .errors import DataError, UsageError
from .events import EventSchemas
from .loader import BLOCK_BYTES, IngestResult, Progress, _judge_slow, find_files, new_rows_arrow, run_ingest
from .warehouse import connect_sink_state, creating_leftover, fsync_path

STATE_NAME = "_state.duckdb"
TABLES = ("events", "rejected_events", "loads", "watermarks")
PARTITIONS = ("feature", "event_date")
TEMP_SUFFIX = ".parquet.tmp"
# Folders others may keep in the same lake before any ingest (rolloutctl/lake.py's mirror of governance and quality).
SHARED_FOLDERS = ("governance", "quality")
REJECTS_SCHEMA_FILE = "rejected_events/schema-0.parquet"  # no rows: the folder always has a schema to read


def ingest_parquet(sink_dir: Path, paths: Iterable[Path], *, progress: Progress | None = None,
                   block_bytes: int = BLOCK_BYTES, schemas: EventSchemas | None = None) -> IngestResult:
    """Load `paths` (files, or folders of *.jsonl) into the Parquet sink folder `sink_dir` (created when missing),
    judged by `schemas` (default: the project's)."""
    started = time.perf_counter()
    root = sink_folder(sink_dir)
    files = find_files(paths)
    root.mkdir(parents=True, exist_ok=True)
    con = connect_sink_state(root / STATE_NAME)
    try:
        sink = ParquetSink(root, con)
        result = run_ingest(con, sink, files, started=started, progress=progress, block_bytes=block_bytes,
                            schemas=schemas)
        sink.export(con)
    finally:
        con.close()
    result.rejects_from = f"read_parquet('{root / 'rejected_events'}/*.parquet')"
    return result


def sink_folder(sink_dir: Path) -> Path:
    """The sink folder, resolved; refused when it is a file, or a folder holding other things than a sink's."""
    root = Path(sink_dir).expanduser().resolve()
    if root.exists() and not root.is_dir():
        raise UsageError(f"{sink_dir} is not a folder: give the Parquet sink a folder (created when missing)")
    if root.is_dir() and not (root / STATE_NAME).exists():
        foreign = sorted(p.name for p in root.iterdir()
                         if p.name not in SHARED_FOLDERS and not creating_leftover(p.name))
        if foreign:
            shown = ", ".join(foreign[:3]) + (", …" if len(foreign) > 3 else "")
            raise UsageError(f"{sink_dir} holds other files ({shown}) and no {STATE_NAME}: not a Parquet sink "
                             f"folder; give an empty or new folder")
    return root


class ParquetSink:
    """Lands a block's new rows and rejects as Parquet files (see the module docstring for the protocol)."""

    def __init__(self, root: Path, con):
        self.root = root
        self._pending: list[tuple[Path, Path]] = []   # (temp, final) of the block being written
        self._committed = False                        # the block's transaction committed, its files not yet renamed
        self._n = 0
        con.execute("create or replace temp view ingest_landed as select event_id, line_key from sink.landed_keys")
        for table in TABLES:
            (root / table).mkdir(exist_ok=True)
        self._recover(con)
        if not (root / REJECTS_SCHEMA_FILE).exists():
            self._replace(REJECTS_SCHEMA_FILE, _judge_slow(None, [], "", "")[1])

    # -- the sink protocol (ingest.loader.DuckDBSink documents it)

    def land_events(self, con, source: str, load_id: str) -> int:
        rows = new_rows_arrow(con, source, load_id)
        if not rows.num_rows:
            return 0
        con.register("ingest_landing", rows)
        try:
            con.execute("insert into sink.landed_keys select event_id, line_key from ingest_landing")
        finally:
            con.unregister("ingest_landing")
        data = [c for c in rows.column_names if c not in PARTITIONS]
        for part in rows.group_by(list(PARTITIONS)).aggregate([]).to_pylist():
            mask = pc.and_(pc.equal(rows["feature"], part["feature"]), pc.equal(rows["event_date"], part["event_date"]))
            rel = (f"events/feature={part['feature']}/event_date={part['event_date']}/"
                   f"{load_id}-{self._next()}.parquet")
            self._write_file(con, rel, rows.filter(mask).select(data), "events", load_id)
        return rows.num_rows

    def land_rejects(self, con, rejects: pa.Table, load_id: str) -> None:
        if rejects.num_rows:
            self._write_file(con, f"rejected_events/{load_id}-{self._next()}.parquet", rejects, "rejected_events",
                             load_id)

    def commit(self, con) -> None:
        self._commit_state(con)
        self._publish(con)
        self.export(con)

    def abort(self) -> None:
        """The block failed: before the commit point its temporary files go too; after it, they stay for the next
        run to rename (it rolls forward)."""
        if not self._committed:
            for temp, _ in self._pending:
                temp.unlink(missing_ok=True)
        self._pending, self._committed = [], False

    # -- the steps (each a function of its own: the kill tests stop the process around them)

    def _next(self) -> int:
        self._n += 1
        return self._n

    def _write_file(self, con, rel: str, table: pa.Table, tbl: str, load_id: str) -> None:
        """Step 1: the file under its temporary name, fsynced, and listed (not published) in the block's
        transaction."""
        final = self.root / rel
        temp = final.with_name("." + final.name.removesuffix(".parquet") + TEMP_SUFFIX)
        final.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, temp)
        fsync_path(temp)
        con.execute("insert into sink.files values (?, ?, ?, ?, ?, false, ?)",
                    [rel, str(temp.relative_to(self.root)), tbl, table.num_rows, load_id, _now()])
        self._pending.append((temp, final))

    def _commit_state(self, con) -> None:
        """Step 2, the commit point."""
        con.execute("commit")
        self._committed = True

    def _publish(self, con) -> None:
        """Step 3: the block's files renamed in place, then marked published."""
        for temp, final in self._pending:
            self._rename(temp, final)
        for folder in {final.parent for _, final in self._pending}:
            fsync_path(folder)
        self._pending, self._committed = [], False
        con.execute("update sink.files set published = true where not published")

    def _rename(self, temp: Path, final: Path) -> None:
        os.replace(temp, final)

    def export(self, con) -> None:
        """raw.loads and raw.watermarks as loads/loads.parquet and watermarks/watermarks.parquet (temp + rename)."""
        self._replace("loads/loads.parquet",
                      con.sql("select * from raw.loads order by started_at, load_id").to_arrow_table())
        self._replace("watermarks/watermarks.parquet",
                      con.sql("select * from raw.watermarks order by feature").to_arrow_table())

    def _replace(self, rel: str, table: pa.Table) -> None:
        final = self.root / rel
        temp = final.with_name("." + final.name.removesuffix(".parquet") + TEMP_SUFFIX)
        pq.write_table(table, temp)
        fsync_path(temp)
        os.replace(temp, final)
        fsync_path(final.parent)

    def _recover(self, con) -> None:
        """What a killed run left: files committed but not renamed are renamed (roll forward); temporary files of
        a block that never committed are deleted; loads and watermarks exported again."""
        listed = con.execute("select path, temp_path from sink.files where not published order by path").fetchall()
        for rel, temp_rel in listed:
            temp, final = self.root / temp_rel, self.root / rel
            if temp.exists():
                self._rename(temp, final)
                fsync_path(final.parent)
            elif not final.exists():
                raise DataError(f"{final}: recorded in {self.root / STATE_NAME} but missing (and no {temp.name}): "
                                f"restore it, or ingest into a new sink folder")
        if listed:
            con.execute("update sink.files set published = true where not published")
        for table in TABLES:
            for temp in (self.root / table).rglob("*" + TEMP_SUFFIX):
                if temp.name.startswith("."):
                    temp.unlink()
        self.export(con)


def _now() -> datetime:
    return datetime.now(UTC)
