"""The warehouse file and the raw tables the loader owns."""
from __future__ import annotations

import os
from pathlib import Path

import duckdb

from .errors import WarehouseBusy, WarehouseError

WAREHOUSE_RELPATH = Path("warehouse") / "rollout.duckdb"

RAW_DDL = """
create schema if not exists raw;

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


def warehouse_path(home: Path) -> Path:
    return Path(home) / WAREHOUSE_RELPATH


def connect(home: Path, *, read_only: bool = False, create: bool = True) -> duckdb.DuckDBPyConnection:
    """Open the warehouse of `home`, creating the file and the raw tables when asked.

    A lock held by another process becomes WarehouseBusy with the holder named, never a raw traceback.
    """
    path = warehouse_path(home)
    if not path.exists():
        if read_only or not create:
            raise WarehouseError(f"no warehouse at {path}: run `rolloutctl ingest` first")
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        msg = str(exc)
        if "lock" in msg.lower():
            raise WarehouseBusy(path, msg) from None
        raise WarehouseError(f"cannot open warehouse {path}: {msg}") from None
    except duckdb.Error as exc:
        raise WarehouseError(f"cannot open warehouse {path}: {exc}") from None
    con.execute("set TimeZone = 'UTC'")
    if not read_only:
        con.execute(RAW_DDL)
    return con


def fsync_dir(path: Path) -> None:
    fd = os.open(str(path), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
