"""The warehouse file and the raw tables the loader owns."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import duckdb

from rolloutctl.core.layout import ANALYTICS_RELPATH, WAREHOUSE_RELPATH

from .errors import LOCK_WAIT_ENV, ConfigError, WarehouseBusy, WarehouseError, filesystem_advice

DEFAULT_LOCK_WAIT = 30.0

# The loader's bookkeeping: per-file state, loads and watermarks. In the warehouse beside raw.events; in a Parquet
# sink's _state.duckdb on their own (ingest/parquet_sink.py), where loads and watermarks are exported as Parquet.
STATE_DDL = """
create schema if not exists raw;

create table if not exists raw.ingest_files (
    source_file     varchar primary key,  -- absolute path
    bytes_consumed  bigint  not null,     -- offset after the last complete line loaded
    lines_consumed  bigint  not null,     -- lines (blank ones included) before that offset
    head_sha256     varchar not null,     -- sha256 of the first 64 KiB of the consumed prefix
    tail_sha256     varchar not null,     -- sha256 of the last 64 KiB before bytes_consumed
    generation      integer not null,     -- bumped each time the file was found truncated or replaced
    load_id         varchar not null,
    updated_at      timestamptz not null
);

create table if not exists raw.loads (
    load_id          varchar primary key,
    started_at       timestamptz not null,
    finished_at      timestamptz,
    files            bigint,
    lines            bigint,
    loaded           bigint,
    rejected         bigint,
    duplicates       bigint,
    pending_partial  bigint,
    max_event_at     timestamptz            -- latest event time this load saw
);

create table if not exists raw.watermarks (
    feature       varchar primary key,      -- autosave | merge | rollout | qa | app
    max_event_at  timestamptz not null,     -- latest event time loaded into raw.events for the feature
    updated_at    timestamptz not null      -- when an ingest last moved it
);
"""

RAW_DDL = STATE_DDL + """
create table if not exists raw.events (
    event_id     varchar,                 -- producer's de-duplication key, when it sent one
    event        varchar     not null,    -- event name, e.g. autosave.save.completed
    feature      varchar     not null,    -- autosave | merge | rollout | qa | app (from the event name)
    phase        varchar     not null,    -- phase (phase_from for rollback.executed)
    event_at     timestamptz not null,    -- event time in UTC (ts, or timestamp for rollback.executed)
    payload      json        not null,    -- the whole validated object
    line_key     varchar,                 -- de-duplication key of an event without event_id: md5 of file, line, text
    source_file  varchar     not null,
    line_no      bigint      not null,    -- 1-based
    load_id      varchar     not null,
    loaded_at    timestamptz not null
);

create table if not exists raw.rejected_events (
    source_file  varchar     not null,
    line_no      bigint      not null,
    raw_line     varchar     not null,    -- at most 64 KiB of the line (line_bytes has its full length)
    line_bytes   bigint      not null,
    json_path    varchar     not null,    -- where the first violation is, e.g. $.duration_ms ($ for the line itself)
    message      varchar     not null,    -- every violation as `path: message`, sorted by path
    load_id      varchar     not null,
    rejected_at  timestamptz not null
);
"""

# The Parquet sink's own state, beside STATE_DDL in its _state.duckdb: the keys landed (for de-duplication) and
# every Parquet file it wrote, published (renamed in place) or not yet.
SINK_STATE_DDL = STATE_DDL + """
create schema if not exists sink;

create table if not exists sink.landed_keys (
    event_id  varchar,                    -- as raw.events.event_id
    line_key  varchar                     -- as raw.events.line_key
);

