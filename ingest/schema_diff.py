"""`schema diff OLD NEW`: is a change of the event schemas backward compatible for lines already loaded?

Compatible means every line the old schemas accept, the new ones accept too, and store the same way (feature, time,
phase). The comparison is structural and conservative: a change it cannot prove harmless (a new pattern, a changed
`anyOf`, …) counts as incompatible, with what changed named; widening changes (a new optional property, an enum
grown, a bound relaxed, a new event) are listed as compatible.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError
from .events import (
    FEATURE_ANNOTATION,
    PHASE_ANNOTATION,
    TIME_ANNOTATION,
    Catalogue,
    read_catalogue,
    schema_files,
)
from .fastpath import ANNOTATIONS

# Lower bounds may only go down, upper bounds only up.
_LOWER = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties", "minContains")
_UPPER = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties", "maxContains")
# Keywords compared member by member below; any other asserting keyword must be unchanged (or removed).
_STRUCTURAL = {"type", "enum", "const", "required", "properties", "additionalProperties", "items", "prefixItems",
               "$defs", *_LOWER, *_UPPER}


@dataclass(frozen=True)
class Change:
    event: str
    where: str  # JSON pointer in the event's schema ("" for the event itself)
    message: str
    compatible: bool

    def as_json(self) -> dict:
        return {"event": self.event, "where": self.where or "/", "message": self.message}


@dataclass
class SchemaDiff:
    changes: list[Change] = field(default_factory=list)

    @property
    def compatible(self) -> bool:
        return not any(not c.compatible for c in self.changes)

    def as_json(self) -> dict:
        return {"compatible": self.compatible,
                "incompatible": [c.as_json() for c in self.changes if not c.compatible],
                "compatible_changes": [c.as_json() for c in self.changes if c.compatible]}


def read_side(path: Path) -> Catalogue:
    """The event schemas of a schema file or a folder of them; a problem in them is a ConfigError."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path} does not exist")
    files = (path,) if path.is_file() else schema_files(path)
    cat = read_catalogue(files)
    if cat.problems:
        raise ConfigError(f"{path}: " + "; ".join(cat.problems))
    return cat


def diff_schemas(old: Path, new: Path) -> SchemaDiff:
    """Every change from the event schemas at `old` to those at `new` (files or folders), each marked compatible or
    not for lines already loaded."""
    before, after = read_side(old), read_side(new)
    result = SchemaDiff()
    for event in sorted(set(before.by_event) | set(after.by_event)):
        if event not in after.by_event:
            result.changes.append(Change(event, "", "event removed: its lines would be rejected", False))
        elif event not in before.by_event:
            result.changes.append(Change(event, "", "event added", True))
        else:
            was, now = before.columns[event], after.columns[event]
            for what, a, b in (("feature", was.feature, now.feature), ("time property", was.time_field, now.time_field),
                               ("phase property", was.phase_field, now.phase_field)):
                if a != b:
                    result.changes.append(Change(event, "", f"{what} {a!r} → {b!r}: lines would be stored "
                                                            f"differently", False))
            _compare(event, before.by_event[event], after.by_event[event], "", result.changes)
    return result


def _same(a, b) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _asserting(schema: dict) -> set[str]:
    return {k for k in schema if k not in ANNOTATIONS and not k.startswith("x-")
            and k not in (FEATURE_ANNOTATION, TIME_ANNOTATION, PHASE_ANNOTATION)}


def _types(schema: dict) -> set[str] | None:
    typ = schema.get("type")
    if typ is None:
        return None
    return {typ} if isinstance(typ, str) else set(typ)


