"""Valid events built from the schema dicts, edge-case catalogs, and a JSON writer that can also write what
`json.dumps` will not (raw number tokens, NaN, duplicate keys, trailing commas)."""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from tests.support.ingest_support import MIB, SCHEMAS, time_field

NAMES = sorted(SCHEMAS)
PHASES = ["A-0", "A-1", "A-2", "B-0", "B-1"]


@dataclass(frozen=True)
class Raw:
    """A JSON token written verbatim (may be invalid JSON on purpose)."""

    text: str


@dataclass(frozen=True)
class Pairs:
    """An object as an ordered list of (key, value): allows duplicate keys."""

    items: tuple


def dump(value: Any, ascii_: bool = True, compact: bool = True) -> str:
    item_sep, key_sep = (",", ":") if compact else (", ", ": ")
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, (dict, Pairs)):
        items = value.items if isinstance(value, Pairs) else value.items()
        return "{" + item_sep.join(
            json.dumps(k, ensure_ascii=ascii_) + key_sep + dump(v, ascii_, compact) for k, v in items
        ) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + item_sep.join(dump(v, ascii_, compact) for v in value) + "]"
    return json.dumps(value, ensure_ascii=ascii_)


def encode(text: str) -> bytes:
    """UTF-8; a lone surrogate written raw becomes the (invalid) bytes it would have in CESU-8."""
    return text.encode("utf-8", "surrogatepass")


# ---------------------------------------------------------------------------------------------------------------
# Edge values. Whether each is valid is not recorded here: the reference verdict (jsonschema) decides.

DATETIMES = [
    # valid for jsonschema
    "2026-03-01T12:00:00Z", "2026-03-01t12:00:00z", "2026-03-01T12:00:00+05:30", "2026-03-01T12:00:00-05:30",
    "2026-03-01T00:00:00-00:00", "2024-02-29T23:59:59.999999Z", "2000-02-29T00:00:00Z",
    "2026-03-01T12:00:00.123456789012Z", "2026-03-01T12:00:00.1Z", "2026-03-01T12:00:00.9999999+05:30",
    "2026-03-01T12:00:00.000000000000000000001Z", "0001-01-01T00:00:00Z", "0001-01-01T00:30:00+01:00",
    "0001-01-01t00:30:00+01:00", "9999-12-31T23:59:59-01:00", "9999-12-31t23:59:59.5-01:00",
    "2026-03-01T12:00:00+23:59", "2026-03-01T12:00:00Z\n", "2026-12-31T23:59:59.5-12:00",
    # invalid
    "2023-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "2026-02-30T00:00:00Z", "2026-04-31T00:00:00Z",
    "0000-01-01T00:00:00Z", "0000-12-31T23:00:00-01:00", "2026-03-01T12:00:60Z", "2016-12-31T23:59:60Z",
    "2026-03-01T24:00:00Z", "2026-03-01T12:60:00Z", "2026-13-01T12:00:00Z", "2026-00-01T12:00:00Z",
    "2026-03-00T12:00:00Z", "2026-03-01T12:00:00", "2026-03-01T12:00:00+0530", "2026-03-01T12:00:00+05",
    "2026-03-01T12:00:00+24:00", "2026-03-01T12:00:00+05:60", "2026-03-01 12:00:00Z", "2026-03-01T12:00Z",
    "2026-03-01T12:00:00.Z", "\uff12\uff10\uff12\uff16-03-01T12:00:00Z", "\u0662\u0660\u0662\u0666-03-01T12:00:00Z",
    "2026-03-01T12:00:0\u0661Z", "2026-03-01T12:00:00Z ", " 2026-03-01T12:00:00Z", "2026-3-1T12:00:00Z",
    "26-03-01T12:00:00Z", "20260301T120000Z", "", "2026-03-01", "2026-03-01T12:00:00Z\n\n",
    "2026-03-01T12:00:00\nZ", "\n2026-03-01T12:00:00Z", "+2026-03-01T12:00:00Z", "2026-03-01T12:00:00+05:30x",
    "2026-03-01T12:00:00UTC", "2026-03-01T12:00:00\u200bZ", "2026-03-01T12:00:00.123,5Z",
    1767225600, None, True,
]