create table if not exists sink.files (
    path       varchar primary key,       -- relative to the sink folder: events/feature=…/event_date=…/….parquet
    temp_path  varchar not null,          -- where it was written before the rename (a hidden .….parquet.tmp)
    tbl        varchar not null,          -- events | rejected_events
    rows       bigint  not null,
    load_id    varchar not null,
    published  boolean not null,          -- renamed in place
    written_at timestamptz not null
);
"""


def warehouse_path(home: Path) -> Path:
    return Path(home) / WAREHOUSE_RELPATH


def lock_wait_seconds() -> float:
    """How long to wait for a warehouse another process holds: env ROLLOUT_LOCK_WAIT (seconds), default 30."""
    raw = os.environ.get(LOCK_WAIT_ENV, "").strip()
    if not raw:
        return DEFAULT_LOCK_WAIT
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise ConfigError(f"{LOCK_WAIT_ENV}={raw!r}: expected a number of seconds (0 or more)")
    return seconds


def _is_lock_conflict(message: str) -> bool:
    return "Could not set lock" in message or "Conflicting lock" in message


def connect(home: Path, *, read_only: bool = False, create: bool = True,
            wait: float | None = None) -> duckdb.DuckDBPyConnection:
    """Open the warehouse of `home`, creating the file and the raw tables when asked.

    DuckDB lets one process write a file or many read it. When another process holds it, wait for it with backoff
    for up to `wait` seconds (default: lock_wait_seconds(), env ROLLOUT_LOCK_WAIT), saying once on stderr who holds
    it; then raise WarehouseBusy naming that process, never a raw lock traceback. A damaged file, a read-only or
    full disk become WarehouseError with what to do.
    """
    path = warehouse_path(home)
    if not path.exists():
        if read_only or not create:
            raise WarehouseError(f"no warehouse at {path}: run `rolloutctl ingest` first")
        path.parent.mkdir(parents=True, exist_ok=True)
        create_whole(path, lambda con: con.execute(RAW_DDL))
    con = open_duckdb(path, read_only=read_only, wait=wait)
    if not read_only:
        con.execute(RAW_DDL)
    return con


def creating_leftover(name: str) -> bool:
    """Whether `name` is the temporary file of a creator killed before it linked its file into place."""
    return name.startswith(".") and ".duckdb.creating-" in name


def create_whole(path: Path, make_tables) -> None:
    """Create the DuckDB file `path` under a temporary name, `make_tables(con)` in it, then link it into place.

    A process killed while DuckDB writes a new file's first blocks leaves a file DuckDB calls damaged; made aside
    and linked in whole, the file at `path` is either absent or complete. Another process creating it at the same
    moment wins the link; ours is then dropped. Leftovers of killed creators are removed."""
    for stale in (p for p in path.parent.glob(f".{path.name}.creating-*") if creating_leftover(p.name)):
        pid = stale.name.rsplit("-", 1)[-1].split(".")[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            stale.unlink(missing_ok=True)
    temp = path.with_name(f".{path.name}.creating-{os.getpid()}")
    for leftover in (temp, temp.with_name(temp.name + ".wal")):
        leftover.unlink(missing_ok=True)
    try:
        con = duckdb.connect(str(temp))
        try:
            make_tables(con)
            con.execute("checkpoint")
        finally:
            con.close()
        fsync_path(temp)
        try:
            os.link(temp, path)            # never replaces: a file another process linked first stays
        except FileExistsError:
            pass
        fsync_path(path.parent)
    except duckdb.Error as exc:
        raise _open_error(path, exc) from None
    finally:
        temp.unlink(missing_ok=True)


def connect_sink_state(path: Path) -> duckdb.DuckDBPyConnection:
    """Open (creating) a Parquet sink's state file, with its tables."""
    if not path.exists():
        create_whole(path, lambda con: con.execute(SINK_STATE_DDL))
    con = open_duckdb(path, damaged=(
        "the Parquet sink's state {path} is damaged ({msg}); the sink cannot tell what it landed: ingest the logs "
        "into a new sink folder"))
    con.execute(SINK_STATE_DDL)
    return con


def open_duckdb(path: Path, *, read_only: bool = False, wait: float | None = None,
                damaged: str | None = None) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB file the loader owns (the warehouse, or a Parquet sink's _state.duckdb) as `connect` does:
    wait for another holder, every failure as one line, the session in UTC. `damaged`: what to say when the file is
    damaged ({path}, {msg}), if not the warehouse's advice."""
    budget = lock_wait_seconds() if wait is None else max(0.0, wait)
    started = time.monotonic()
    pause, announced = 0.05, False
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.Error as exc:
            msg = str(exc)
            if not _is_lock_conflict(msg):
                raise _open_error(path, exc, damaged) from None
            waited = time.monotonic() - started
            if waited >= budget:
                raise WarehouseBusy(path, msg, waited=budget) from None
            if not announced:
                busy = WarehouseBusy(path, msg)
                holder = f"process {busy.holder_pid}" if busy.holder_pid else "another process"
                sys.stderr.write(f"rolloutctl: the warehouse {path} is in use by {holder}; waiting up to "
                                 f"{budget:g} s for it ({LOCK_WAIT_ENV})\n")
                sys.stderr.flush()
                announced = True
            time.sleep(min(pause, budget - waited))
            pause = min(pause * 2, 1.0)
    con.execute("set TimeZone = 'UTC'")
    return con


def _open_error(path: Path, exc: Exception, damaged: str | None = None) -> WarehouseError:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "not a valid DuckDB database file" in msg or "Corrupt database file" in msg or "checksum" in msg:
        if damaged:
            return WarehouseError(damaged.format(path=path, msg=msg))
        return WarehouseError(
            f"the warehouse {path} is damaged ({msg}); move it aside, then put the last published copy "
            f"({ANALYTICS_RELPATH}) in its place or rebuild it from the logs with `rolloutctl ingest`")
    advice = filesystem_advice(msg)
    return WarehouseError(f"cannot open the warehouse {path}: {advice} ({msg})" if advice
                          else f"cannot open the warehouse {path}: {msg}")


def fsync_path(path: Path) -> None:
    """Flush a file, or a folder's entries (after a rename into it), to the disk."""
    fd = os.open(str(path), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
