"""The event schemas and the reference verdict on one line: exactly `jsonschema`'s (Draft 2020-12, date-time asserted).

The bulk fast path (`fastpath.py`) only ever accepts lines this module would accept; every line it does not accept
is decided here, which is also where its message comes from.
"""
from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from rolloutctl.core.layout import EVENT_SCHEMA_DIR, POLICY_DIR

from .errors import ConfigError

MAX_LINE_BYTES = 1 << 20  # 1 MiB
DRAFT = "https://json-schema.org/draft/2020-12/schema"

# What the loader stores beside each event's payload (raw.events' typed columns), read from optional annotations in
# its schema (jsonschema ignores `x-` keywords). Defaults: the time is `ts`, the phase `phase`, the feature the
# `feature` property's const, else the first dotted part of the event name (`autosave.conflict.detected` -> autosave).
FEATURE_ANNOTATION = "x-feature"
TIME_ANNOTATION = "x-time-field"
PHASE_ANNOTATION = "x-phase-field"
# A feature names a collector folder and a Parquet partition: plain lower-case words only.
FEATURE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")

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
class EventColumns:
    """Where an event's typed columns come from: its feature, and the properties holding its time and phase."""

    feature: str
    time_field: str
    phase_field: str


@dataclass(frozen=True)
class EventSchemas:
    by_event: dict[str, dict]  # event name -> its schema
    file_of: dict[str, str]  # event name -> schema file name
    validators: dict[str, Draft202012Validator]
    envelope: Draft202012Validator
    columns: dict[str, EventColumns]  # event name -> where its typed columns come from

    def violations(self, obj: Any) -> list[tuple[str, str]]:
        """Every violation of `obj` as (json path, message), sorted by path; empty when valid."""
        errors = list(self.envelope.iter_errors(obj))
        if not errors:
            errors = list(self.validators[obj["event"]].iter_errors(obj))
        found = sorted({(e.json_path, e.message) for e in errors})
        return found

    def feature_of(self, event: str) -> str:
        return self.columns[event].feature


def schema_files(source: Path | tuple[Path, ...]) -> tuple[Path, ...]:
    """The schema files of `source`: a folder's *.json, or the files given (layout.event_schema_files: those in force
    for a home)."""
    if isinstance(source, tuple):
        return source
    return tuple(sorted(Path(source).glob("*.json")))


@dataclass
class Catalogue:
    """The event schemas of some files as read, with every problem found (empty when they can be loaded)."""

    by_event: dict[str, dict] = field(default_factory=dict)
    file_of: dict[str, str] = field(default_factory=dict)
    columns: dict[str, EventColumns] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def read_catalogue(files: tuple[Path, ...]) -> Catalogue:
    """Read the schema files: each a JSON object whose `$defs` maps event names to Draft 2020-12 schemas. Every
    problem is named once, with its file (and event); a file that cannot be read adds none of its events."""
    cat = Catalogue()
    for path in files:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            cat.problems.append(f"{path.name}: not valid JSON: {exc}")
            continue
        if not isinstance(doc, dict) or not isinstance(doc.get("$defs"), dict):
            cat.problems.append(f"{path.name}: must be an object whose $defs maps event names to schemas")
            continue
        for name, schema in doc["$defs"].items():
            where = f"{path.name}#/$defs/{name}"
            if name in cat.file_of:
                cat.problems.append(f"{path.name}: event {name} is also defined in {cat.file_of[name]}")
                continue
            found = _event_problems(name, schema)
            cat.problems += [f"{where}: {p}" for p in found]
            if not found:
                cat.by_event[name] = schema
                cat.file_of[name] = path.name
                cat.columns[name] = _columns(name, schema)
    if not files:
        cat.problems.append("no event schema files")
    return cat


def _columns(name: str, schema: dict) -> EventColumns:
    feature = schema.get(FEATURE_ANNOTATION)
    if feature is None:
        const = schema.get("properties", {}).get("feature", {})
        feature = const.get("const") if isinstance(const, dict) else None
    if not isinstance(feature, str):
        feature = name.split(".")[0]
    return EventColumns(feature, schema.get(TIME_ANNOTATION, "ts"), schema.get(PHASE_ANNOTATION, "phase"))


