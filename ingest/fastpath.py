"""Bulk validation inside DuckDB, generated from the event schemas.

The SQL accepts a line only when it is sure `jsonschema` would: a plain JSON object (no trailing commas, no `\\u`
escapes, no duplicate keys, no NaN/Infinity), whose keys and scalar values satisfy the event's schema. Anything
else (including valid but unusual lines such as `1.0` for an integer or a lower-case `t` in a time) is left
undecided and goes to `events.judge_line`, so the loader's verdict is always exactly jsonschema's.

Only the keywords below are translated; `schema lint` refuses a schema that uses any other, so a schema change can
never make the fast path silently more permissive. `if` may hold only `required` and `properties` of `const`
values, whose SQL check is exact (not just sufficient), so negating it stays sound.

Speed: a line is parsed once into a struct of every property's raw JSON text, each property is read from it once
as a column, and each event's checks are a CASE branch on its name, so a line pays only its own event's checks.
"""
from __future__ import annotations

from .events import PHASE_FIELD, TIME_FIELD, EventSchemas

SUPPORTED_KEYWORDS = {
    "$schema", "title", "description", "type", "properties", "required", "additionalProperties",
    "const", "enum", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "minLength", "maxLength", "format", "if", "then",
}

# RFC 3339 date-time exactly as rfc3339-validator checks it (ASCII digits; jsonschema upper-cases first), in quotes.
_RFC3339_QUOTED = (
    r'^"[0-9]{4}-(0[1-9]|1[0-2])-[0-9]{2}[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?'
    r'([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"$'
)


def _lit(value: str) -> str:
    """A SQL string literal for a schema constant (schemas are ours, never user input)."""
    return "'" + value.replace("'", "''") + "'"


class _Fields:
    """Each property's raw JSON text, read once per line with `from_json` into a struct of JSON values.

    With no backslash in the line, a string's raw text is exactly `"` + its value + `"`, and a number's is the
    number as written: checks compare raw texts, and unquote only what they return.
    """

    def __init__(self, names: list[str]):
        self.names = names

    def raw(self, name: str) -> str:
        return f'"p_{name}"'

    def columns(self) -> str:
        """Every property's raw text as its own column, extracted from the struct once."""
        return ", ".join(f'raw."{n}"::varchar as "p_{n}"' for n in self.names)

    def is_string(self, name: str) -> str:
        return f"starts_with({self.raw(name)}, '\"')"

    def text(self, name: str) -> str:
        """A string's value without its quotes (substr with length: about twice as fast as slicing [2:-2])."""
        return f"substr({self.raw(name)}, 2, length({self.raw(name)}) - 2)"

    def struct_type(self) -> str:
        return "{" + ", ".join(f'"{n}": "JSON"' for n in self.names) + "}"


# Keywords _value_check does not translate inside a property's schema, and keywords that apply to one type only.
_OBJECT_KEYWORDS = {"properties", "required", "additionalProperties", "if", "then"}
_TYPED_KEYWORDS = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "format"}


def _quoted(value: str) -> str:
    return _lit('"' + value + '"')


def _value_check(f: _Fields, name: str, schema: dict, time_field: str) -> str:
    """SQL true only when the present value of `name` certainly satisfies `schema`."""
    if not isinstance(schema, dict):  # a boolean subschema: exact
        return "true" if schema is True else "false"
    typ = schema.get("type")
    if set(schema) & _OBJECT_KEYWORDS:
        return "false"  # an object's keywords inside a value are not translated: leave to jsonschema
    if typ is None and set(schema) & _TYPED_KEYWORDS:
        return "false"  # they hold only for values of their type; without `type` leave to jsonschema
    if schema.get("format", "date-time") != "date-time":
        return "false"  # jsonschema asserts other formats too (email, ipv4, ...): only date-time is translated
    raw = f.raw(name)
    conds: list[str] = []
    if "const" in schema or "enum" in schema:
        options = [schema["const"]] if "const" in schema else schema["enum"]
        if all(isinstance(o, str) for o in options):
            conds.append(f"{raw} in ({', '.join(_quoted(o) for o in options)})")
        elif all(isinstance(o, bool) for o in options):
            conds.append(f"{raw} in ({', '.join(_lit(str(o).lower()) for o in options)})")
        else:
            return "false"  # other constants: leave to jsonschema
    if typ == "string":
        conds.append(f.is_string(name))
        # strlen counts bytes >= code points: a sure bound for maxLength; non-empty is exact for minLength 1.
        if "maxLength" in schema:
            conds.append(f"strlen({raw}) - 2 <= {int(schema['maxLength'])}")
        if "minLength" in schema:
            if schema["minLength"] > 1:
                return "false"
            if schema["minLength"] == 1:
                conds.append(f"strlen({raw}) > 2")
        if schema.get("format") == "date-time":
            if name != time_field:
                return "false"  # only the event's own time is cast once per line
            conds.append(
                f"event_at is not null and regexp_full_match({raw}, {_lit(_RFC3339_QUOTED)})"
                f" and substr({raw}, 2, 4) <> '0000' and try_cast(substr({raw}, 2, 10) as date) is not null"
            )
    elif typ == "boolean":
        conds.append(f"{raw} in ('true', 'false')")
    elif typ in ("number", "integer"):
        num = f"try_cast({raw} as double)"
        if typ == "integer":
            # 1.0 or 1e2 are integers to jsonschema too, but rare: leave them to it.
            conds.append(f"regexp_full_match({raw}, '-?(0|[1-9][0-9]*)')")
        else:
            # Not a string, boolean, null, object or array; DuckDB's parser reads NaN/Infinity as numbers, whose
            # casts are not finite. Every other text it accepts as a number is a JSON number.
            conds.append(f"isfinite({num}) and not starts_with({raw}, '\"')")
        for kw, op in (("minimum", ">="), ("maximum", "<="), ("exclusiveMinimum", ">"), ("exclusiveMaximum", "<")):
            if kw in schema:
                conds.append(f"{num} {op} {float(schema[kw])!r}")
    elif typ is not None:
        return "false"
    return "(" + " and ".join(conds or ["true"]) + ")"


