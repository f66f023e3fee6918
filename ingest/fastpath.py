"""Bulk validation inside DuckDB, generated from the event schemas.

The SQL accepts a line only when it is sure `jsonschema` would: a plain JSON object (no trailing commas, no `\\u`
escapes, no duplicate keys, no NaN/Infinity), whose keys and values satisfy the event's schema. It never rejects:
anything else (including valid but unusual lines such as `1.0` for an integer or a lower-case `t` in a time) is left
undecided and goes to `events.judge_line`, so the loader's verdict is always exactly jsonschema's.

Any Draft 2020-12 schema may reach it. Each keyword is either translated into a SQL condition that implies
jsonschema's verdict (TRANSLATED below), or deferred: its condition is `false`, so the lines that reach it (every
line of the event, or only those carrying an optional property, or only those relying on one `anyOf` branch) go to
jsonschema. `coverage()` lists what is deferred and why (`rolloutctl schema lint` shows it). A condition may be
stricter than the keyword (a sure bound, e.g. bytes for maxLength) but never looser; `if` is translated only where
its condition is exact (`required` and `const` properties), since it is negated.

Speed: a line is parsed once into a struct of every top-level property's raw JSON text, each property is read from
it once as a column, and each event's checks are a CASE branch on its name, so a line pays only its own event's
checks. Nested values are read with DuckDB's JSON functions on that raw text (DuckDB re-serializes it: strings as
sent, numbers as parsed; checks hold for either form).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cache

import duckdb

from .events import EventSchemas

# Keywords with a SQL translation (where the conditions in _Translator hold; else deferred, never refused).
TRANSLATED = {
    "type", "const", "enum", "properties", "required", "additionalProperties", "minProperties", "maxProperties",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
    "minLength", "maxLength", "pattern", "format",
    "items", "prefixItems", "minItems", "maxItems", "uniqueItems",
    "allOf", "anyOf", "oneOf", "$ref", "if", "then",
}
# Keywords that assert nothing (jsonschema also ignores any `x-…` keyword).
ANNOTATIONS = {"$schema", "$comment", "$defs", "title", "description", "examples", "default", "deprecated",
               "readOnly", "writeOnly"}
_BY_TYPE = {
    "string": {"minLength", "maxLength", "pattern", "format"},
    "number": {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"},
    "object": {"properties", "required", "additionalProperties", "minProperties", "maxProperties"},
    "array": {"items", "prefixItems", "minItems", "maxItems", "uniqueItems"},
}
_TYPED = set().union(*_BY_TYPE.values())
_KINDS = ("string", "number", "boolean", "null", "object", "array")
# The first character of a value's JSON text, per type (a number's is none of these).
_FIRST_CHARS = {"string": ['"'], "boolean": ["t", "f"], "null": ["n"], "object": ["{"], "array": ["["]}

# RFC 3339 date-time exactly as rfc3339-validator checks it (ASCII digits; jsonschema upper-cases first), in quotes.
_RFC3339_QUOTED = (
    r'^"[0-9]{4}-(0[1-9]|1[0-2])-[0-9]{2}[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?'
    r'([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"$'
)
# DuckDB's parser takes what JSON forbids: a trailing comma before `]` or `}`, and NaN/Infinity/inf in any case.
# An event whose checks accept some value without reading all of it (an object, an array, an unconstrained value)
# requires its line to have neither (conservatively: such text inside a string also sends the line to jsonschema).
_LENIENT_JSON = r",[ \t\r\n]*[\]}]|[:,\[][ \t\r\n]*[-+]?[NnIi]"
# A property name the SQL can quote: a struct field inside a string literal, a JSON path key.
_PLAIN_NAME = re.compile(r"[^\"'\\\x00-\x1f]+")
_LOCAL_DEF = re.compile(r"#/\$defs/([^/~%]+)")
_EXACT_DOUBLE_LIMIT = 2 ** 53


def sql_literal(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


_lit = sql_literal


def _quoted(value: str) -> str:
    return _lit('"' + value + '"')


def _and(parts: list[str]) -> str:
    if "false" in parts:
        return "false"
    parts = [p for p in parts if p != "true"]
    return "(" + " and ".join(parts or ["true"]) + ")"


def _or(parts: list[str]) -> str:
    parts = [p for p in parts if p != "false"]
    if not parts:
        return "false"
    return parts[0] if len(parts) == 1 else "(" + " or ".join(parts) + ")"


@dataclass(frozen=True)
class Deferral:
    """A part of an event's schema whose lines go to jsonschema."""

    where: str  # JSON pointer in the event's schema
    keyword: str
    reason: str


