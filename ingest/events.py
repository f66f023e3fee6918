"""The event schemas and the reference verdict on one line: exactly `jsonschema`'s (Draft 2020-12, date-time asserted).

The bulk fast path (`fastpath.py`) only ever accepts lines this module would accept; every line it does not accept
is decided here, which is also where its message comes from.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from rolloutctl.core.layout import EVENT_SCHEMA_DIR

from .errors import ConfigError

MAX_LINE_BYTES = 1 << 20  # 1 MiB

# Feature family per event (SPEC §3): it names the warehouse's `feature` column and the collector's folder.
EVENT_FEATURE = {
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
# rollback.executed names its time `timestamp` and its phase `phase_from` (SPEC §3).
TIME_FIELD = {name: ("timestamp" if name == "rollback.executed" else "ts") for name in EVENT_FEATURE}
PHASE_FIELD = {name: ("phase_from" if name == "rollback.executed" else "phase") for name in EVENT_FEATURE}

# Python's json accepts NaN and ±Infinity; JSON does not.
_FORMAT_CHECKER = Draft202012Validator.FORMAT_CHECKER


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


@dataclass(frozen=True)
class Verdict:
    ok: bool
    obj: dict | None = None
    json_path: str = "$"
    message: str = ""


@dataclass(frozen=True)
class EventSchemas:
    by_event: dict[str, dict]  # event name -> its schema
    file_of: dict[str, str]  # event name -> schema file name
    validators: dict[str, Draft202012Validator]
    envelope: Draft202012Validator

    def violations(self, obj: Any) -> list[tuple[str, str]]:
        """Every violation of `obj` as (json path, message), sorted by path; empty when valid."""
        errors = list(self.envelope.iter_errors(obj))
        if not errors:
            errors = list(self.validators[obj["event"]].iter_errors(obj))
        found = sorted({(e.json_path, e.message) for e in errors})
        return found


def schema_files(source: Path | tuple[Path, ...]) -> tuple[Path, ...]:
    """The schema files of `source`: a folder's *.json, or the files given (layout.event_schema_files: those in force
    for a home)."""
    if isinstance(source, tuple):
        return source
    return tuple(sorted(Path(source).glob("*.json")))


@cache
def load_schemas(source: Path | tuple[Path, ...] = EVENT_SCHEMA_DIR) -> EventSchemas:
    """Read every schema file (of a folder, or the files given), check each event schema against its metaschema,
    compile validators once."""
    by_event: dict[str, dict] = {}
    file_of: dict[str, str] = {}
    files = schema_files(source)
    if not files:
        raise ConfigError(f"no event schemas in {source}")
    for path in files:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: cannot read schema file: {exc}") from None
        for name, schema in doc.get("$defs", {}).items():
            if name in by_event:
                raise ConfigError(f"{path}: event {name} is also defined in {file_of[name]}")
            by_event[name] = schema
            file_of[name] = path.name
    validators = {}
    for name, schema in by_event.items():
        Draft202012Validator.check_schema(schema)
        validators[name] = Draft202012Validator(schema, format_checker=_FORMAT_CHECKER)
    envelope_schema = {
        "type": "object",
        "required": ["event"],
        "properties": {"event": {"enum": sorted(by_event)}},
    }
    return EventSchemas(by_event, file_of, validators, Draft202012Validator(envelope_schema))


def parse_json(text: str) -> Any:
    """Strict JSON: NaN and Infinity are refused (Python's json would take them)."""
    return json.loads(text, parse_constant=_reject_constant)


def judge_line(raw: bytes, schemas: EventSchemas) -> Verdict:
    """The verdict on one line (without its line end): exactly what jsonschema says, plus the loader's size rule."""
    if len(raw) > MAX_LINE_BYTES:
        return Verdict(False, None, "$", f"line is {len(raw)} bytes, over the limit of {MAX_LINE_BYTES} bytes (1 MiB)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Verdict(False, None, "$", f"line is not valid UTF-8 (byte {exc.start}): fix the producer's encoding")
    try:
        obj = parse_json(text)
    except ValueError as exc:
        return Verdict(False, None, "$", f"not valid JSON: {exc}")
    except RecursionError:
        return Verdict(False, None, "$", "not valid JSON: nested too deeply")
    if not isinstance(obj, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(obj), "a number")
        return Verdict(False, None, "$", f"line is {kind}, not a JSON object")
    try:
        found = schemas.violations(obj)
    except RecursionError:
        return Verdict(False, None, "$", "object is nested too deeply to validate")
    if found:
        path, _ = found[0]
        message = "; ".join(f"{_short(p)}: {m}" for p, m in found)
        return Verdict(False, None, path, message)
    return Verdict(True, obj)


def _short(json_path: str) -> str:
    """`$.duration_ms` -> `duration_ms`, `$` -> `(line)`."""
    return json_path[2:] if json_path.startswith("$.") else ("(line)" if json_path == "$" else json_path)


_EPOCH = datetime(1970, 1, 1)
_MICRO = timedelta(microseconds=1)
_DAY_US = 86_400_000_000


def _event_time(obj: dict) -> datetime:
    """The event's time as written, parsed (the schema already checked its RFC 3339 form). jsonschema checks the
    upper-cased text with rfc3339-validator, whose `$` also matches before one trailing newline: drop it here."""
    return datetime.fromisoformat(obj[TIME_FIELD[obj["event"]]].upper().removesuffix("\n"))


def event_time_us(obj: dict) -> int:
    """The event's UTC instant in microseconds since 1970. Exact also when that instant falls outside datetime's
    years 1-9999, which valid times can reach (0001-01-01T00:30:00+01:00, 9999-12-31T23:59:59-01:00)."""
    at = _event_time(obj)
    return (at.replace(tzinfo=None) - _EPOCH) // _MICRO - at.utcoffset() // _MICRO


def event_utc_day(obj: dict) -> str:
    """The UTC date of the event as YYYY-MM-DD (an offset moves it at most one day past datetime's range)."""
    ordinal = _EPOCH.toordinal() + event_time_us(obj) // _DAY_US
    if ordinal < 1:
        return "0000-12-31"
    if ordinal > date.max.toordinal():
        return "10000-01-01"
    return date.fromordinal(ordinal).isoformat()