# Number tokens as written on the line.
NUMBER_TOKENS = [
    "0", "-0", "0.0", "-0.0", "5", "-5", "0.5", "-0.5", "1", "1.0", "1e2", "1E+2", "1e-2", "-1e-400", "1e-400",
    "1e400", "-1e400", "1.7976931348623157e308", "5e-324", "1.0000000000000001", "1.000000000000001",
    "100000000000000000000000", "-100000000000000000000000", "18446744073709551615", "18446744073709551616",
    "9223372036854775807", "-9223372036854775808", "-9223372036854775809", "2.5", "1.5",
    "NaN", "Infinity", "-Infinity", "+1", "01", ".5", "1.", "0x10", "1e", "--1", "-", "1_000",
]

WRONG_TYPES = [True, False, "12", "1.5", 12, 1.5, None, [], {}, [1, 2], {"a": {"b": [1]}}, "", "x" * 3000,
               ["2026-03-01T12:00:00Z"], Raw("[" * 40 + "]" * 40)]

STRINGS = [
    "ok", "日本語のテキスト", "\u00e9t\u00e9", "emoji \U0001f600", "\u2028line\u2029sep", "quote \" and \\ backslash",
    "tab\tnew\nline", "nul\u0000byte", "\u0001ctl", "a" * 5000, "\ud800", "lone \udc00 low", "\ud83d\ude00",
    " ", "../../etc/passwd", "\ufffd", "\ufeffbom",
]

# One id with a lone surrogate only, and no literal U+FFFD id: the loader stores such ids with U+FFFD in place of
# the surrogate, so distinct ones collide (a known limitation, see test_behaviour.py).
EVENT_IDS = ["a" * 128, "a" * 129, "é" * 128, "é" * 129, "日" * 128, "", "\ud800", "dup-1", "dup-2",
             "\U0001f600" * 64, "\U0001f600" * 65, "\ud83d\ude00"]

NOT_OBJECTS = ["[]", "[1, 2]", '"text"', "42", "-1.5", "null", "true", "false", '""', "{", "}", "[", '{"event"}',
               "{'event': 'app.session.ended'}", "NaN", "Infinity", "{} {}", "{}", "{}, {}", "\u00a0{}", "\f{}",
               "{}\v", "\ufeff{}", "// c", "{} // comment", "{\"a\":1,}", "[1,]"]

WHITESPACE = ["", " ", "\t", "  \t ", "\r", " \r"]


# ---------------------------------------------------------------------------------------------------------------
# Valid events, from the schema dicts.

def _datetime(draw) -> str:
    year = draw(st.sampled_from([1, 1970, 2000, 2024, 2026, 2026, 2026, 9999]))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30,
                                   31, 31, 30, 31, 30, 31][month - 1]))
    h, mi, s = draw(st.integers(0, 23)), draw(st.integers(0, 59)), draw(st.integers(0, 59))
    frac = draw(st.sampled_from(["", ".1", ".123", ".123456", ".1234567", ".000000001", ".999999999999"]))
    sep = draw(st.sampled_from("TTTTTTTt"))  # mostly what the fast path can vouch for, sometimes not
    if draw(st.booleans()):
        offset = draw(st.sampled_from("ZZZZZZZz"))
    else:
        offset = f"{draw(st.sampled_from('+-'))}{draw(st.integers(0, 23)):02d}:{draw(st.integers(0, 59)):02d}"
    return f"{year:04d}-{month:02d}-{day:02d}{sep}{h:02d}:{mi:02d}:{s:02d}{frac}{offset}"


# Mostly plain text (no escapes needed: the fast path's ground), sometimes any character at all.
_PLAIN = st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_.:/éß日本😀")
_ANY = st.characters(codec="utf-8", exclude_categories=("Cs",))


def _text(min_size: int = 1, max_size: int = 12):
    plain = st.text(_PLAIN, min_size=min_size, max_size=max_size)
    return st.one_of(plain, plain, plain, st.text(_ANY, min_size=min_size, max_size=max_size))