@dataclass
class EventCoverage:
    event: str
    fast: str  # "all" (no deferral), "partial" (some lines defer), "none" (every line defers)
    deferred: list[Deferral] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"event": self.event, "fast": self.fast,
                "deferred": [{"where": d.where or "/", "keyword": d.keyword, "reason": d.reason}
                             for d in self.deferred]}


def _number_literal(value) -> str | None:
    """A bound as a SQL double, when comparing DuckDB's double of the instance with it is exactly Python's comparison:
    the bound is a double below 2**53 in size, where an integer instance rounds to it only when equal."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    if float(value) != value or abs(value) >= _EXACT_DOUBLE_LIMIT:  # 2**53 + 1 rounds to 2**53
        return None
    return repr(float(value))


def _option_text(value) -> str | None:
    """The raw JSON text an instance equal to `value` certainly has on the fast path (None: no such fixed text)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return '"' + value + '"'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return repr(value) if "e" not in repr(value) else None
    return None


# --- `pattern`: a whitelist of regex syntax whose RE2 translation never matches where Python's re.search would not.
# On the fast path a string holds no escapes, hence no newline: `$` means the end in both. Escapes for character
# classes become their ASCII subset (Python's \d also takes other scripts' digits): a smaller set, outside any
# negation, can only make RE2 match less often, which sends more lines to jsonschema, never a wrong one.
_ESCAPED_CLASS = {"d": "0-9", "w": "0-9A-Za-z_", "s": " \\t\\n\\r\\f\\v"}
_META = set("\\^$.|?*+()[]{}")


class _Unsupported(Exception):
    pass


@cache
def re2_pattern(pattern: str) -> str | None:
    """An RE2 (DuckDB) pattern matching only strings that Python's `re.search(pattern, s)` matches, or None."""
    try:
        out, i = _re_alternation(pattern, 0, 0)
    except (_Unsupported, IndexError):
        return None
    if i != len(pattern):
        return None
    try:  # RE2 refuses some patterns Python takes (a program too large): then leave them to jsonschema
        _regex_probe().execute("select regexp_matches('', ?)", [out])
    except duckdb.Error:
        return None
    return out


@cache
def _regex_probe() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


def _re_alternation(p: str, i: int, depth: int) -> tuple[str, int]:
    parts = []
    while True:
        seq, i = _re_sequence(p, i, depth)
        parts.append(seq)
        if i < len(p) and p[i] == "|":
            i += 1
            continue
        return "|".join(parts), i


def _re_sequence(p: str, i: int, depth: int) -> tuple[str, int]:
    out = ""
    while i < len(p) and p[i] not in "|)":
        c = p[i]
        if c in "^$.":
            atom, i = c, i + 1
        elif c == "(":
            if p.startswith("(?:", i):
                i += 3
            elif p.startswith("(?", i):
                raise _Unsupported
            else:
                i += 1
            inner, i = _re_alternation(p, i, depth + 1)
            if p[i] != ")":
                raise _Unsupported
            atom, i = "(?:" + inner + ")", i + 1
        elif c == "[":
            atom, i = _re_class(p, i)
        elif c == "\\":
            atom, i = _re_escape(p, i, in_class=False)
        elif c in _META:
            raise _Unsupported  # a quantifier with nothing to repeat, or a stray bracket
        else:
            atom, i = _re_char(c), i + 1
        quant, i = _re_quantifier(p, i)
        if quant and atom in ("^", "$"):
            raise _Unsupported
        out += atom + quant
    if i < len(p) and p[i] == ")" and depth == 0:
        raise _Unsupported
    return out, i


