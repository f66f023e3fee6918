"""The Collector: validate events and append each valid one to `<log-dir>/<feature>/<YYYY-MM-DD>.jsonl`.

Safe with several collectors at once: each file is appended under an exclusive `flock`, with O_APPEND, whole
lines only, then fsynced. The path comes from the event's feature (a plain word its schema declares) and its validated
UTC date, never from a free-text field, so no event can steer a write outside the log folder.
"""
from __future__ import annotations

import fcntl
import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from .errors import UsageError
from .events import MAX_LINE_BYTES, EventSchemas, event_utc_day, judge_line, load_schemas, parse_json
from .fastpath import fast_path_sql


@dataclass
class CollectResult:
    read: int = 0
    written: int = 0
    rejected: list[dict] = field(default_factory=list)  # {"source", "line", "json_path", "message"}
    files: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"read": self.read, "written": self.written, "rejected": len(self.rejected),
                "rejects": self.rejected, "files": self.files}


def log_file_for(log_dir: Path, obj: dict, schemas: EventSchemas) -> Path:
    return _log_file(log_dir, _log_key(obj, schemas))


def _log_key(obj: dict, schemas: EventSchemas) -> tuple[str, str]:
    """(feature folder, UTC day) of a valid event: which log file it goes to."""
    columns = schemas.columns[obj["event"]]
    return columns.feature, event_utc_day(obj, columns.time_field)


def _log_file(log_dir: Path, key: tuple[str, str]) -> Path:
    feature, day = key
    path = (log_dir / feature / f"{day}.jsonl").resolve()
    if log_dir.resolve() not in path.parents:  # cannot happen with plain feature names; checked anyway
        raise UsageError(f"refusing to write outside {log_dir}: {path}")
    return path


def collect(log_dir: Path, sources: Iterable[tuple[str, Iterable[bytes]]],
            schemas: EventSchemas | None = None) -> CollectResult:
    """`sources`: (name, lines) pairs; lines are bytes with or without their line end. `schemas`: those in force
    (default: the project's)."""
    schemas = schemas or load_schemas()
    log_dir = Path(log_dir)
    result = CollectResult()
    groups: dict[tuple[str, str], list[bytes]] = defaultdict(list)   # by log file, resolved once per file
    read: list[tuple[str, int, bytes]] = []
    for name, lines in sources:
        for line_no, raw in enumerate(lines, start=1):
            raw = raw.rstrip(b"\n").removesuffix(b"\r")
            if raw.strip(b" \t\r"):
                read.append((name, line_no, raw))
    result.read = len(read)
    sure = _accepted_by_fast_path([raw for _, _, raw in read], schemas)
    for (name, line_no, raw), accepted in zip(read, sure, strict=True):
        if accepted:  # jsonschema would accept it too: only its file is left to find
            obj = parse_json(raw.decode("utf-8"))
        else:
            verdict = judge_line(raw, schemas)
            if not verdict.ok:
                result.rejected.append({"source": name, "line": line_no, "json_path": verdict.json_path,
                                        "message": verdict.message})
                continue
            obj = verdict.obj
        groups[_log_key(obj, schemas)].append(raw + b"\n")
    for path, lines in sorted((_log_file(log_dir, key), lines) for key, lines in groups.items()):
        append_lines(path, lines)
        result.written += len(lines)
        result.files.append(str(path))
    return result


def _accepted_by_fast_path(lines: list[bytes], schemas: EventSchemas) -> list[bool]:
    """Which lines the loader's fast path accepts (fastpath.py: DuckDB SQL generated from the schemas, which accepts
    a line only when jsonschema would); the others go to judge_line, line by line, for the exact verdict."""
    texts: list[str | None] = []
    for raw in lines:
        try:
            texts.append(raw.decode("utf-8") if len(raw) <= MAX_LINE_BYTES else None)
        except UnicodeDecodeError:
            texts.append(None)
    batch = pa.table({"line_no": pa.array(range(len(texts)), pa.int64()), "line": pa.array(texts, pa.string())})
    accepted = [False] * len(lines)
    with duckdb.connect() as con:
        con.register("collect_batch", batch)
        query = f"select line_no from ({fast_path_sql(schemas, 'collect_batch')}) where sure"
        for (line_no,) in con.execute(query).fetchall():
            accepted[line_no] = True
    return accepted


def append_lines(path: Path, lines: list[bytes]) -> None:
    """Append whole lines under an exclusive lock: concurrent appenders never interleave or tear a line."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        # A previous writer killed mid-line left an unterminated tail: end it so our first line stays whole
        # (the loader rejects the torn fragment as invalid JSON, it is not lost silently).
        size = os.fstat(fd).st_size
        data = b"".join(lines)
        if size:
            with open(path, "rb") as fh:
                fh.seek(size - 1)
                if fh.read(1) != b"\n":
                    data = b"\n" + data
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.fsync(fd)
    finally:
        os.close(fd)  # closing releases the lock
