"""`schema lint`: the event schemas are valid, cover every event of the spec, and use only keywords the bulk
fast path translates exactly."""
from __future__ import annotations

import json
import re
from pathlib import Path

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from rolloutctl.core.layout import EVENT_SCHEMA_DIR

from .events import EVENT_FEATURE, schema_files
from .fastpath import SUPPORTED_KEYWORDS

DRAFT = "https://json-schema.org/draft/2020-12/schema"


# A property name the fast path's SQL can quote (it becomes a struct field name inside a string literal).
_PLAIN_NAME = re.compile(r"[^\"'\\\x00-\x1f]+")


def _walk(schema: dict, where: str):
    if not isinstance(schema, dict):
        return  # a boolean subschema: translated exactly
    yield schema, where
    for name, sub in schema.get("properties", {}).items():
        yield from _walk(sub, f"{where}/properties/{name}")
    for key in ("if", "then"):
        if key in schema:
            yield from _walk(schema[key], f"{where}/{key}")


def lint(source: Path | tuple[Path, ...] = EVENT_SCHEMA_DIR) -> tuple[list[str], int]:
    """Problems found (empty when all is well) and the number of event schemas checked, in a folder's schema files or
    the files given (layout.event_schema_files: those in force for a home)."""
    problems: list[str] = []
    seen: dict[str, str] = {}
    files = schema_files(source)
    for path in files:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            problems.append(f"{path.name}: not valid JSON: {exc}")
            continue
        if not isinstance(doc, dict) or not isinstance(doc.get("$defs", {}), dict):
            problems.append(f"{path.name}: must be an object whose $defs maps event names to schemas")
            continue
        if doc.get("$schema") != DRAFT:
            problems.append(f"{path.name}: $schema must be {DRAFT}")
        try:
            Draft202012Validator.check_schema(doc)
        except SchemaError as exc:
            problems.append(f"{path.name}: not a valid 2020-12 schema: {exc.message}")
        for name, schema in doc.get("$defs", {}).items():
            if name in seen:
                problems.append(f"{path.name}: {name} already defined in {seen[name]}")
            seen[name] = path.name
            if not isinstance(schema, dict):
                problems.append(f"{path.name}#/$defs/{name}: must be an object schema")
                continue
            try:
                Draft202012Validator.check_schema(schema)
            except SchemaError as exc:
                problems.append(f"{path.name}#/$defs/{name}: invalid: {exc.message}")
            for sub, where in _walk(schema, f"{path.name}#/$defs/{name}"):
                extra = set(sub) - SUPPORTED_KEYWORDS
                if extra:
                    problems.append(f"{where}: keywords {sorted(extra)} are not translated by the loader's fast path")
                for prop in sub.get("properties", {}):
                    if not _PLAIN_NAME.fullmatch(prop):
                        problems.append(f"{where}: property name {prop!r} (quotes, backslashes, control characters or"
                                        " empty) cannot be used by the loader's fast path")
            if "if" in schema:
                cond, then = schema["if"], schema.get("then", {})
                if not isinstance(cond, dict) or not isinstance(then, dict) or set(cond) - {"properties", "required"} \
                        or any(not isinstance(s, dict) or set(s) - {"const"}
                               for s in cond.get("properties", {}).values()):
                    problems.append(f"{path.name}#/$defs/{name}: `if` may hold only `required` and `const` properties")
            props = schema.get("properties", {})
            if not isinstance(props.get("event"), dict) or props["event"].get("const") != name:
                problems.append(f"{path.name}#/$defs/{name}: properties.event must be const {name!r}")
            if schema.get("additionalProperties") is not False:
                problems.append(f"{path.name}#/$defs/{name}: additionalProperties must be false (SPEC §3)")
    for name in sorted(set(EVENT_FEATURE) - set(seen)):
        problems.append(f"event {name} of the spec has no schema")
    for name in sorted(set(seen) - set(EVENT_FEATURE)):
        problems.append(f"schema for {name}, which the spec does not define")
    return problems, len(seen)