def _re_quantifier(p: str, i: int) -> tuple[str, int]:
    if i >= len(p):
        return "", i
    if p[i] in "*+?":
        q, i = p[i], i + 1
    elif p[i] == "{":
        m = re.match(r"\{([0-9]{1,3})(,([0-9]{1,3})?)?\}", p[i:])
        if not m or (m.group(3) and int(m.group(3)) < int(m.group(1))):
            raise _Unsupported
        q, i = m.group(0), i + len(m.group(0))
    else:
        return "", i
    if i < len(p) and p[i] == "?":  # lazy: the same strings match
        q, i = q + "?", i + 1
    if i < len(p) and p[i] in "*+{":  # possessive or a repeated quantifier: not the same in both
        raise _Unsupported
    return q, i


def _re_char(c: str, in_class: bool = False) -> str:
    if ord(c) < 32 or ord(c) == 127:
        raise _Unsupported
    if c in (_META if not in_class else set("\\]^-[")):
        return "\\" + c
    return c


def _re_escape(p: str, i: int, in_class: bool) -> tuple[str, int]:
    c = p[i + 1]
    if c in _ESCAPED_CLASS:
        return (_ESCAPED_CLASS[c] if in_class else "[" + _ESCAPED_CLASS[c] + "]"), i + 2
    if c == " ":
        return " ", i + 2
    if c in _META or c in "-/#&~\"'!,:;<=>@`%":
        return "\\" + c, i + 2
    raise _Unsupported  # \b, \D, \1, \x…, \u…, \n …: not all of them mean the same in both


def _re_class(p: str, i: int) -> tuple[str, int]:
    i += 1
    negated = p[i] == "^"
    if negated:
        i += 1
    out = ""
    while p[i] != "]":  # (a leading `]`, literal in Python, ends the class here: refused below as empty)
        c = p[i]
        if c == "[":
            raise _Unsupported  # nested sets, POSIX classes: parsed differently
        if c == "\\":
            if negated and p[i + 1] in _ESCAPED_CLASS:
                raise _Unsupported  # the subset of a negated class is a superset
            item, i = _re_escape(p, i, in_class=True)
        elif c == "-":
            raise _Unsupported  # a bare `-` is a range or a literal depending on its place: only `\-`
        else:
            item, i = _re_char(c, in_class=True), i + 1
            if p[i] == "-":
                hi = p[i + 1]
                if not (c.isascii() and c.isalnum() and hi.isascii() and hi.isalnum() and hi >= c):
                    raise _Unsupported
                item, i = item + "-" + hi, i + 2
        out += item
        if p[i:i + 2] in ("&&", "--", "||", "~~"):
            raise _Unsupported  # set operations Python may give a meaning to
    if not out:
        raise _Unsupported
    return "[" + ("^" if negated else "") + out + "]", i + 1


# --- the translation ---------------------------------------------------------------------------------------------

class _Fields:
    """Each top-level property's raw JSON text, read once per line with `from_json` into a struct of JSON values.

    With no backslash in the line, a string's raw text is exactly `"` + its value + `"`: checks compare raw texts,
    and unquote only what they return.
    """

    def __init__(self, names: list[str]):
        self.names = names

    def raw(self, name: str) -> str:
        return f'"p_{name}"'

    def columns(self) -> str:
        """Every property's raw text as its own column, extracted from the struct once."""
        return ", ".join(f'raw."{n}"::varchar as "p_{n}"' for n in self.names)

    def text(self, name: str) -> str:
        """A string's value without its quotes (substr with length: about twice as fast as slicing [2:-2])."""
        return _text(self.raw(name))

    def struct_type(self) -> str:
        return "{" + ", ".join(f'"{n}": "JSON"' for n in self.names) + "}"


def _text(raw: str) -> str:
    return f"substr({raw}, 2, length({raw}) - 2)"


def _member(raw: str, name: str) -> str:
    return f"json_extract({raw}, {_lit('$.' + chr(34) + name + chr(34))})::varchar"


