"""Bulk validation inside DuckDB, generated from the event schemas.

The SQL accepts a line only when it is sure `jsonschema` would: a plain JSON object (no trailing commas, no `\\u`
escapes, no duplicate keys, no NaN/Infinity), whose keys and scalar values satisfy the event's schema. Anything
else (including valid but unusual lines such as `1.0` for an integer or a lower-case `t` in a time) is left
undecided and goes to `events.judge_line`, so the loader's verdict is always exactly jsonschema's.

Only the keywords below are translated; `schema lint` refuses a schema that uses any other, so a schema change can
never make the fast path silently more permissive. `if` may hold only `required` and `properties` of `const`
values, whose SQL check is exact (not just sufficient), so negating it stays sound.
"""
from __future__ import annotations

from .events import EventSchemas, PHASE_FIELD, TIME_FIELD

SUPPORTED_KEYWORDS = {
    "$schema", "title", "description", "type", "properties", "required", "additionalProperties",
    "const", "enum", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "minLength", "maxLength", "format", "if", "then",
}

# RFC 3339 date-time exactly as rfc3339-validator checks it (ASCII digits; jsonschema upper-cases first).
_RFC3339 = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-[0-9]{2}[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?"
    r"([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
# A JSON number token (DuckDB's parser also takes NaN/Infinity, JSON does not).
_JSON_NUMBER = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$"


def _lit(value: str) -> str:
    """A SQL string literal for a schema constant (schemas are ours, never user input)."""
    return "'" + value.replace("'", "''") + "'"


class _Fields:
    """Positions of every property name in the extracted type/value lists."""

    def __init__(self, names: list[str]):
        self.names = names
        self.pos = {n: i + 1 for i, n in enumerate(names)}  # DuckDB lists are 1-based

    def t(self, name: str) -> str:
        return f"t_{self.pos[name]}"

    def v(self, name: str) -> str:
        return f"v_{self.pos[name]}"

    def n(self, name: str) -> str:
        """The value as a double (computed once per line)."""
        return f"n_{self.pos[name]}"

    def at(self, name: str) -> str:
        """The value as a timestamptz (computed once per line)."""
        return f"at_{self.pos[name]}"

    def columns(self, numeric: set[str], times: set[str]) -> str:
        cols = []
        for n, i in self.pos.items():
            cols.append(f"types[{i}] as t_{i}, vals[{i}] as v_{i}")
            if n in numeric:
                cols.append(f"try_cast(vals[{i}] as double) as n_{i}")
            if n in times:
                cols.append(f"try_cast(vals[{i}] as timestamptz) as at_{i}")
        return ",\n        ".join(cols)

    def paths(self) -> str:
        return "[" + ", ".join(_lit(f'$."{n}"') for n in self.names) + "]"


def _value_check(f: _Fields, name: str, schema: dict) -> str:
    """SQL true only when the present value of `name` certainly satisfies `schema`."""
    t, v = f.t(name), f.v(name)
    conds: list[str] = []
    typ = schema.get("type")
    if "const" in schema or "enum" in schema:
        options = [schema["const"]] if "const" in schema else schema["enum"]
        if all(isinstance(o, str) for o in options):
            conds.append(f"{t} = 'VARCHAR' and {v} in ({', '.join(_lit(o) for o in options)})")
        elif all(isinstance(o, bool) for o in options):
            conds.append(f"{t} = 'BOOLEAN' and {v} in ({', '.join(_lit(str(o).lower()) for o in options)})")
        else:
            return "false"  # other constants: leave to jsonschema
    if typ == "string":
        conds.append(f"{t} = 'VARCHAR'")
        # strlen counts bytes >= code points: a sure bound for maxLength; non-empty is exact for minLength 1.
        if "maxLength" in schema:
            conds.append(f"strlen({v}) <= {int(schema['maxLength'])}")
        if "minLength" in schema:
            if schema["minLength"] > 1:
                return "false"
            if schema["minLength"] == 1:
                conds.append(f"strlen({v}) >= 1")
        if schema.get("format") == "date-time":
            conds.append(
                f"{f.at(name)} is not null and regexp_full_match({v}, {_lit(_RFC3339)})"
                f" and substr({v}, 1, 4) <> '0000' and try_cast(substr({v}, 1, 10) as date) is not null"
            )
    elif typ == "boolean":
        conds.append(f"{t} = 'BOOLEAN'")
    elif typ in ("number", "integer"):
        if typ == "integer":
            # 1.0 or 1e2 are integers to jsonschema too, but rare: leave them to it.
            conds.append(f"{t} in ('UBIGINT', 'BIGINT')")
        else:
            conds.append(f"{t} in ('UBIGINT', 'BIGINT', 'DOUBLE') and regexp_full_match({v}, {_lit(_JSON_NUMBER)})")
            conds.append(f"isfinite({f.n(name)})")
        num = f.n(name)
        for kw, op in (("minimum", ">="), ("maximum", "<="), ("exclusiveMinimum", ">"), ("exclusiveMaximum", "<")):
            if kw in schema:
                conds.append(f"{num} {op} {float(schema[kw])!r}")
    elif typ is not None:
        return "false"
    return "(" + " and ".join(conds or ["true"]) + ")"


def _present(f: _Fields, name: str) -> str:
    return f"{f.t(name)} is not null"


def _event_check(f: _Fields, schema: dict) -> str:
    props: dict = schema.get("properties", {})
    required: list[str] = schema.get("required", [])
    if schema.get("additionalProperties") is not False:
        return "false"
    # As many members as known properties present: no unknown key and no duplicate key.
    present = " + ".join(f"({f.t(p)} is not null)::int" for p in sorted(props))
    conds = [f"n_keys = {present}"]
    conds += [_present(f, r) for r in required]
    for name, sub in props.items():
        conds.append(f"({f.t(name)} is null or {_value_check(f, name, sub)})")
    if "if" in schema:
        cond = schema["if"]
        if_parts = [_present(f, r) for r in cond.get("required", [])]
        if_parts += [f"({f.t(n)} is null or {_value_check(f, n, s)})" for n, s in cond.get("properties", {}).items()]
        then = schema.get("then", {})
        then_parts = [_present(f, r) for r in then.get("required", [])]
        then_parts += [f"({f.t(n)} is null or {_value_check(f, n, s)})" for n, s in then.get("properties", {}).items()]
        # `if` is only sure to be false when one of its parts is surely false; otherwise demand `then`.
        conds.append(f"(not ({' and '.join(if_parts)}) or ({' and '.join(then_parts or ['true'])}))")
    return " and ".join(conds)


def fast_path_sql(schemas: EventSchemas, relation: str) -> str:
    """A query over `relation(line_no, line)` giving, per line, `sure` (accepted without doubt) and the typed columns."""
    props = [(p, sub) for s in schemas.by_event.values() for p, sub in s.get("properties", {}).items()]
    names = sorted({p for p, _ in props})
    numeric = {p for p, sub in props if sub.get("type") in ("number", "integer")}
    times = {p for p, sub in props if sub.get("format") == "date-time"}
    f = _Fields(names)
    cases = "\n".join(
        f"            when {_lit(ev)} then {_event_check(f, s)}" for ev, s in sorted(schemas.by_event.items())
    )
    time_expr = "case " + " ".join(
        f"when {f.v('event')} = {_lit(ev)} then {f.at(TIME_FIELD[ev])}" for ev in sorted(schemas.by_event)
    ) + " end"
    phase_expr = "case " + " ".join(
        f"when {f.v('event')} = {_lit(ev)} then {f.v(PHASE_FIELD[ev])}" for ev in sorted(schemas.by_event)
    ) + " end"
    return f"""
with shaped as (
    select
        line_no,
        line,
        -- DuckDB's parser also takes trailing commas, NaN/Infinity and some escapes JSON forbids: filter those
        json_valid(line)
            and not contains(line, '\\u')
            and not regexp_matches(line, ',[ \\t\\r\\n]*}}[ \\t\\r]*$')
            as plain
    from {relation}
),
extracted as (
    select
        line_no,
        line,
        case when plain then json_keys(line) end as keys,  -- [] for an array or a scalar
        case when plain then json_type(line, {f.paths()}) end as types,
        case when plain then json_extract_string(line, {f.paths()}) end as vals
    from shaped
),
fields as (
    select
        line_no,
        line,
        len(keys) as n_keys,
        {f.columns(numeric, times)}
    from extracted
),
judged as (
    select
        line_no,
        line,
        n_keys is not null
            and {f.t('event')} = 'VARCHAR'
            and coalesce(case {f.v('event')}
{cases}
            end, false) as sure,
        {f.v('event')} as event,
        {f.v('event_id')} as event_id,
        {phase_expr} as phase,
        {time_expr} as event_at
    from fields
)
select line_no, line, sure, event, event_id, phase, case when sure then event_at end as event_at
from judged
"""
