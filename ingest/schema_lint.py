"""`schema lint`: every event schema is a valid Draft 2020-12 schema that names its event and the columns the loader
stores, the spec's events are all there, and which parts of each schema the bulk fast path decides."""
from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from rolloutctl.core.layout import EVENT_SCHEMA_DIR

from .events import DRAFT, load_schemas, read_catalogue, schema_files
from .fastpath import EventCoverage, coverage

# SPEC §3: the events the models read, and their feature. Other events are the user's (any name, any feature).
SPEC_EVENT_FEATURE = {
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


def lint(source: Path | tuple[Path, ...] = EVENT_SCHEMA_DIR) -> tuple[list[str], int]:
    """Problems found (empty when all is well) and the number of event schemas checked, in a folder's schema files or
    the files given (layout.event_schema_files: those in force for a home)."""
    files = schema_files(source)
    cat = read_catalogue(files)
    problems = list(cat.problems)
    for path in files:
        problems += _file_problems(path)
    for name in sorted(set(SPEC_EVENT_FEATURE) - set(cat.by_event)):
        if not any(f"/$defs/{name}:" in p or f"event {name} " in p for p in problems):
            problems.append(f"event {name} of the spec has no schema")
    for name, columns in sorted(cat.columns.items()):
        if name in SPEC_EVENT_FEATURE and columns.feature != SPEC_EVENT_FEATURE[name]:
            problems.append(f"{cat.file_of[name]}#/$defs/{name}: feature {columns.feature!r}, the spec says "
                            f"{SPEC_EVENT_FEATURE[name]!r}")
    return problems, len(cat.by_event)


def fast_path_coverage(source: Path | tuple[Path, ...] = EVENT_SCHEMA_DIR) -> list[EventCoverage]:
    """Per event, what the loader's fast path decides and what it leaves to jsonschema (schemas that lint clean)."""
    return coverage(load_schemas(schema_files(source)))


def _file_problems(path: Path) -> list[str]:
    """A schema file is itself a Draft 2020-12 schema (read_catalogue has named a file it could not read)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(doc, dict):
        return []
    problems = []
    if doc.get("$schema") != DRAFT:
        problems.append(f"{path.name}: $schema must be {DRAFT}")
    try:  # its events are checked one by one (read_catalogue)
        Draft202012Validator.check_schema({k: v for k, v in doc.items() if k != "$defs"})
    except SchemaError as exc:
        problems.append(f"{path.name}: not a valid 2020-12 schema: {exc.message}")
    return problems