def _compare(event: str, old, new, where: str, out: list[Change]) -> None:
    def note(message: str, compatible: bool, at: str = where) -> None:
        out.append(Change(event, at, message, compatible))

    if _same(old, new):
        return
    if new is True or new == {}:
        note("no longer constrained", True)
        return
    if old is False:
        note("accepts what it refused", True)
        return
    if new is False or old is True or old == {}:
        note("now constrains what it accepted" if new is not False else "now refuses every value", False)
        return
    old_kw, new_kw = _asserting(old), _asserting(new)
    for kw in sorted(old_kw - new_kw - {"$defs"}):
        note(f"{kw} removed", True)
    # type
    before, after = _types(old), _types(new)
    if after is not None:
        widened = before is not None and all(t in after or (t == "integer" and "number" in after) for t in before)
        if not widened:
            note(f"type {sorted(before) if before else 'any'} → {sorted(after)}", False)
        elif before != after:
            note(f"type {sorted(before)} → {sorted(after)}", True)
    # const / enum
    if "const" in new or "enum" in new:
        now = [new["const"]] if "const" in new else new["enum"]
        was = [old["const"]] if "const" in old else old.get("enum")
        key = "enum" if "enum" in new else "const"
        if was is None:
            note(f"{key} added", False)
        else:
            gone = [v for v in was if not any(_same(v, n) for n in now)]
            if gone:
                note(f"{key} narrowed: {json.dumps(gone)} no longer allowed", False)
            elif len(now) > len(was):
                note(f"{key} grown", True)
    # bounds
    for kw in _LOWER + _UPPER:
        if kw not in new or (kw in old and _same(old[kw], new[kw])):
            continue
        lower = kw in _LOWER
        if kw not in old:
            note(f"{kw} {new[kw]} added", False)
        elif (new[kw] < old[kw]) if lower else (new[kw] > old[kw]):
            note(f"{kw} {old[kw]} → {new[kw]} (relaxed)", True)
        else:
            note(f"{kw} {'raised' if lower else 'lowered'}: {old[kw]} → {new[kw]}", False)
    # required
    added = [r for r in new.get("required", []) if r not in old.get("required", [])]
    if added:
        note(f"made required: {', '.join(added)}", False)
    dropped = [r for r in old.get("required", []) if r not in new.get("required", [])]
    if dropped:
        note(f"no longer required: {', '.join(dropped)}", True)
    # properties and additionalProperties
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    old_extra, new_extra = old.get("additionalProperties", True), new.get("additionalProperties", True)
    for name in sorted(set(old_props) | set(new_props)):
        at = f"{where}/properties/{name}"
        if name in old_props and name in new_props:
            _compare(event, old_props[name], new_props[name], at, out)
        elif name in new_props:
            if old_extra is False:
                note("property added", True, at)
            else:  # the old schema took this member as an additional property
                _compare(event, old_extra, new_props[name], at, out)
        elif new_extra is True:
            note("property no longer declared (still allowed)", True, at)
        else:  # the new schema takes this member as an additional property
            _compare(event, old_props[name], new_extra, at, out)
    if not _same(old_extra, new_extra):
        if new_extra is False:
            note("additionalProperties tightened: unknown members now refused", False)
        else:
            _compare(event, old_extra, new_extra, f"{where}/additionalProperties", out)
    # arrays
    if "items" in old or "items" in new:
        _compare(event, old.get("items", True), new.get("items", True), f"{where}/items", out)
    old_prefix, new_prefix = old.get("prefixItems", []), new.get("prefixItems", [])
    for i in range(max(len(old_prefix), len(new_prefix))):
        a = old_prefix[i] if i < len(old_prefix) else old.get("items", True)
        b = new_prefix[i] if i < len(new_prefix) else new.get("items", True)
        _compare(event, a, b, f"{where}/prefixItems/{i}", out)
    # local definitions a $ref may name
    old_defs, new_defs = old.get("$defs", {}), new.get("$defs", {})
    for name in sorted(set(old_defs) & set(new_defs)):
        _compare(event, old_defs[name], new_defs[name], f"{where}/$defs/{name}", out)
    # everything else: unchanged, removed (above), or not provably compatible
    for kw in sorted(new_kw - _STRUCTURAL):
        if kw not in old:
            note(f"{kw} added", False)
        elif not _same(old[kw], new[kw]):
            note(f"{kw} changed: not provably backward compatible", False)
