"""Shared helpers for the ingest tests: an independent reference verdict, line serialisation, table reads.

The reference here deliberately does not use ``ingest.events``: it reads the schema files itself and asks
``jsonschema`` directly, so a bug in the loader's own use of jsonschema cannot hide behind the oracle.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
from jsonschema import Draft202012Validator

REPO = Path(__file__).resolve().parents[2]
SCHEMA_DIR = REPO / "schemas" / "events"
ROLLOUTCTL = Path(sys.executable).with_name("rolloutctl")
MIB = 1 << 20

# SPEC §3, written out here rather than imported from the code under test.
FEATURE_OF = {
    "autosave.save.completed": "autosave",
    "autosave.restore.result": "autosave",
    "autosave.lock.error": "autosave",
    "merge.diff.apply": "merge",
    "rollback.executed": "rollout",
    "qa.case.result": "qa",
    "app.session.ended": "app",
    "bug.reported": "app",
    "incident.declared": "app",
}
JSON_KEYS = {"files", "lines", "loaded", "rejected", "duplicates", "pending_partial", "seconds"}


def time_field(event: str) -> str:
    return "timestamp" if event == "rollback.executed" else "ts"


def phase_field(event: str) -> str:
    return "phase_from" if event == "rollback.executed" else "phase"


def reference_schemas() -> dict[str, dict]:
    """Event name -> its schema, read straight from schemas/events/*.json."""
    out: dict[str, dict] = {}
    for path in sorted(SCHEMA_DIR.glob("*.json")):
        out.update(json.loads(path.read_text(encoding="utf-8"))["$defs"])
    return out


SCHEMAS = reference_schemas()
_VALIDATORS = {
    name: Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    for name, schema in SCHEMAS.items()
}


def _no_constants(name: str):
    raise ValueError(f"{name} is not JSON")


def strict_loads(text: str) -> Any:
    return json.loads(text, parse_constant=_no_constants)


def is_blank(raw: bytes) -> bool:
    """Only JSON whitespace (a line holds no LF): spaces, tabs, carriage returns — or nothing."""
    return raw.strip(b" \t\r") == b""


def reference_verdict(raw: bytes) -> tuple[bool, Any]:
    """(valid, parsed object) for one line without its line end: 1 MiB rule, strict UTF-8 + JSON, envelope,
    then the event's schema with date-time asserted."""
    if len(raw) > MIB:
        return False, None
    try:
        text = raw.decode("utf-8")
        obj = strict_loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False, None
    if not isinstance(obj, dict) or not isinstance(obj.get("event"), str) or obj["event"] not in SCHEMAS:
        return False, None
    try:
        return _VALIDATORS[obj["event"]].is_valid(obj), obj
    except RecursionError:
        return False, None


_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:[Zz]|([+-])(\d{2}):(\d{2}))\n?\Z", re.ASCII
)


def utc_micros(text: str) -> int:
    """Microseconds since 1970-01-01 UTC of a (valid) RFC 3339 time, fraction truncated to microseconds."""
    m = _RFC3339.fullmatch(text)
    assert m, text
    y, mo, d, h, mi, s, frac, sign, oh, om = m.groups()
    days = date(int(y), int(mo), int(d)).toordinal() - date(1970, 1, 1).toordinal()
    micros = ((days * 24 + int(h)) * 60 + int(mi)) * 60 + int(s)
    micros = micros * 1_000_000 + int((frac or "0")[:6].ljust(6, "0"))
    if sign:
        offset = (int(oh) * 60 + int(om)) * 60_000_000
        micros -= offset if sign == "+" else -offset
    return micros


@dataclass
class Expected:
    """What the loader must do with a file, computed line by line with the reference verdict."""

    lines: int = 0
    loaded: list[int] = field(default_factory=list)  # line numbers
    rejected: list[int] = field(default_factory=list)
    duplicates: int = 0
    objects: dict[int, dict] = field(default_factory=dict)  # loaded line -> parsed object


def expect(lines: list[bytes], seen_ids: set[str] | None = None) -> Expected:
    """`lines` are the complete lines of one file (without line ends), in order."""
    seen = set() if seen_ids is None else seen_ids
    exp = Expected()
    for no, raw in enumerate(lines, start=1):
        if is_blank(raw):
            continue
        exp.lines += 1
        ok, obj = reference_verdict(raw)
        if not ok:
            exp.rejected.append(no)
            continue
        event_id = obj.get("event_id")
        if event_id is not None and event_id in seen:
            exp.duplicates += 1
            continue
        if event_id is not None:
            seen.add(event_id)
        exp.loaded.append(no)
        exp.objects[no] = obj
    return exp


def db(home: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(Path(home) / "warehouse" / "rollout.duckdb"), read_only=True)


def rows(home: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = db(home)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def count(home: Path, table: str) -> int:
    return rows(home, f"select count(*) from {table}")[0][0]


def cli(*args: str, home: Path | None = None, input: bytes | None = None, cwd: Path | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the installed `rolloutctl` as a user would (a real process: exit code, stdout, stderr); `env` adds to
    the environment (ROLLOUT_HOME removed: --home says where)."""
    cmd = [str(ROLLOUTCTL)] + (["--home", str(home)] if home else []) + list(args)
    env = {**{k: v for k, v in os.environ.items() if k != "ROLLOUT_HOME"}, **(env or {})}
    return subprocess.run(cmd, input=input, capture_output=True, cwd=cwd, env=env, timeout=300)


def ingest_json(home: Path, *paths: Path, extra: tuple[str, ...] = ()) -> dict:
    proc = cli("ingest", "--json", *extra, *map(str, paths), home=home)
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)


def has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, dict):
        return any(has_surrogate(k) or has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_surrogate(v) for v in value)
    return False