class _Translator:
    """One event's schema as SQL conditions, recording what it defers."""

    def __init__(self, event: str, schema: dict, f: _Fields, time_field: str):
        self.event, self.root, self.f, self.time_field = event, schema, f, time_field
        self.deferred: list[Deferral] = []
        self.strict = False  # some value is accepted without reading all its text: the line must be strict JSON
        self._refs: list[str] = []
        self._lambdas = 0
        self._ids = _has_id(schema)

    def defer(self, where: str, keyword: str, reason: str) -> str:
        self.deferred.append(Deferral(where, keyword, reason))
        return "false"

    # A value: `raw` is a SQL expression giving its raw JSON text (never NULL where called).
    def value(self, raw: str, schema, where: str, time: bool = False) -> str:
        if schema is True:
            self.strict = True
            return "true"
        if schema is False:
            return "false"
        unknown = sorted(k for k in schema if k not in TRANSLATED and k not in ANNOTATIONS and not k.startswith("x-"))
        if unknown:
            return self.defer(where, ", ".join(unknown), "not translated")
        if "if" in schema or "then" in schema:
            return self.defer(where, "if", "translated only at an event's top level")
        conds: list[str] = []
        if "$ref" in schema:
            conds.append(self.ref(raw, schema["$ref"], where))
        if "const" in schema or "enum" in schema:
            conds.append(self.options(raw, schema, where))
        for key in ("allOf", "anyOf", "oneOf"):
            if key in schema:
                conds.append(self.combined(raw, key, schema[key], where))
        typed = self.typed(raw, schema, where, time)
        if typed is None:
            if not conds:
                self.strict = True  # nothing asserted about it: any value
        else:
            conds += typed
        return _and(conds)

    def options(self, raw: str, schema: dict, where: str) -> str:
        options = [schema["const"]] if "const" in schema else schema["enum"]
        texts = [t for t in map(_option_text, options) if t is not None]
        if not texts:
            return self.defer(where, "const" if "const" in schema else "enum", "no option with one fixed JSON text")
        if len(texts) < len(options):
            self.deferred.append(Deferral(where, "enum", "options that are objects, arrays or exponent numbers defer"))
        return f"{raw} in ({', '.join(_lit(t) for t in texts)})"

    def combined(self, raw: str, key: str, subs: list, where: str) -> str:
        checks = [self.value(raw, s, f"{where}/{key}/{i}") for i, s in enumerate(subs)]
        if key == "allOf":
            return _and(checks)
        if key == "oneOf" and not _disjoint(subs):
            return self.defer(where, "oneOf", "branches not provably exclusive (disjoint types or string consts)")
        return _or(checks)  # anyOf, or oneOf whose branches never hold together

    def ref(self, raw: str, ref: str, where: str) -> str:
        m = _LOCAL_DEF.fullmatch(ref)
        defs = self.root.get("$defs", {})
        if not m or self._ids or m.group(1) not in defs:
            return self.defer(where, "$ref", "only #/$defs/<name> of the event's own $defs (no $id) is followed")
        name = m.group(1)
        if name in self._refs:
            return self.defer(where, "$ref", "recursive")
        self._refs.append(name)
        try:
            return self.value(raw, defs[name], f"/$defs/{name}")
        finally:
            self._refs.pop()

    def typed(self, raw: str, schema: dict, where: str, time: bool) -> list[str] | None:
        """The `type` keyword with the keywords that apply to one type (one branch per type), as conditions to AND;
        None when the schema has neither."""
        types = schema.get("type")
        keywords = set(schema) & _TYPED
        if types is None and not keywords:
            return None
        if types is None:
            # Each keyword holds for values of its type only: values of the other types pass unread.
            kinds = [k for k in _KINDS if _BY_TYPE.get(k, set()) & keywords]
            self.strict = True
            firsts = [c for k, cs in _FIRST_CHARS.items() if k in kinds for c in cs]
            if "number" in kinds:
                others = [c for k, cs in _FIRST_CHARS.items() if k not in kinds for c in cs]
                other = f"left({raw}, 1) in ({', '.join(_lit(c) for c in others)})"
            else:
                other = f"left({raw}, 1) not in ({', '.join(_lit(c) for c in firsts)})"
            return [_or([other] + [_and(self.branch(raw, k, schema, where, time)) for k in kinds])]
        types = [types] if isinstance(types, str) else list(types)
        if "integer" in types and "number" in types:
            types.remove("integer")
        branches = [self.branch(raw, t, schema, where, time) for t in types]
        if len(branches) == 1:
            return branches[0]
        return [_or([_and(b) for b in branches])]

    def kind(self, raw: str, typ: str) -> str:
        return {
            "string": f"starts_with({raw}, '\"')",
            "boolean": f"{raw} in ('true', 'false')",
            "null": f"{raw} = 'null'",
            "object": f"starts_with({raw}, '{{')",
            "array": f"starts_with({raw}, '[')",
            # Not a string, boolean, null, object or array; DuckDB's parser reads NaN/Infinity as numbers, whose
            # casts are not finite. Every other text it accepts as a number is a JSON number.
            "number": f"isfinite(try_cast({raw} as double)) and not starts_with({raw}, '\"')",
            # 1.0 or 1e2 are integers to jsonschema too, but rare: leave them to it.
            "integer": f"regexp_full_match({raw}, '-?(0|[1-9][0-9]*)')",
        }[typ]

    def branch(self, raw: str, typ: str, schema: dict, where: str, time: bool) -> list[str]:
        conds = [self.kind(raw, typ)]
        if typ == "string":
            conds += self.string(raw, schema, where, time)
        elif typ in ("number", "integer"):
            conds += self.number(raw, schema, where, typ)
        elif typ == "object":
            self.strict = True
            conds += self.object(raw, schema, where)
        elif typ == "array":
            self.strict = True
            conds += self.array(raw, schema, where)
        return conds

    def string(self, raw: str, schema: dict, where: str, time: bool) -> list[str]:
        conds = []
        # strlen counts bytes >= code points: a sure bound for maxLength; non-empty is exact for minLength 1.
        if "maxLength" in schema:
            conds.append(f"strlen({raw}) - 2 <= {int(schema['maxLength'])}")
        if "minLength" in schema:
            if schema["minLength"] > 1:
                conds.append(f"length({raw}) - 2 >= {int(schema['minLength'])}")
            elif schema["minLength"] == 1:
                conds.append(f"strlen({raw}) > 2")
        if "pattern" in schema:
            re2 = re2_pattern(schema["pattern"])
            if re2 is None:
                conds.append(self.defer(where, "pattern", "regex syntax outside the whitelist where RE2 and Python's "
                                                          "re agree"))
            else:
                conds.append(f"regexp_matches({_text(raw)}, {_lit(re2)})")
        if "format" in schema:
            if schema["format"] != "date-time":
                # jsonschema asserts other formats too (email, ipv4, ...): only date-time is translated
                conds.append(self.defer(where, "format", f"format {schema['format']!r} is not translated"))
            else:
                # The event's own time is cast once per line (event_at); any other is cast where it is checked.
                cast = "event_at is not null" if time else f"try_cast({_text(raw)} as timestamptz) is not null"
                conds.append(
                    f"{cast} and regexp_full_match({raw}, {_lit(_RFC3339_QUOTED)})"
                    f" and substr({raw}, 2, 4) <> '0000' and try_cast(substr({raw}, 2, 10) as date) is not null"
                )
        return conds

    def number(self, raw: str, schema: dict, where: str, typ: str) -> list[str]:
        conds = []
        num = f"try_cast({raw} as double)"
        for kw, op in (("minimum", ">="), ("maximum", "<="), ("exclusiveMinimum", ">"), ("exclusiveMaximum", "<")):
            if kw in schema:
                bound = _number_literal(schema[kw])
                if bound is None:
                    conds.append(self.defer(where, kw, "bound not exactly a double below 2**53"))
                else:
                    conds.append(f"{num} {op} {bound}")
        if "multipleOf" in schema:
            step = schema["multipleOf"]
            if isinstance(step, int) and abs(step) < 10 ** 37:
                # Python: int % int, exact. Only integer texts (a float's % is float arithmetic: left to it).
                conds.append(f"regexp_full_match({raw}, '-?(0|[1-9][0-9]*)')"
                             f" and try_cast({raw} as hugeint) % {step} = 0")
            elif isinstance(step, float) and _number_literal(step):
                # Python: q = x / step (IEEE double division, as DuckDB's), valid when int(q) == q; an infinite q
                # takes another road (Fraction): left to it.
                # Instances below 2**53, where DuckDB's double of an integer text is surely Python's float of it.
                q = f"({num} / {_number_literal(step)})"
                conds.append(f"abs({num}) < {_EXACT_DOUBLE_LIMIT} and isfinite({q}) and {q} = trunc({q})")
            else:
                conds.append(self.defer(where, "multipleOf", "step not exactly a double below 2**53"))
        return conds

    def object(self, raw: str, schema: dict, where: str) -> list[str]:
        keys = f"json_keys({raw})"
        conds = [f"len({keys}) = len(list_distinct({keys}))"]  # a duplicated key: jsonschema reads the last one
        props = schema.get("properties", {})
        odd = [n for n in [*props, *schema.get("required", [])] if not _PLAIN_NAME.fullmatch(n)]
        if odd:
            return [self.defer(where, "properties", f"property names {odd!r} cannot be quoted in SQL")]
        if schema.get("required"):
            conds.append(f"list_has_all({keys}, [{', '.join(_lit(r) for r in schema['required'])}])")
        for name, sub in props.items():
            member = _member(raw, name)
            check = self.value(member, sub, f"{where}/properties/{name}")
            conds.append(f"({member} is null or {check})" if check not in ("true",) else "true")
        extra = schema.get("additionalProperties", True)
        if extra is False:
            conds.append(f"list_has_all([{', '.join(_lit(p) for p in props)}]::varchar[], {keys})")
        elif extra is not True and extra != {}:
            conds.append(self.defer(where, "additionalProperties", "only true or false is translated"))
        if "minProperties" in schema:
            conds.append(f"len({keys}) >= {int(schema['minProperties'])}")
        if "maxProperties" in schema:
            conds.append(f"len({keys}) <= {int(schema['maxProperties'])}")
        return conds

    def array(self, raw: str, schema: dict, where: str) -> list[str]:
        conds = []
        n = f"json_array_length({raw})"
        if "minItems" in schema:
            conds.append(f"{n} >= {int(schema['minItems'])}")
        if "maxItems" in schema:
            conds.append(f"{n} <= {int(schema['maxItems'])}")
        if schema.get("uniqueItems"):
            conds.append(self.defer(where, "uniqueItems", "not translated (Python's equality of 1, 1.0 and true)"))
        prefix = schema.get("prefixItems", [])
        for i, sub in enumerate(prefix):
            check = self.value(f"json_extract({raw}, '$[{i}]')::varchar", sub, f"{where}/prefixItems/{i}")
            conds.append(f"({n} <= {i} or {check})")
        if "items" in schema:
            if schema["items"] is False:
                conds.append(f"{n} <= {len(prefix)}")
            else:
                self._lambdas += 1
                x = f"x{self._lambdas}"
                check = self.value(f"{x}::varchar", schema["items"], f"{where}/items")
                if check != "true":
                    items = f"json_extract({raw}, '$[*]')" + (f"[{len(prefix) + 1}:]" if prefix else "")
                    # coalesce inside: list_bool_and skips NULLs, and an unknown item must not pass
                    each = f"lambda {x}: coalesce({check}, false)"
                    conds.append(f"coalesce(list_bool_and(list_transform({items}, {each})), true)")
        return conds