def _event_check(f: _Fields, schema: dict, time_field: str) -> str:
    props: dict = schema.get("properties", {})
    required: list[str] = schema.get("required", [])
    if schema.get("additionalProperties") is not False:
        return "false"
    named = [*required, *schema.get("if", {}).get("required", []), *schema.get("then", {}).get("required", [])]
    if any(r not in props for r in named):
        return "false"  # required but not a property: never valid with additionalProperties false; no column either
    # As many members as known properties present: no unknown key and no duplicate key. The required ones are
    # present (checked below), so only the optional ones need counting.
    must = set(required)
    optional = "".join(f" + ({f.raw(p)} is not null)::int" for p in sorted(props) if p not in must)
    conds = [f"n_keys = {len(must)}{optional}"]
    conds += [f"{f.raw(r)} is not null" for r in required]
    for name, sub in props.items():
        check = _value_check(f, name, sub, time_field)
        conds.append(check if name in must else f"({f.raw(name)} is null or {check})")
    if "if" in schema:
        cond, then = schema["if"], schema.get("then", {})
        if_parts = [f"{f.raw(r)} is not null" for r in cond.get("required", [])]
        if_parts += [f"({f.raw(n)} is null or {_value_check(f, n, s, time_field)})"
                     for n, s in cond.get("properties", {}).items()]
        then_parts = [f"{f.raw(r)} is not null" for r in then.get("required", [])]
        then_parts += [f"({f.raw(n)} is null or {_value_check(f, n, s, time_field)})"
                       for n, s in then.get("properties", {}).items()]
        conds.append(f"(not ({' and '.join(if_parts or ['true'])}) or ({' and '.join(then_parts or ['true'])}))")
    return " and ".join(conds)


def fast_path_sql(schemas: EventSchemas, relation: str) -> str:
    """A query over `relation(line_no, line)` giving, per line, `sure` (accepted without doubt) and the typed
    columns event, event_id, phase, event_at (UTC), which mean something only where `sure`."""
    events = sorted(schemas.by_event.items())
    names = sorted({p for _, s in events for p in s.get("properties", {})})
    f = _Fields(names)

    def per_event(expr) -> str:
        return f"case {f.raw('event')} " + " ".join(
            f"when {_quoted(ev)} then {expr(ev, s)}" for ev, s in events) + " end"

    def text_of(prop_of) -> str:
        """The text of each event's own property `prop_of(event)`, e.g. its time. Only a sure line's value counts,
        and a sure line's event is one of `events`: so one branch per distinct property, not one per event."""
        by_prop: dict[str, list[str]] = {}
        for ev, _ in events:
            by_prop.setdefault(prop_of(ev), []).append(ev)
        usual = max(sorted(by_prop), key=lambda p: len(by_prop[p]))
        others = " ".join(f"when {f.raw('event')} in ({', '.join(_quoted(e) for e in evs)}) then {text(p)}"
                          for p, evs in sorted(by_prop.items()) if p != usual)
        return f"case {others} else {text(usual)} end" if others else text(usual)

    def text(name: str) -> str:
        return f.text(name) if name in names else "null"  # no event has it: no column either

    return f"""
with shaped as (
    select
        line_no,
        line,
        -- DuckDB's parser also takes trailing commas and NaN/Infinity, which JSON forbids; a line with a backslash
        -- (an escape) is left to jsonschema, so that a string's raw text is its value in quotes
        json_valid(line)
            and not contains(line, '\\')
            and not regexp_matches(line, ',[ \t\r\n]*}}[ \t\r]*$')
            as plain
    from {relation}
),
parsed as (
    select
        line_no,
        line,
        case when plain then from_json(line, '{f.struct_type()}') end as raw,
        case when plain then len(json_keys(line)) end as n_keys  -- json_keys lists a duplicated key twice
    from shaped
),
fields as (
    select line_no, line, raw is not null as is_parsed, n_keys, {f.columns()}
    from parsed
),
timed as (
    select *, try_cast({text_of(lambda ev: TIME_FIELD[ev])} as timestamptz) as event_at
    from fields
),
judged as (
    select
        line_no,
        line,
        is_parsed and starts_with(line, '{{')
            and coalesce({per_event(lambda ev, s: _event_check(f, s, TIME_FIELD[ev]))}, false) as sure,
        ({f.text('event')}) as event,
        {text_of(lambda ev: "event_id")} as event_id,
        {text_of(lambda ev: PHASE_FIELD[ev])} as phase,
        event_at
    from timed
)
select line_no, line, sure, event, event_id, phase, case when sure then event_at end as event_at
from judged
"""