def _value(draw, name: str, sub: dict) -> Any:
    if "const" in sub:
        return sub["const"]
    if "enum" in sub:
        return draw(st.sampled_from(sub["enum"]))
    typ = sub.get("type")
    if typ == "string" and sub.get("format") == "date-time":
        return _datetime(draw)
    if typ == "string":
        if name == "event_id":
            return draw(st.one_of(st.sampled_from(["id-1", "id-2", "id-\u00e9", "id-3"]), _text()))
        low = sub.get("minLength", 0)
        return draw(_text(low))
    if typ == "boolean":
        return draw(st.booleans())
    if typ == "integer":
        return draw(st.integers(sub.get("minimum", 0), 10**12))
    if typ == "number":
        low, high = sub.get("minimum"), sub.get("maximum")
        if high is not None:
            return draw(st.one_of(st.floats(low, high), st.sampled_from([low, high])))
        return draw(st.one_of(st.integers(low, 10**9), st.floats(low, 1e12)))
    raise AssertionError(f"no generator for {name}: {sub}")


@st.composite
def valid_events(draw, name: str | None = None) -> dict:
    name = name or draw(st.sampled_from(NAMES))
    schema = SCHEMAS[name]
    obj = {}
    for prop, sub in schema["properties"].items():
        if prop in schema["required"] or draw(st.booleans()):
            obj[prop] = _value(draw, prop, sub)
    _apply_if_then(schema, obj)
    keys = list(obj)
    order = draw(st.permutations(keys))
    return {k: obj[k] for k in order}


def _apply_if_then(schema: dict, obj: dict) -> None:
    """Make a generated object satisfy `then` when it meets `if` (only `const`s occur there)."""
    cond, then = schema.get("if"), schema.get("then", {})
    if not cond:
        return
    met = all(k in obj for k in cond.get("required", [])) and all(
        k not in obj or obj[k] == s["const"] for k, s in cond.get("properties", {}).items()
    )
    if met:
        for key in then.get("required", []):
            obj[key] = then["properties"][key]["const"]


# ---------------------------------------------------------------------------------------------------------------
# Mutations: each takes the valid object and returns something to write (a value for `dump`, or bytes).

def _props_of(obj: dict, kind: str | None = None, fmt: str | None = None) -> list[str]:
    schema = SCHEMAS[obj["event"]]["properties"]
    return [p for p in obj if p in schema and (kind is None or schema[p].get("type") == kind)
            and (fmt is None or schema[p].get("format") == fmt)]