def _has_id(schema) -> bool:
    if isinstance(schema, dict):
        return "$id" in schema or "$anchor" in schema or "$dynamicAnchor" in schema or any(
            _has_id(v) for k, v in schema.items() if k not in ("const", "enum"))
    if isinstance(schema, list):
        return any(_has_id(v) for v in schema)
    return False


def _disjoint(subs: list) -> bool:
    """Whether no instance can satisfy two of `subs`: each pins its type and no type is in two of them, or is a
    const or enum of strings and no string is in two of them (nor in a branch of type string)."""
    types: set[str] = set()
    strings: set[str] = set()
    for s in subs:
        if not isinstance(s, dict):
            return False
        options = [s["const"]] if "const" in s else s.get("enum")
        if "type" in s:
            named = [s["type"]] if isinstance(s["type"], str) else s["type"]
            mine = {"number" if t == "integer" else t for t in named}
            if mine & types or ("string" in mine and strings):
                return False
            types |= mine
        elif isinstance(options, list) and options and all(isinstance(o, str) for o in options):
            if set(options) & strings or "string" in types:
                return False
            strings |= set(options)
        else:
            return False
    return True


def _event_check(t: _Translator, schema: dict) -> str:
    f = t.f
    top = set(schema) - ANNOTATIONS - {"type", "properties", "required", "additionalProperties", "if", "then",
                                       "minProperties", "maxProperties"}
    top = {k for k in top if not k.startswith("x-")}
    if top:
        return t.defer("", ", ".join(sorted(top)), "not translated at an event's top level")
    typ = schema.get("type", "object")
    if typ != "object" and "object" not in typ:
        return t.defer("", "type", "an event is an object")
    props: dict = schema.get("properties", {})
    required: list[str] = schema.get("required", [])
    unreadable = sorted(p for p in props if p not in f.names)
    if unreadable:
        return t.defer("", "properties", f"property names {unreadable} cannot be read as SQL columns (quotes, "
                                         "backslashes, control characters, or the same name in other letter case)")
    closed = schema.get("additionalProperties") is False
    if_then = [*schema.get("if", {}).get("required", []), *schema.get("then", {}).get("required", [])] \
        if isinstance(schema.get("if", {}), dict) and isinstance(schema.get("then", {}), dict) else []
    if closed and any(r not in props for r in [*required, *if_then]):
        return "false"  # required but not a property: never valid with additionalProperties false
    if not closed and any(r not in props for r in if_then):
        return t.defer("", "if", "names a property it does not declare")
    must = set(required)
    if closed:
        # As many members as known properties present: no unknown key and no duplicate key. The required ones are
        # present (checked below), so only the optional ones need counting.
        optional = "".join(f" + ({f.raw(p)} is not null)::int" for p in sorted(props) if p not in must)
        conds = [f"n_keys = {len(must)}{optional}"]
    else:
        t.strict = True  # unknown members pass unread
        extra = schema.get("additionalProperties", True)
        if extra is not True and extra != {}:
            return t.defer("", "additionalProperties", "only true or false is translated")
        declared = ", ".join(_lit(p) for p in sorted(props))
        # No duplicate key, and every declared key present is read as non-null (JSON null reads as absent).
        present = " + ".join(f"({f.raw(p)} is not null)::int" for p in sorted(props)) or "0"
        conds = ["n_keys = len(list_distinct(json_keys(line)))",
                 f"len(list_intersect(json_keys(line), [{declared}]::varchar[])) = {present}"]
        undeclared = [r for r in required if r not in props]
        if undeclared:
            conds.append(f"list_has_all(json_keys(line), [{', '.join(_lit(r) for r in undeclared)}])")
    if "minProperties" in schema:
        conds.append(f"n_keys >= {int(schema['minProperties'])}")
    if "maxProperties" in schema:
        conds.append(f"n_keys <= {int(schema['maxProperties'])}")
    conds += [f"{f.raw(r)} is not null" for r in required if r in props]
    for name, sub in props.items():
        check = t.value(f.raw(name), sub, f"/properties/{name}", time=name == t.time_field)
        conds.append(check if name in must else f"({f.raw(name)} is null or {check})")
    if "if" in schema or "then" in schema:
        conds.append(_if_then(t, schema))
    if "false" in conds:
        return "false"
    return " and ".join(conds)