def _event_problems(name: str, schema: Any) -> list[str]:
    """Why `schema` cannot be the schema of event `name` (empty when it can): any valid Draft 2020-12 schema that
    names its event and declares what the loader stores in raw.events' typed columns (feature, time, phase)."""
    if not isinstance(schema, dict):
        return ["must be an object schema (a boolean schema cannot name its event)"]
    if schema.get("$schema", DRAFT) != DRAFT:
        return [f"$schema must be {DRAFT} (the loader judges by Draft 2020-12)"]
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return [f"not a valid Draft 2020-12 schema: {exc.message} (at /{'/'.join(map(str, exc.path))})"]
    problems = []
    props = schema.get("properties", {})
    required = schema.get("required", [])
    if not isinstance(props.get("event"), dict) or props["event"].get("const") != name or "event" not in required:
        problems.append(f"must name its event: properties.event {{\"const\": {json.dumps(name)}}}, and event required")
    for key in (TIME_ANNOTATION, PHASE_ANNOTATION, FEATURE_ANNOTATION):
        if key in schema and not isinstance(schema[key], str):
            problems.append(f"{key} must be a string")
    if problems:
        return problems
    cols = _columns(name, schema)
    time = props.get(cols.time_field)
    if cols.time_field not in required or not isinstance(time, dict) or time.get("type") != "string" \
            or time.get("format") != "date-time":
        problems.append(f"its time {cols.time_field!r} must be a required property with type string and format "
                        f"date-time (name another property with {TIME_ANNOTATION})")
    phases = _phases()
    phase = props.get(cols.phase_field)
    values = ([phase["const"]] if "const" in phase else phase.get("enum")) if isinstance(phase, dict) else None
    if cols.phase_field not in required or not isinstance(values, list) or not values \
            or not all(isinstance(v, str) and v in phases for v in values):
        problems.append(f"its phase {cols.phase_field!r} must be a required property whose enum (or const) holds only "
                        f"phases ({', '.join(phases)}); name another property with {PHASE_ANNOTATION}")
    if not FEATURE_NAME.fullmatch(cols.feature):
        problems.append(f"its feature {cols.feature!r} must be lower-case letters, digits, - or _ (it names a folder): "
                        f"set {FEATURE_ANNOTATION}")
    problems += [f"$ref {ref!r} does not resolve: put what it names under the event's own $defs"
                 for ref in _unresolved_refs(schema)]
    return problems


@cache
def _phases() -> tuple[str, ...]:
    """The phases raw.events.phase may hold: those of the phase_flags seed, which dbt's relationships test on the
    staging models' phase checks against (and rolloutctl.core.phases mirrors; ingest does not import the CLI side)."""
    with open(POLICY_DIR / "phase_flags.csv", newline="", encoding="utf-8") as fh:
        return tuple(row["phase"] for row in csv.DictReader(fh))


def _unresolved_refs(schema: dict) -> list[str]:
    """The `$ref`s jsonschema could not follow (it would fail on the first line reaching them, not on load)."""
    resource = DRAFT202012.create_resource(schema)
    resolver = Registry().with_resource("urn:rolloutctl:event", resource).resolver("urn:rolloutctl:event")
    bad = []
    for ref in sorted(set(_refs(schema))):
        try:
            resolver.lookup(ref)
        except Unresolvable:
            bad.append(ref)
    return bad


def _refs(schema: Any):
    if isinstance(schema, dict):
        if isinstance(schema.get("$ref"), str) and not _has_id(schema):
            yield schema["$ref"]
        for key, value in schema.items():
            if key not in ("const", "enum", "$id") and not key.startswith("x-"):
                yield from _refs(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _refs(item)


def _has_id(schema: Any) -> bool:
    """A `$id` moves the base its `$ref`s resolve against: those are left to jsonschema unchecked."""
    return isinstance(schema, dict) and "$id" in schema


@cache
def load_schemas(source: Path | tuple[Path, ...] = EVENT_SCHEMA_DIR) -> EventSchemas:
    """Read every schema file (of a folder, or the files given), check each event schema, compile validators once."""
    files = schema_files(source)
    if not files:
        raise ConfigError(f"no event schemas in {source}")
    cat = read_catalogue(files)
    if cat.problems:
        raise ConfigError("event schemas: " + "; ".join(cat.problems) + " (rolloutctl schema lint lists them)")
    validators = {name: Draft202012Validator(schema, format_checker=_FORMAT_CHECKER)
                  for name, schema in cat.by_event.items()}
    envelope_schema = {
        "type": "object",
        "required": ["event"],
        "properties": {"event": {"enum": sorted(cat.by_event)}},
    }
    return EventSchemas(cat.by_event, cat.file_of, validators, Draft202012Validator(envelope_schema), cat.columns)


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
    except (ArithmeticError, ValueError) as exc:  # e.g. multipleOf on 1e400 (read as infinity): jsonschema fails
        return Verdict(False, None, "$", f"jsonschema cannot evaluate it ({type(exc).__name__}: {exc})")
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


def _event_time(text: str) -> datetime:
    """The event's time as written, parsed (the schema already checked its RFC 3339 form). jsonschema checks the
    upper-cased text with rfc3339-validator, whose `$` also matches before one trailing newline: drop it here."""
    return datetime.fromisoformat(text.upper().removesuffix("\n"))


def event_time_us(obj: dict, time_field: str = "ts") -> int:
    """The UTC instant of the event's time (`obj[time_field]`) in microseconds since 1970. Exact also when that
    instant falls outside datetime's years 1-9999, which valid times can reach (0001-01-01T00:30:00+01:00)."""
    at = _event_time(obj[time_field])
    return (at.replace(tzinfo=None) - _EPOCH) // _MICRO - at.utcoffset() // _MICRO


def event_utc_day(obj: dict, time_field: str = "ts") -> str:
    """The UTC date of the event as YYYY-MM-DD (an offset moves it at most one day past datetime's range)."""
    ordinal = _EPOCH.toordinal() + event_time_us(obj, time_field) // _DAY_US
    if ordinal < 1:
        return "0000-12-31"
    if ordinal > date.max.toordinal():
        return "10000-01-01"
    return date.fromordinal(ordinal).isoformat()

