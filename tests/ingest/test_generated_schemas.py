"""The loader's verdict equals jsonschema's for any event schema, not only ours (issue 15).

Hypothesis writes event schemas from every keyword the fast path translates (and some it defers), nested in objects,
arrays, `$ref`s and `anyOf`/`oneOf`/`allOf`, and lines that nearly satisfy them (written raw or \\u-escaped, with
duplicate keys, trailing commas and NaN that DuckDB's parser would take). For every line: when the fast path is sure,
jsonschema accepts it; and the final verdict (sure, else `judge_line`) is jsonschema's, computed here directly.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

import duckdb
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from ingest.events import judge_line, load_schemas
from ingest.fastpath import coverage, fast_path_sql, re2_pattern
from tests.support.event_lines import Pairs, Raw, dump
from tests.support.ingest_support import strict_loads
from tests.support.tiers import sized

EVENT = "gen.thing.happened"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
NAMES = ["a", "b", "c.d", "e f", "é"]
PATTERNS = ["^[0-9]+\\.[0-9]+$", "ab", "^a*$", "[a-c]{2}", "^(?:x|yz)+$", "\\d", "^\\w+$", "é.", "^[^a]", "b$",
            "a{2,3}", "^.$", "\\bx", "(?i)a", "^a\\Z", "[[:alpha:]]", "\\D", "a(?=b)", "[^\\d]", "^\\s*$", "\\.",
            "^[a-]$", "x{,2}"]
STRINGS = ["", "a", "ab", "abc", "aa", "1.2", "12", "x", "yzx", "é", "éa", "b", " ", "a b", "٣", "ab1",
           "2026-03-01T12:00:00Z", "2026-02-30T12:00:00Z", "2026-03-01t12:00:00z", "a" * 30, "-", "[a]", "A"]
NUMBERS = [0, 1, -1, 2, 3, 7, 512, 0.5, 0.125, 0.1, 0.3, 1.5, 2.0, -0.0, 1e20, 2 ** 53, 2 ** 53 + 1, 10 ** 30,
           5e-324, 1e300, 3.0000000000000004]
BOUNDS = [0, 1, -1, 2, 0.5, 1.5, 10, 2 ** 53, 2 ** 53 + 1, 1e20, 0.1]
STEPS = [1, 2, 3, 512, 0.5, 0.125, 0.1, 0.01, 1.5, 10 ** 40]
CONSTS = ["a", "b", "", "x y", 1, 0, 1.0, 1.5, True, False, None, [1], {"a": 1}, 1e300]

def _leaf(rng: random.Random):
    kind = rng.choice(["string", "number", "integer", "const", "enum", "bool", "null", "untyped", "types", "true",
                       "false", "deferred"])
    s: dict = {}
    if kind in ("string", "number", "integer", "untyped", "types"):
        if kind == "types":
            s["type"] = rng.sample(["string", "number", "integer", "null", "boolean"], rng.randint(1, 3))
        elif kind != "untyped":
            s["type"] = kind
        if kind in ("string", "untyped", "types"):
            for kw, values in (("minLength", [0, 1, 2, 3]), ("maxLength", [0, 1, 3, 5]), ("pattern", PATTERNS)):
                if rng.random() < 0.4:
                    s[kw] = rng.choice(values)
            if rng.random() < 0.15:
                s["format"] = rng.choice(["date-time", "email"])
        if kind in ("number", "integer", "untyped", "types"):
            for kw in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
                if rng.random() < 0.25:
                    s[kw] = rng.choice(BOUNDS)
            if rng.random() < 0.4:
                s["multipleOf"] = rng.choice(STEPS)
    elif kind == "const":
        s["const"] = rng.choice(CONSTS)
    elif kind == "enum":
        s["enum"] = rng.sample(CONSTS, rng.randint(1, 4))
    elif kind == "bool":
        s["type"] = "boolean"
    elif kind == "null":
        s["type"] = "null"
    elif kind == "true":
        return rng.choice([True, {}])
    elif kind == "false":
        return rng.choice([False, {"not": {}}])
    else:
        s = rng.choice([{"not": {"type": "string"}}, {"type": "array", "contains": {"const": 1}},
                        {"type": "object", "dependentRequired": {"a": ["b"]}}, {"type": "array", "uniqueItems": True},
                        {"type": "string", "format": "ipv4"}, {"patternProperties": {"^a": {"type": "integer"}}}])
    return s


def random_schema(rng: random.Random, depth: int, refs: bool = True):
    kind = rng.choice(["leaf", "leaf", "object", "array", "anyOf", "oneOf", "allOf"] + (["ref"] if refs else []))
    if depth == 0 or kind == "leaf":
        return _leaf(rng)
    if kind == "object":
        props = {n: random_schema(rng, depth - 1, refs) for n in rng.sample(NAMES, rng.randint(0, 3))}
        s: dict = {"type": "object", "properties": props}
        if rng.random() < 0.5:
            s["required"] = rng.sample(sorted(props) + ["zz"], rng.randint(0, min(2, len(props) + 1)))
        if rng.random() < 0.5:
            s["additionalProperties"] = rng.choice([False, True, {"type": "integer"}])
        if rng.random() < 0.25:
            s[rng.choice(["minProperties", "maxProperties"])] = rng.randint(0, 2)
        if rng.random() < 0.2:
            del s["type"]
        return s
    if kind == "array":
        s = {"type": "array"}
        if rng.random() < 0.7:
            s["items"] = random_schema(rng, depth - 1, refs)
        if rng.random() < 0.3:
            s["prefixItems"] = [random_schema(rng, depth - 1, refs) for _ in range(rng.randint(1, 2))]
        for kw, values in (("minItems", [0, 1, 2]), ("maxItems", [0, 1, 2, 3])):
            if rng.random() < 0.4:
                s[kw] = rng.choice(values)
        return s
    if kind == "ref":
        return {"$ref": "#/$defs/shared"}
    return {kind: [random_schema(rng, depth - 1, refs) for _ in range(rng.randint(1, 3))]}


def random_value(rng: random.Random, schema, depth: int = 2):
    """A value near `schema`: its consts, numbers around its bounds, strings, objects of its property names."""
    pool: list = [rng.choice(STRINGS), rng.choice(NUMBERS), rng.choice([True, False, None])]
    subs: list = []
    names = ["zz"]
    if isinstance(schema, dict):
        if "const" in schema:
            pool += [schema["const"]] * 3
        if "enum" in schema:
            pool += [rng.choice(schema["enum"])] * 3
        for kw in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"):
            if kw in schema:
                b = schema[kw]
                pool += [rng.choice([b, b * 2, b * 3, -b, b + 1, b - 1, b / 2, b * 7])] * 2
        if schema.get("type") == "integer" or "multipleOf" in schema:
            pool.append(rng.randint(-10 ** 6, 10 ** 6))
        subs = [*schema.get("properties", {}).values(), schema.get("items", True), *schema.get("prefixItems", []),
                *schema.get("anyOf", []), *schema.get("oneOf", []), *schema.get("allOf", [])]
        names += list(schema.get("properties", {})) + list(schema.get("required", []))
        for key in ("anyOf", "oneOf", "allOf"):
            if key in schema:
                pool.append(random_value(rng, rng.choice(schema[key]), depth))
    if depth > 0:
        child = (lambda: random_value(rng, rng.choice(subs), depth - 1)) if subs else \
            (lambda: random_value(rng, True, depth - 1))
        pool.append([child() for _ in range(rng.randint(0, 4))])
        pool.append({rng.choice(names): child() for _ in range(rng.randint(0, 4))})
        if isinstance(schema, dict) and schema.get("properties"):
            pool += [{n: random_value(rng, s, depth - 1) for n, s in schema["properties"].items()
                      if rng.random() < 0.8}] * 3
        if isinstance(schema, dict) and "items" in schema:
            pool += [[random_value(rng, schema["items"], depth - 1) for _ in range(rng.randint(0, 4))]] * 3
    return rng.choice(pool)


def random_case(seed: int) -> tuple[dict, list[bytes]]:
    rng = random.Random(seed)
    x, y = random_schema(rng, 2), random_schema(rng, 1)
    y_name = rng.choice(["y", "y", "c.d", "e f", "é", "Phase"])  # top-level names SQL must quote, or clash in case
    event = {"$schema": DRAFT, "type": "object",
             "properties": {"event": {"const": EVENT}, "ts": {"type": "string", "format": "date-time"},
                            "phase": {"enum": ["A-0", "B-1"]}, "x": x, y_name: y},
             "required": ["event", "ts", "phase"] + rng.choice([[], ["x"], ["x", y_name]]),
             # (a $ref to itself would recurse in jsonschema too)
             "$defs": {"shared": random_schema(rng, 1, refs=False)}}
    if rng.random() < 0.5:
        event["additionalProperties"] = False
    if rng.random() < 0.2:  # the shipped form of `if`/`then` (and, open or closed, its names' presence)
        event["if"] = {"properties": {"x": {"const": rng.choice(["a", True, False])}}, "required": ["x"]}
        event["then"] = rng.choice([{"required": [y_name]}, {"properties": {y_name: {"const": False}}},
                                    {"properties": {"zz": {"const": 1}}}])
    lines = []
    for _ in range(rng.randint(8, 20)):
        obj = {"event": EVENT, "ts": "2026-03-01T12:00:00Z", "phase": "A-0"}
        if rng.random() < 0.85:
            obj["x"] = random_value(rng, x)
        if rng.random() < 0.5:
            obj[y_name] = random_value(rng, y)
        if rng.random() < 0.1:
            obj["zz"] = 1
        text = dump(obj, ascii_=rng.random() < 0.5, compact=rng.random() < 0.5)
        twist = rng.randint(0, 12)
        if twist == 0 and "x" in obj:
            text = dump(Pairs((*obj.items(), ("x", random_value(rng, x)))))  # a duplicate key: the last counts
        elif twist == 1:
            text = text.replace("]", ",]", 1)  # a trailing comma DuckDB's parser takes
        elif twist == 2:
            text = text.replace(":[", ":[NaN,", 1).replace(": [", ": [Infinity, ", 1)
        elif twist == 3 and "x" in obj:
            text = dump({**obj, "x": Raw(rng.choice(["1.0", "1e2", "-0", "1E400", "2.50", "0.0", "[1.0]"]))})
        lines.append(text.encode("utf-8", "surrogatepass"))
    return event, lines


def _jsonschema_says(raw: bytes, validator: Draft202012Validator) -> bool:
    try:
        obj = strict_loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False
    try:
        return isinstance(obj, dict) and obj.get("event") == EVENT and validator.is_valid(obj)
    except (ArithmeticError, ValueError):  # jsonschema fails (multipleOf on 1e400, read as infinity): not valid
        return False


def check(base: Path, event_schema: dict, lines: list[bytes]) -> tuple[int, int]:
    folder = base / "schemas"
    folder.mkdir(parents=True)
    (folder / "gen.json").write_text(json.dumps({"$schema": DRAFT, "$defs": {EVENT: event_schema}}))
    schemas = load_schemas(folder)
    coverage(schemas)  # the report runs on any schema
    validator = Draft202012Validator(event_schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    con = duckdb.connect()
    con.register("gen_lines", pa.table({"line_no": list(range(len(lines))), "line": [x.decode() for x in lines]}))
    sure = dict(con.execute(f"select line_no, sure from ({fast_path_sql(schemas, 'gen_lines')})").fetchall())
    n_sure = n_valid = 0
    for i, raw in enumerate(lines):
        expected = _jsonschema_says(raw, validator)
        n_sure, n_valid = n_sure + bool(sure[i]), n_valid + expected
        if sure[i]:
            assert expected, f"fast path sure on a line jsonschema rejects:\n{raw!r}\n{json.dumps(event_schema)}"
        assert (sure[i] or judge_line(raw, schemas).ok) == expected, raw
    return n_sure, n_valid, len(lines)


@settings(max_examples=sized(150, 600), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
                                 HealthCheck.filter_too_much])
@given(seed=st.integers(0, 2 ** 32))
def test_verdict_equals_jsonschema_on_generated_schemas(seed, tmp_path_factory):
    # A seed drives a plain random generator (fast, and the failure message holds the schema and the line).
    check(tmp_path_factory.mktemp("gen"), *random_case(seed))


def test_generated_schemas_reach_both_paths(tmp_path):
    """The generator is not vacuous: over fixed seeds, the fast path is sure of many lines, and jsonschema rejects
    many."""
    sure = valid = total = 0
    for seed in range(sized(150, 400)):
        s, v, t = check(tmp_path / str(seed), *random_case(seed))
        sure, valid, total = sure + s, valid + v, total + t
    assert valid > total // 10 and sure > valid // 3 and total - valid > total // 2, (sure, valid, total)


def test_re2_whitelist():
    assert re2_pattern("^[0-9]+\\.[0-9]+$") == "^[0-9]+\\.[0-9]+$"
    assert re2_pattern("\\d") == "[0-9]"  # a subset of Python's Unicode \\d: RE2 matches less, never more
    for refused in ["\\bx", "(?i)a", "a\\Z", "[[:alpha:]]", "\\D", "a(?=b)", "[^\\d]", "x{,2}", "[a-]", "(a)\\1"]:
        assert re2_pattern(refused) is None, refused