def _if_then(t: _Translator, schema: dict) -> str:
    """`if`/`then` where `if` holds only `required` and `const` properties: its SQL is then exact (not just
    sufficient), so negating it stays sound."""
    f = t.f
    cond, then = schema.get("if", True), schema.get("then", True)
    if "then" not in schema:
        return "true"  # an `if` alone asserts nothing
    # Only the event's own properties: their columns tell absent from present (a JSON null is counted by n_keys, or
    # by the open object's check), so `is null` means absent.
    own = set(schema.get("properties", {})) & set(f.names)
    if not isinstance(cond, dict) or set(cond) - {"properties", "required"} - ANNOTATIONS or any(
            not isinstance(s, dict) or set(s) - {"const"} or _option_text(s["const"]) is None
            or not isinstance(s["const"], (str, bool)) or n not in own
            for n, s in cond.get("properties", {}).items()) or any(r not in own for r in cond.get("required", [])):
        return t.defer("/if", "if", "translated only when it holds only `required` and string or boolean `const`s")
    if not isinstance(then, dict) or set(then) - {"properties", "required"} - ANNOTATIONS \
            or any(n not in own for n in [*then.get("properties", {}), *then.get("required", [])]):
        return t.defer("/then", "then", "translated only when it holds only `required` and `properties`")
    if_parts = [f"{f.raw(r)} is not null" for r in cond.get("required", [])]
    if_parts += [f"({f.raw(n)} is null or {t.value(f.raw(n), s, f'/if/properties/{n}')})"
                 for n, s in cond.get("properties", {}).items()]
    then_parts = [f"{f.raw(r)} is not null" for r in then.get("required", [])]
    then_parts += [f"({f.raw(n)} is null or {t.value(f.raw(n), s, f'/then/properties/{n}')})"
                   for n, s in then.get("properties", {}).items()]
    return f"(not ({' and '.join(if_parts or ['true'])}) or ({' and '.join(then_parts or ['true'])}))"


