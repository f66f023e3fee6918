"""`ingest`: load JSONL files into raw.events / raw.rejected_events, idempotently and resumably.

Every non-blank complete line ends in exactly one place: raw.events, raw.rejected_events, or the duplicate count.
Each block of a file is committed in one transaction together with the file's new state (offset, line count,
fingerprints), so a process killed at any moment leaves a state from which a rerun gives exactly the tables an
uninterrupted run gives.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from rolloutctl.core.layout import event_schema_files

from .errors import DataError, UsageError
from .events import MAX_LINE_BYTES, EventSchemas, event_time_us, judge_line, load_schemas
from .fastpath import fast_path_sql, sql_literal
from .lines import LineBlock, as_arrow_lines, split_lines
from .warehouse import connect

FINGERPRINT_BYTES = 64 * 1024
RAW_LINE_KEEP = 64 * 1024  # bytes of a rejected line kept in raw.rejected_events
MESSAGE_KEEP = 4000
# Bytes read and committed at a time (one transaction each); env override for tests that need many commits.
BLOCK_BYTES = int(os.environ.get("ROLLOUT_INGEST_BLOCK_BYTES", 256 * 1024 * 1024))

SCAN_ROWS = 64 * 1024  # rows per Arrow slice handed to DuckDB
_SURROGATE = re.compile("[\ud800-\udfff]")
REJECT_SAMPLES = 20  # rejects named (file:line: message) in the result, for the person running ingest

Progress = Callable[[int, int], None]  # (bytes done, bytes total)


@dataclass
class IngestResult:
    files: int = 0
    lines: int = 0
    loaded: int = 0
    rejected: int = 0
    duplicates: int = 0
    pending_partial: int = 0
    seconds: float = 0.0
    load_id: str = ""
    notes: list[str] = field(default_factory=list)  # e.g. a file found truncated and re-read
    reject_samples: list[dict] = field(default_factory=list)  # the first rejects: {"file", "line", "message"}
    rejects_from: str = "raw.rejected_events"  # where every reject can be read (SQL), per sink

    def as_json(self) -> dict:
        return {
            "files": self.files,
            "lines": self.lines,
            "loaded": self.loaded,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "pending_partial": self.pending_partial,
            "seconds": round(self.seconds, 3),
        }


def find_files(paths: Iterable[Path]) -> list[Path]:
    """Files as given, folders as every *.jsonl below them (sorted); a path that does not exist is a usage error.

    A file found in a folder must lie in it: a link leading out of the folder (logs/x.jsonl → /etc/shadow, planted
    by whoever may write the logs) is refused, never read into raw.rejected_events."""
    found: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            inside = p.resolve()
            for x in sorted(x for x in p.rglob("*.jsonl") if x.is_file()):
                if inside not in x.resolve().parents:
                    raise UsageError(f"{x} leads to {x.resolve()}, outside {p}: refused (a folder's files must lie "
                                     f"in it; name that file on its own if it is meant to be loaded)")
                found.append(x)
        elif p.is_file():
            found.append(p)
        elif p.exists():
            raise UsageError(f"{p} is neither a file nor a folder")
        else:
            raise UsageError(f"{p} does not exist")
    unique: dict[str, Path] = {}
    for f in found:
        unique.setdefault(str(f.resolve()), f.resolve())
    return list(unique.values())


class DuckDBSink:
    """Where accepted lines and rejects land by default: raw.events and raw.rejected_events of the warehouse.

    A sink gives the shared loop (`run_ingest`) three things: `land_events` (inside the block's transaction, after
    validation and de-duplication: the new rows are `_NEW_ROWS_FAST` and `_NEW_ROWS_SLOW`, raw.events' columns),
    `land_rejects` (the block's reject rows, raw.rejected_events' columns) and `commit` (make the block and the
    file's new state durable at once). The keys already landed are read through the temp view `ingest_landed`
    (event_id, line_key), which the sink defines on the connection. ingest/parquet_sink.py is the other sink.
    """

    rejects_table = "raw.rejected_events"

    def __init__(self, con: duckdb.DuckDBPyConnection):
        con.execute("create or replace temp view ingest_landed as select event_id, line_key from raw.events")

    def land_events(self, con, source: str, load_id: str) -> int:
        now = _now()
        inserted = con.execute(f"insert into raw.events {_NEW_ROWS_FAST}", [source, load_id, now]).fetchall()[0][0]
        inserted += con.execute(f"insert into raw.events {_NEW_ROWS_SLOW}", [source, load_id, now]).fetchall()[0][0]
        return int(inserted)

    def land_rejects(self, con, rejects: pa.Table, load_id: str) -> None:
        if not rejects.num_rows:
            return
        con.register("ingest_rejects", rejects)
        try:
            con.execute("insert into raw.rejected_events select * from ingest_rejects")
        finally:
            _unregister(con, "ingest_rejects")

    def commit(self, con) -> None:
        con.execute("commit")

    def abort(self) -> None:
        """The block's transaction was rolled back: nothing of the sink's own to undo."""


def ingest(home: Path, paths: Iterable[Path], *, progress: Progress | None = None,
           block_bytes: int = BLOCK_BYTES) -> IngestResult:
    """Load `paths` (files, or folders of *.jsonl) into the warehouse of `home`, judged by the event schemas in
    force for it (the project's, and the home's own schemas/events/)."""
    started = time.perf_counter()
    files = find_files(paths)
    con = connect(Path(home))
    try:
        return run_ingest(con, DuckDBSink(con), files, started=started, progress=progress, block_bytes=block_bytes,
                          schemas=load_schemas(event_schema_files(home)))
    finally:
        con.close()


def run_ingest(con, sink, files: list[Path], *, started: float, progress: Progress | None = None,
               block_bytes: int = BLOCK_BYTES, schemas: EventSchemas | None = None) -> IngestResult:
    """The loop both sinks share: per file what is new, block by block (validate, de-duplicate, land, commit with
    the file's state in raw.ingest_files), counted in raw.loads. `con` holds raw.ingest_files, raw.loads and
    raw.watermarks (the warehouse, or the Parquet sink's state file)."""
    schemas = schemas or load_schemas()
    result = IngestResult(files=len(files), load_id=uuid.uuid4().hex)
    total = sum(f.stat().st_size for f in files)
    done = 0
    con.execute(
        "insert into raw.loads (load_id, started_at) values (?, ?)", [result.load_id, _now()]
    )
    _define_feature_macro(con, schemas)
    for path in files:
        done += _ingest_file(con, sink, schemas, path, result, block_bytes)
        if progress:
            progress(done, total)
    result.seconds = time.perf_counter() - started
    con.execute(
        """update raw.loads set finished_at = ?, files = ?, lines = ?, loaded = ?, rejected = ?,
               duplicates = ?, pending_partial = ? where load_id = ?""",
        [_now(), result.files, result.lines, result.loaded, result.rejected, result.duplicates,
         result.pending_partial, result.load_id],
    )
    return result


def _now() -> datetime:
    return datetime.now(UTC)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fingerprints(fh, consumed: int) -> tuple[str, str]:
    fh.seek(0)
    head = fh.read(min(FINGERPRINT_BYTES, consumed))
    start = max(0, consumed - FINGERPRINT_BYTES)
    fh.seek(start)
    tail = fh.read(consumed - start)
    return _sha(head), _sha(tail)


def _ingest_file(con, sink, schemas: EventSchemas, path: Path, result: IngestResult, block_bytes: int) -> int:
    """Load what is new in one file; returns the bytes read."""
    source = str(path)
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise DataError(f"{path}: cannot read it ({exc.strerror}): fix its permissions or run as a user who may "
                        f"read it, then ingest again (what was loaded so far stays; the rest loads then)") from None
    with fh:
        size = os.fstat(fh.fileno()).st_size
        rows = con.execute(
            "select bytes_consumed, lines_consumed, head_sha256, tail_sha256, generation "
            "from raw.ingest_files where source_file = ?",
            [source],
        ).fetchall()
        state = rows[0] if rows else None
        offset, line_base, generation = 0, 0, 0
        if state:
            consumed, lines_done, head, tail, generation = state
            if size < consumed:
                result.notes.append(f"{path}: shorter than what was loaded (truncated): re-read from the start")
                generation += 1
            elif _fingerprints(fh, consumed) != (head, tail):
                result.notes.append(f"{path}: content before the loaded offset changed (replaced): "
                                    "re-read from the start")
                generation += 1
            else:
                offset, line_base = consumed, lines_done
        read = 0
        pos = offset  # next byte to read; bytes between offset and pos are `carry`
        carry = b""
        while True:
            fh.seek(pos)
            chunk = fh.read(block_bytes)
            pos += len(chunk)
            read += len(chunk)
            data = carry + chunk
            if not data:
                break
            block = split_lines(data)
            if len(block) == 0:
                if not chunk:  # end of file: an unterminated last line waits for the next run
                    if data.strip(b" \t\r"):
                        result.pending_partial += 1
                    break
                carry = data  # a line longer than a block: keep reading
                continue
            try:
                counts = _load_block(con, sink, schemas, source, block, line_base, result.load_id)
                offset += block.consumed
                line_base += len(block)
                head, tail = _fingerprints(fh, offset)
                _record_file_state(con, source, offset, line_base, head, tail, generation, result.load_id)
                sink.commit(con)
            except BaseException:
                _rollback(con)
                sink.abort()
                raise
            samples = counts.pop("samples")
            result.reject_samples += samples[: REJECT_SAMPLES - len(result.reject_samples)]
            for key, value in counts.items():
                setattr(result, key, getattr(result, key) + value)
            carry = data[block.consumed :]
        return read


def _unregister(con, *names: str) -> None:
    for name in names:
        try:
            con.unregister(name)
        except duckdb.Error:
            pass  # an aborted transaction: the error being raised is the one that matters


def _rollback(con) -> None:
    try:
        con.execute("rollback")
    except duckdb.Error:
        pass


def _record_file_state(con, source, offset, lines, head, tail, generation, load_id) -> None:
    """The file's new state, in the block's transaction (the sink commits it with the block's rows)."""
    con.execute(
        """insert or replace into raw.ingest_files
           (source_file, bytes_consumed, lines_consumed, head_sha256, tail_sha256, generation, load_id, updated_at)
           values (?, ?, ?, ?, ?, ?, ?, ?)""",
        [source, offset, lines, head, tail, generation, load_id, _now()],
    )


def _define_feature_macro(con, schemas: EventSchemas) -> None:
    """`ingest_feature(event)`: each event's feature (events.EventColumns), as a macro the constant queries below call
    (DuckDB inlines it: a CASE on the event name, as fast as one written in place)."""
    branches = " ".join(f"when {sql_literal(event)} then {sql_literal(columns.feature)}"
                        for event, columns in sorted(schemas.columns.items()))
    con.execute(f"create or replace temp macro ingest_feature(event) as case event {branches} end")

# The new rows of a block, in raw.events' columns ($1 source file, $2 load id, $3 loaded at): lines the fast path
# accepted, and lines jsonschema accepted, that are not duplicates (ingest_dups). Every sink lands exactly these.
_NEW_ROWS_FAST = """
    select j.event_id, j.event, ingest_feature(j.event) as feature, j.phase, j.event_at, j.line::json as payload,
           j.line_key, $1 as source_file, j.line_no, $2 as load_id, $3 as loaded_at
    from ingest_judged j
    where j.sure and j.line_no not in (select line_no from ingest_dups)
"""
_NEW_ROWS_SLOW = """
    select s.event_id, s.event, s.feature, s.phase, s.event_at, s.payload::json as payload, k.line_key,
           $1 as source_file, s.line_no, $2 as load_id, $3 as loaded_at
    from slow_ok s join ingest_keys k using (line_no)
    where s.line_no not in (select line_no from ingest_dups)
"""
NEW_ROWS = _NEW_ROWS_FAST + "union all" + _NEW_ROWS_SLOW


def new_rows_arrow(con, source: str, load_id: str) -> pa.Table:
    """The block's new rows (NEW_ROWS) as Arrow, for a sink that writes files: raw.events' columns with the payload
    as JSON text, and event_date (YYYY-MM-DD, the UTC date of event_at), in line order."""
    return con.sql(
        f"""select * replace (payload::varchar as payload),
                   strftime(event_at at time zone 'UTC', '%Y-%m-%d') as event_date
            from ({NEW_ROWS}) order by line_no""",
        params=[source, load_id, _now()],
    ).to_arrow_table()


def _blank_lines(block: LineBlock) -> np.ndarray:
    """Mask of lines holding only spaces, tabs and carriage returns (ignored, not counted)."""
    lengths = block.ends - block.starts
    buf = np.frombuffer(block.data, np.uint8)
    first = buf[np.minimum(block.starts, max(len(buf) - 1, 0))] if len(buf) else np.zeros(0, np.uint8)
    maybe = (lengths == 0) | np.isin(first, (32, 9, 13))
    blank = lengths == 0
    for i in np.flatnonzero(maybe & (lengths > 0)):
        blank[i] = block.line(int(i)).strip(b" \t\r") == b""
    return blank


def _load_block(con, sink, schemas: EventSchemas, source: str, block: LineBlock, line_base: int,
                load_id: str) -> dict:
    """Validate one block of complete lines and land it through `sink`, inside a transaction (committed by the
    caller)."""
    con.execute("begin transaction")
    line_nos = np.arange(1, len(block) + 1, dtype=np.int64) + line_base
    lengths = block.ends - block.starts
    blank = _blank_lines(block)
    oversize = (lengths > MAX_LINE_BYTES) & ~blank  # a blank line is ignored whatever its length
    slow: list[tuple[int, bytes]] = [(int(line_nos[i]), block.line(int(i))) for i in np.flatnonzero(oversize)]
    keep = None if not (blank.any() or oversize.any()) else np.flatnonzero(~blank & ~oversize)
    arr = as_arrow_lines(block, keep)
    if arr is None:
        # Not all valid UTF-8: find the bad lines in Python (rare); jsonschema's side names the bad byte.
        good_idx = []
        for i in np.flatnonzero(~blank & ~oversize):
            try:
                block.line(int(i)).decode("utf-8")
                good_idx.append(int(i))
            except UnicodeDecodeError:
                slow.append((int(line_nos[i]), block.line(int(i))))
        keep = np.array(good_idx, dtype=np.int64)
        arr = as_arrow_lines(block, keep)
    batch = pa.table({"line_no": line_nos if keep is None else line_nos[keep], "line": arr})
    # In slices, so that DuckDB's threads share the scan (one chunk is read by one thread).
    batch = pa.Table.from_batches(batch.to_batches(max_chunksize=SCAN_ROWS), schema=batch.schema)
    con.register("ingest_batch", batch)
    try:
        # Pass 1: the verdict, typed columns and key of every line, with its text (in memory, for pass 2: a copy
        # costs less than joining the batch again by line_no).
        con.execute(
            "create or replace temp table ingest_judged as "
            "select line_no, line, sure, event, event_id, phase, event_at, "
            "case when sure and event_id is null then md5($1 || ':' || line_no || ':' || line) end as line_key "
            f"from ({fast_path_sql(schemas, 'ingest_batch')})",
            [source],
        )
        undecided = con.execute(
            "select line_no, line from ingest_judged where not sure order by line_no"
        ).fetchall()
        slow_rows = [(n, t.encode("utf-8")) for n, t in undecided] + slow
        accepted, rejects = _judge_slow(schemas, slow_rows, source, load_id)
        con.register("slow_ok", accepted)
        # The key of every accepted line: its event_id, else its file, line number and content.
        con.execute(
            """create or replace temp table ingest_keys as
            select line_no, event_id, line_key from ingest_judged where sure
            union all
            select line_no, event_id,
                   case when event_id is null then md5($1 || ':' || line_no || ':' || line_text) end
            from slow_ok""",
            [source],
        )
        # Accepted lines that are not new: a key seen earlier in this block, or already in the table. The joins
        # build their hash tables on the (smaller) block side.
        con.execute(
            """create or replace temp table ingest_dups as
            select line_no from ingest_keys
            qualify row_number() over (partition by coalesce(event_id, line_key) order by line_no) > 1
            union
            select k.line_no from ingest_landed e join ingest_keys k on e.event_id = k.event_id
            union
            select k.line_no from ingest_landed e join ingest_keys k on e.line_key = k.line_key"""
        )
        # Pass 2: the new lines.
        inserted = sink.land_events(con, source, load_id)
        n_accepted = con.execute("select count(*) from ingest_keys").fetchall()[0][0]
        max_at = con.execute(
            "select greatest((select max(event_at) from ingest_judged where sure), "
            "(select max(event_at) from slow_ok))"
        ).fetchall()[0][0]
        _advance_watermarks(con)
    finally:
        _unregister(con, "ingest_batch", "slow_ok")
    sink.land_rejects(con, rejects, load_id)
    if max_at is not None:
        con.execute(
            "update raw.loads set max_event_at = greatest(coalesce(max_event_at, ?), ?) where load_id = ?",
            [max_at, max_at, load_id],
        )
    con.execute("drop table ingest_judged; drop table ingest_keys; drop table ingest_dups")
    return {
        "lines": int((~blank).sum()),
        "loaded": int(inserted),
        "rejected": rejects.num_rows,
        "duplicates": int(n_accepted - inserted),
        "samples": [{"file": source, "line": n, "message": m} for n, m in
                    zip(rejects.column("line_no").to_pylist()[:REJECT_SAMPLES],
                        rejects.column("message").to_pylist()[:REJECT_SAMPLES])],
    }


def _advance_watermarks(con) -> None:
    """raw.watermarks: per feature, the latest event time of the rows this block inserted (same transaction)."""
    con.execute(
        """
        insert into raw.watermarks (feature, max_event_at, updated_at)
        select feature, max(event_at), $1 from (
            select ingest_feature(event) as feature, event_at from ingest_judged
            where sure and line_no not in (select line_no from ingest_dups)
            union all
            select feature, event_at from slow_ok where line_no not in (select line_no from ingest_dups)
        ) group by feature
        on conflict (feature) do update
        set updated_at = case when excluded.max_event_at > max_event_at then excluded.updated_at else updated_at end,
            max_event_at = greatest(max_event_at, excluded.max_event_at)
        """,
        [_now()],
    )


def _judge_slow(schemas: EventSchemas, rows: list[tuple[int, bytes]], source: str, load_id: str):
    """jsonschema's verdict on the lines the fast path could not vouch for: accepted rows and reject rows."""
    ok = {k: [] for k in ("line_no", "event_id", "event", "feature", "phase", "event_at", "payload", "line_text")}
    bad = {k: [] for k in ("source_file", "line_no", "raw_line", "line_bytes", "json_path", "message", "load_id",
                            "rejected_at")}
    now = _now()
    for line_no, raw in sorted(rows):
        verdict = judge_line(raw, schemas)
        if verdict.ok:
            obj = verdict.obj
            event = obj["event"]
            columns = schemas.columns[event]
            ok["line_no"].append(line_no)
            ok["event_id"].append(_storable_id(obj.get("event_id")))
            ok["event"].append(event)
            ok["feature"].append(columns.feature)
            ok["phase"].append(obj[columns.phase_field])
            ok["event_at"].append(event_time_us(obj, columns.time_field))
            # The line as sent, unless a lone surrogate escape (which DuckDB's JSON cannot hold) must be replaced.
            text = raw.decode("utf-8").strip(" \t\r")
            ok["payload"].append(_storable(json.dumps(obj, ensure_ascii=False)) if _has_surrogate(obj) else text)
            ok["line_text"].append(raw.decode("utf-8", "surrogatepass").encode("utf-8", "replace").decode("utf-8"))
        else:
            bad["source_file"].append(source)
            bad["line_no"].append(line_no)
            bad["raw_line"].append(raw[:RAW_LINE_KEEP].decode("utf-8", "backslashreplace"))
            bad["line_bytes"].append(len(raw))
            bad["json_path"].append(verdict.json_path)
            bad["message"].append(verdict.message[:MESSAGE_KEEP])
            bad["load_id"].append(load_id)
            bad["rejected_at"].append(now)
    accepted = pa.table({
        "line_no": pa.array(ok["line_no"], pa.int64()),
        "event_id": pa.array(ok["event_id"], pa.string()),
        "event": pa.array(ok["event"], pa.string()),
        "feature": pa.array(ok["feature"], pa.string()),
        "phase": pa.array(ok["phase"], pa.string()),
        "event_at": pa.array(ok["event_at"], pa.int64()).cast(pa.timestamp("us", tz="UTC")),
        "payload": pa.array(ok["payload"], pa.string()),
        "line_text": pa.array(ok["line_text"], pa.string()),
    })
    rejects = pa.table({
        "source_file": pa.array(bad["source_file"], pa.string()),
        "line_no": pa.array(bad["line_no"], pa.int64()),
        "raw_line": pa.array(bad["raw_line"], pa.string()),
        "line_bytes": pa.array(bad["line_bytes"], pa.int64()),
        "json_path": pa.array(bad["json_path"], pa.string()),
        "message": pa.array(bad["message"], pa.string()),
        "load_id": pa.array(bad["load_id"], pa.string()),
        "rejected_at": pa.array(bad["rejected_at"], pa.timestamp("us", tz="UTC")),
    })
    return accepted, rejects


def _has_surrogate(obj: dict) -> bool:
    return any(isinstance(x, str) and _SURROGATE.search(x) for kv in obj.items() for x in kv)


def _storable_id(text: str | None) -> str | None:
    """An event_id keeps each lone surrogate as its `\\uXXXX` escape: distinct ids stay distinct when stored."""
    if not isinstance(text, str):
        return None  # absent, or not a string (a schema may allow that): no key, the line's own is used
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _storable(text: str | None) -> str | None:
    """Lone surrogates (valid in JSON escapes, not in UTF-8) become U+FFFD so the text can be stored."""
    if text is None:
        return None
    return text.encode("utf-8", "replace").decode("utf-8") if any("\ud800" <= c <= "\udfff" for c in text) else text