@st.composite
def mutated(draw, obj: dict) -> Any:
    """A line value for `dump` (dict / Pairs / Raw) or final bytes."""
    kind = draw(st.sampled_from([
        "none", "none", "none", "drop_required", "add_unknown", "wrong_type", "number_token", "integer_token",
        "bad_enum", "datetime", "datetime", "event_id", "string", "constant", "trailing_comma", "duplicate_key",
        "nested", "not_object", "envelope", "bad_bytes", "oversize", "out_of_range", "out_of_range", "boundary",
        "if_then",
    ]))
    obj = dict(obj)
    schema = SCHEMAS[obj["event"]]
    numeric = [p for p in obj if schema["properties"].get(p, {}).get("type") in ("number", "integer")]
    if kind in ("out_of_range", "boundary") and numeric:
        prop = draw(st.sampled_from(numeric))
        sub = schema["properties"][prop]
        low, high = sub.get("minimum"), sub.get("maximum")
        if kind == "out_of_range":
            choices = [st.integers(max_value=low - 1), st.floats(max_value=low, exclude_max=True)]
            if high is not None:
                choices += [st.integers(min_value=int(high) + 1), st.floats(min_value=high, exclude_min=True)]
            obj[prop] = draw(st.one_of(*choices).filter(lambda v: v == v and abs(v) != float("inf")))
        else:
            edges = [low, low - 1, float(low), low - 5e-324, low + 5e-324]
            if high is not None:
                edges += [high, float(high), high + 1e-16, high + 2.3e-16, high - 1e-16]
            obj[prop] = draw(st.sampled_from(edges))
    elif kind == "if_then" and schema.get("if"):
        obj["success"] = False
        variant = draw(st.sampled_from(["drop", True, False, "false", None]))
        if variant == "drop":
            obj.pop("retryable", None)
        else:
            obj["retryable"] = variant
    elif kind == "drop_required":
        del obj[draw(st.sampled_from(schema["required"]))]
    elif kind == "add_unknown":
        key = draw(st.sampled_from(["extra", "Event", "ts ", "payload", "é", "a.b", "", "$.ts", "x\"y"]))
        obj[key] = draw(st.sampled_from([1, "v", None, True, {}]))
    elif kind == "wrong_type":
        obj[draw(st.sampled_from(sorted(obj)))] = draw(st.sampled_from(WRONG_TYPES))
    elif kind == "number_token":
        props = _props_of(obj, "number") or _props_of(obj, "integer") or sorted(obj)
        obj[draw(st.sampled_from(props))] = Raw(draw(st.sampled_from(NUMBER_TOKENS)))
    elif kind == "integer_token":
        props = _props_of(obj, "integer") or _props_of(obj, "number") or sorted(obj)
        obj[draw(st.sampled_from(props))] = Raw(draw(st.sampled_from(
            ["1.0", "1e2", "1E2", "2.5", "-1", "0", "-0", "0.0", "1e-400", "100000000000000000000000", "1.0e0"])))
    elif kind == "bad_enum":
        props = schema["properties"]
        enums = [p for p in obj if "enum" in props.get(p, {}) or "const" in props.get(p, {})]
        prop = draw(st.sampled_from(enums))
        allowed = schema["properties"][prop].get("enum") or [schema["properties"][prop]["const"]]
        value = allowed[0]
        obj[prop] = draw(st.sampled_from([value.lower(), value.upper(), f" {value}", f"{value} ", "", None, 0,
                                          "C-9", "merge", "autosave", "sev0", "pass ", [value]]))
    elif kind == "datetime":
        obj[time_field(obj["event"])] = draw(st.sampled_from(DATETIMES))
    elif kind == "event_id":
        obj["event_id"] = draw(st.sampled_from(EVENT_IDS))
    elif kind == "string":
        props = [p for p in _props_of(obj, "string") if p != "event_id"] or [time_field(obj["event"])]
        obj[draw(st.sampled_from(props))] = draw(st.sampled_from(STRINGS))
    elif kind == "constant":
        obj[draw(st.sampled_from(sorted(obj)))] = Raw(draw(st.sampled_from(["NaN", "Infinity", "-Infinity"])))
    elif kind == "trailing_comma":
        where = draw(st.sampled_from(["end", "array"]))
        if where == "array":
            obj[draw(st.sampled_from(sorted(obj)))] = Raw("[1,2,]")
        else:
            return Raw(dump(obj)[:-1] + ",}")
    elif kind == "duplicate_key":
        key = draw(st.sampled_from(sorted(obj)))
        other = draw(st.sampled_from([obj[key], None, "x", 1, True]))
        items = list(obj.items())
        # before the original (which then wins: json.loads keeps the last) or after it (the duplicate wins)
        items.insert(draw(st.integers(0, len(items))), (key, other))
        return Pairs(tuple(items))
    elif kind == "nested":
        obj[draw(st.sampled_from(sorted(obj)))] = draw(st.sampled_from(
            [{"event": obj["event"]}, [dict(obj)], Raw("[" * 60 + "]" * 60), {"a": [1, {"b": None}]}]))
    elif kind == "not_object":
        return Raw(draw(st.sampled_from(NOT_OBJECTS)))
    elif kind == "envelope":
        variant = draw(st.sampled_from(["missing", 1, None, "unknown.event", "App.Session.Ended", "", "list"]))
        if variant == "missing":
            del obj["event"]
        elif variant == "list":
            obj["event"] = [obj["event"]]
        else:
            obj["event"] = variant
    elif kind == "bad_bytes":
        text = encode(dump(obj))
        bad = draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xc0\xaf", b"\xe2\x82", b"\x80"]))
        if draw(st.booleans()):
            return b"\xef\xbb\xbf" + text  # a UTF-8 byte order mark: valid UTF-8, not valid JSON
        cut = text.index(b'"', 2)  # inside the first key
        return text[:cut] + bad + text[cut:]
    elif kind == "oversize":
        text = encode(dump(obj))
        size = MIB + draw(st.sampled_from([0, 1]))
        return text + b" " * (size - len(text))
    return obj