def _readable_names(schemas: EventSchemas) -> list[str]:
    """Top-level property names that become struct fields and columns: quotable, and unique in any letter case
    (DuckDB's names are case-insensitive). Of names that differ only in case, the one most events use stays (so a
    new event's `Phase` never takes `phase` from the others); the events using the others defer."""
    users: dict[str, int] = {}
    for s in schemas.by_event.values():
        for p in s.get("properties", {}):
            if _PLAIN_NAME.fullmatch(p):
                users[p] = users.get(p, 0) + 1
    kept: dict[str, str] = {}
    for name in sorted(users, key=lambda n: (-users[n], n)):
        kept.setdefault(name.lower(), name)
    return sorted(kept.values())


def _translate(schemas: EventSchemas, f: _Fields) -> dict[str, _Translator | str]:
    out = {}
    for event, schema in sorted(schemas.by_event.items()):
        t = _Translator(event, schema, f, schemas.columns[event].time_field)
        check = _event_check(t, schema)
        if t.strict and check != "false":
            check = f"not regexp_matches(line, {_lit(_LENIENT_JSON)}) and {check}"
        out[event] = (t, check)
    return out


def coverage(schemas: EventSchemas) -> list[EventCoverage]:
    """Per event, what the fast path decides and what it leaves to jsonschema."""
    f = _Fields(_readable_names(schemas))
    result = []
    for event, (t, check) in _translate(schemas, f).items():
        fast = "none" if check == "false" else ("partial" if t.deferred else "all")
        result.append(EventCoverage(event, fast, t.deferred))
    return result


def fast_path_sql(schemas: EventSchemas, relation: str) -> str:
    """A query over `relation(line_no, line)` giving, per line, `sure` (accepted without doubt) and the typed
    columns event, event_id, phase, event_at (UTC), which mean something only where `sure`."""
    events = sorted(schemas.by_event.items())
    names = _readable_names(schemas)
    f = _Fields(names)
    checks = _translate(schemas, f)

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
        if name == "event_id?":  # an event_id its schema does not type as a string: the key only when it is one
            return f"case when starts_with({f.raw('event_id')}, '\"') then {f.text('event_id')} end" \
                if "event_id" in names else "null"
        return f.text(name) if name in names else "null"  # no event has it: no column either

    def event_id_of(ev: str) -> str:
        sub = schemas.by_event[ev].get("properties", {}).get("event_id")
        return "event_id" if isinstance(sub, dict) and sub.get("type") == "string" else "event_id?"

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
    select *, try_cast({text_of(lambda ev: schemas.columns[ev].time_field)} as timestamptz) as event_at
    from fields
),
judged as (
    select
        line_no,
        line,
        is_parsed and starts_with(line, '{{')
            and coalesce({per_event(lambda ev, s: checks[ev][1])}, false) as sure,
        ({f.text('event')}) as event,
        {text_of(event_id_of)} as event_id,
        {text_of(lambda ev: schemas.columns[ev].phase_field)} as phase,
        event_at
    from timed
)
select line_no, line, sure, event, event_id, phase, case when sure then event_at end as event_at
from judged
"""