@st.composite
def file_lines(draw, max_lines: int = 24) -> tuple[bytes, int]:
    """A JSONL file's bytes and how many lines it holds (incl. blank ones)."""
    n = draw(st.integers(1, max_lines))
    lines: list[bytes] = []
    for _ in range(n):
        roll = draw(st.integers(0, 19))
        if roll == 0:
            lines.append(encode(draw(st.sampled_from(WHITESPACE))))  # blank
            continue
        if roll == 1 and lines:
            lines.append(draw(st.sampled_from(lines)))  # the same line again
            continue
        value = draw(mutated(draw(valid_events())))
        if isinstance(value, bytes):
            lines.append(value)
            continue
        text = dump(value, ascii_=draw(st.sampled_from([False, False, True])), compact=draw(st.booleans()))
        pad = draw(st.sampled_from(["", "", "", "", "", " ", "\t"]))
        lines.append(encode(pad + text + draw(st.sampled_from(WHITESPACE))))
    data = b"".join(line + draw(st.sampled_from([b"\n", b"\n", b"\r\n"])) for line in lines)
    if draw(st.integers(0, 4)) == 0:
        data += encode(dump(draw(valid_events())))  # an unterminated last line
    return data, n


# ---------------------------------------------------------------------------------------------------------------
# A plain random generator (no hypothesis) for the mixed-file tests: valid by construction.

def random_valid_event(rng: random.Random, name: str | None = None, event_id: str | None = None) -> dict:
    name = name or rng.choice(NAMES)
    schema = SCHEMAS[name]
    obj: dict[str, Any] = {}
    for prop, sub in schema["properties"].items():
        if prop == "event_id":
            continue
        if prop not in schema["required"] and rng.random() < 0.5:
            continue
        if "const" in sub:
            obj[prop] = sub["const"]
        elif "enum" in sub:
            obj[prop] = rng.choice(sub["enum"])
        elif sub.get("format") == "date-time":
            obj[prop] = (f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:"
                         f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.{rng.randint(0, 999):03d}"
                         + rng.choice(["Z", "+05:30", "-08:00"]))
        elif sub.get("type") == "string":
            obj[prop] = rng.choice(["x", "lease-7", "réseau", "日本", "a b"]) + str(rng.randint(0, 99))
        elif sub.get("type") == "boolean":
            obj[prop] = rng.random() < 0.5
        elif sub.get("type") == "integer":
            obj[prop] = rng.randint(sub.get("minimum", 0), 10_000)
        elif sub.get("type") == "number":
            obj[prop] = round(rng.uniform(sub.get("minimum", 0), sub.get("maximum", 5000)), 3)
    _apply_if_then(schema, obj)
    if event_id is not None:
        obj["event_id"] = event_id
    return obj


def surely_invalid(rng: random.Random) -> bytes:
    """A line that violates the contract in a way chosen at random (each kind is invalid by construction)."""
    obj = random_valid_event(rng)
    kind = rng.randrange(9)
    if kind == 0:
        return b'{"event": "app.session.ended", '  # not JSON
    if kind == 1:
        return rng.choice([b"[1, 2]", b'"s"', b"3", b"null"])  # not an object
    if kind == 2:
        del obj[rng.choice([k for k in SCHEMAS[obj["event"]]["required"]])]
    elif kind == 3:
        obj["unexpected"] = 1
    elif kind == 4:
        obj[time_field(obj["event"])] = "2026-02-30T00:00:00Z"
    elif kind == 5:
        obj["event"] = "nope.event"
    elif kind == 6:
        obj[rng.choice(list(obj))] = Raw("NaN")
    elif kind == 7:
        obj["event_id"] = "i" * 129
    else:
        return dump(obj).encode()[:-1] + b",}"  # trailing comma
    return encode(dump(obj))
