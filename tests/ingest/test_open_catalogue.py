"""Issue 15's "done when": a new event in a new schema file, with keywords the shipped schemas do not use (pattern, a
nested object, an array with items/maxItems, multipleOf, and uniqueItems / dependentRequired, which the fast path does
not translate), and no code change: `schema lint` passes, and `ingest --json` (both sinks) and `collect` count
loaded / rejected exactly as jsonschema judges each line.

The oracle is jsonschema itself on the schema written here (strict JSON, the envelope of every event in force, then
Draft202012Validator with date-time asserted), independent of ingest.events.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

import duckdb
import pyarrow as pa
from jsonschema import Draft202012Validator

from tests.support.ingest_support import SCHEMAS, cli, ingest_json, is_blank, rows, strict_loads

EVENT = "autosave.conflict.detected"
CONFLICT_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$defs": {
        EVENT: {
            "type": "object",
            "description": "Two saves of one document collided.",
            "properties": {
                "event": {"const": EVENT},
                "event_id": {"type": "string", "minLength": 1, "maxLength": 128},
                "ts": {"type": "string", "format": "date-time"},
                "phase": {"enum": ["A-1", "A-2", "B-0", "B-1"]},
                "app_version": {"type": "string", "pattern": "^[0-9]+\\.[0-9]+\\.[0-9]+(-[a-z]+)?$"},
                "device": {"$ref": "#/$defs/device"},
                "retry_delays_ms": {"type": "array", "items": {"type": "integer", "minimum": 0}, "maxItems": 4},
                "overlap_ratio": {"type": "number", "minimum": 0, "maximum": 1, "multipleOf": 0.125},
                "chunk_bytes": {"type": "integer", "multipleOf": 512},
                "resolution": {"oneOf": [{"const": "mine"}, {"const": "theirs"}, {"const": "merged"}]},
                "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
                "note": {"type": ["string", "null"], "maxLength": 40},
            },
            "required": ["event", "ts", "phase", "app_version", "device", "retry_delays_ms"],
            "additionalProperties": False,
            "dependentRequired": {"resolution": ["overlap_ratio"]},
            "$defs": {
                "device": {
                    "type": "object",
                    "properties": {"os": {"enum": ["linux", "macos", "windows"]},
                                   "model": {"type": "string", "minLength": 2, "maxLength": 20}},
                    "required": ["os"],
                    "additionalProperties": False,
                },
            },
        },
    },
}
# The same event without the top-level dependentRequired: most of its lines are decided on the fast path.
FAST_SCHEMA = json.loads(json.dumps(CONFLICT_SCHEMA))
del FAST_SCHEMA["$defs"][EVENT]["dependentRequired"]


def _validators(event_schema: dict) -> dict:
    checker = Draft202012Validator.FORMAT_CHECKER
    out = {name: Draft202012Validator(s, format_checker=checker) for name, s in SCHEMAS.items()}
    out[EVENT] = Draft202012Validator(event_schema, format_checker=checker)
    return out


def jsonschema_says(raw: bytes, validators: dict) -> bool:
    try:
        obj = strict_loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return False
    if not isinstance(obj, dict) or obj.get("event") not in validators:
        return False
    return validators[obj["event"]].is_valid(obj)


def conflict_lines(rng: random.Random, n: int) -> list[bytes]:
    """Valid conflicts and near misses of every new keyword, some with an event_id, mixed with a shipped event."""
    out = []

    def pick(valid: list, invalid: list):
        return rng.choice(valid if rng.random() < 0.88 else invalid)

    for i in range(n):
        obj = {"event": EVENT, "ts": f"2026-03-0{rng.randint(1, 9)}T{rng.randint(10, 23)}:00:00Z",
               "phase": pick(["A-1", "A-2", "B-0", "B-1"], ["A-0"]),
               "app_version": pick(["1.2.3", "10.0.1-beta"], ["1.2", "v1.2.3", "1.2.3-RC", "1.2.3.4", "é.1.1"]),
               "device": pick([{"os": "linux"}, {"os": "macos", "model": "mbp"}],
                              [{"os": "bsd"}, {"os": "linux", "model": "x"}, {"model": "pixel"},
                               {"os": "windows", "x": 1}, {"os": "linux", "model": "a" * 21}, "linux"]),
               "retry_delays_ms": pick([[], [0, 10], [1, 2, 3, 4], [1.0]],
                                       [[1, 2, 3, 4, 5], [-1], [1.5], ["1"], [None]])}
        if rng.random() < 0.5:
            obj["overlap_ratio"] = pick([0, 0.125, 0.5, 1], [0.1, 0.3, 1.25, -0.125, True, "0.5"])
        if rng.random() < 0.4:
            obj["chunk_bytes"] = pick([0, 512, 1024, 512.0, 10 ** 25 * 512], [513, 5e2 + 1, "512"])
        if rng.random() < 0.4:
            obj["resolution"] = pick(["mine", "theirs", "merged"], ["both", None])
            obj.setdefault("overlap_ratio", 0.25)  # (dependentRequired)
        if rng.random() < 0.3:
            obj["tags"] = pick([[], ["a", "b"]], [["a", "a"], ["a", 1]])
        if rng.random() < 0.3:
            obj["note"] = pick([None, "short"], ["x" * 41, 5])
        if rng.random() < 0.3:
            obj["event_id"] = f"c-{rng.randint(0, n // 3)}"
        if rng.random() < 0.05:
            obj.pop(rng.choice(["ts", "phase", "app_version", "device", "retry_delays_ms"]))
        if rng.random() < 0.03:
            obj["unknown"] = 1
        text = json.dumps(obj, ensure_ascii=rng.random() < 0.2)
        if rng.random() < 0.03:
            text = text[:-1] + ', "retry_delays_ms": [NaN]}'
        if rng.random() < 0.03:
            text = text.replace('"retry_delays_ms": []', '"retry_delays_ms": [1,]', 1)  # DuckDB takes it; JSON not
        if rng.random() < 0.02:
            text = text.replace('"linux"', '"linux", "os": "bsd"', 1)  # a duplicate key: jsonschema reads the last
        out.append(text.encode())
        if i % 7 == 0:
            out.append(json.dumps({"event": "app.session.ended", "ts": "2026-03-01T12:00:00Z", "phase": "A-1",
                                   "crashed": rng.random() < 0.5}).encode())
    return out


def _expected(lines: list[bytes], validators: dict) -> tuple[int, int, int]:
    loaded = rejected = dups = 0
    seen: set[str] = set()
    for raw in lines:
        if is_blank(raw):
            continue
        if not jsonschema_says(raw, validators):
            rejected += 1
            continue
        event_id = json.loads(raw).get("event_id")
        if event_id is not None and event_id in seen:
            dups += 1
        else:
            loaded += 1
            if event_id is not None:
                seen.add(event_id)
    return loaded, rejected, dups


def _sure_lines(home: Path, lines: list[bytes]) -> list[int]:
    from ingest.events import load_schemas
    from ingest.fastpath import fast_path_sql
    from rolloutctl.core.layout import event_schema_files

    schemas = load_schemas(event_schema_files(home))
    con = duckdb.connect()
    con.register("lines", pa.table({"line_no": list(range(len(lines))), "line": [x.decode() for x in lines]}))
    return [n for (n,) in con.execute(f"select line_no from ({fast_path_sql(schemas, 'lines')}) where sure")
            .fetchall()]


def _home_with(tmp_path: Path, schema: dict) -> Path:
    home = tmp_path / "home"
    (home / "schemas" / "events").mkdir(parents=True)
    (home / "schemas" / "events" / "conflicts.json").write_text(json.dumps(schema, indent=2))
    return home


def _check_new_event(tmp_path: Path, schema: dict, expected_fast: str, untranslated: str) -> None:
    home = _home_with(tmp_path, schema)
    lint = cli("schema", "lint", "--json", home=home)
    assert lint.returncode == 0, lint.stderr.decode()
    report = json.loads(lint.stdout)
    assert report["schemas"] == 10 and report["problems"] == []
    conflict = next(c for c in report["fast_path"] if c["event"] == EVENT)
    assert conflict["fast"] == expected_fast
    deferred = {d["keyword"] for d in conflict["deferred"]}
    assert untranslated in deferred  # deliberately not translated: those lines go to jsonschema

    lines = conflict_lines(random.Random(15), 600)
    path = tmp_path / "conflicts.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    validators = _validators(schema["$defs"][EVENT])
    loaded, rejected, dups = _expected(lines, validators)
    assert loaded > 100 and rejected > 100  # not one-sided

    sure = _sure_lines(home, lines)
    assert all(jsonschema_says(lines[i], validators) for i in sure)  # the fast path accepts only what it would
    if expected_fast == "partial":
        assert len(sure) > 150  # and decides much of the new event itself
    else:
        assert all(json.loads(lines[i])["event"] != EVENT for i in sure)

    out = ingest_json(home, path)
    assert (out["lines"], out["loaded"], out["rejected"], out["duplicates"]) == (len(lines), loaded, rejected, dups)
    stored = rows(home, "select feature, phase, count(*), min(event_at) is not null from raw.events "
                        "where event = ? group by all order by all", [EVENT])
    assert {r[0] for r in stored} == {"autosave"}  # the `autosave.` prefix of its name (no x-feature)
    assert all(r[1] in ("A-1", "A-2", "B-0", "B-1") and r[3] for r in stored)
    for (payload,) in rows(home, "select payload::varchar from raw.events where event = ?", [EVENT])[:50]:
        assert validators[EVENT].is_valid(json.loads(payload))

    lake = tmp_path / "lake"
    proc = cli("ingest", "--json", "--sink", "parquet", str(lake), str(path), home=home)
    assert proc.returncode == 0, proc.stderr.decode()
    out = json.loads(proc.stdout)
    assert (out["loaded"], out["rejected"], out["duplicates"]) == (loaded, rejected, dups)
    con = duckdb.connect()
    n = con.execute("select count(*) from read_parquet(?, hive_partitioning = true) where event = ? "
                    "and feature = 'autosave'", [str(lake / "events" / "**" / "*.parquet"), EVENT]).fetchone()[0]
    assert n == sum(r[2] for r in stored)

    proc = cli("collect", "--json", "--log-dir", str(tmp_path / "logs"), str(path), home=home)
    assert proc.returncode == 0, proc.stderr.decode()
    collected = json.loads(proc.stdout)
    assert (collected["written"], collected["rejected"]) == (loaded + dups, rejected)
    assert all("/autosave/" in f or "/app/" in f for f in collected["files"])


def test_a_new_event_file_with_unshipped_keywords_is_judged_as_jsonschema_judges(tmp_path):
    _check_new_event(tmp_path, FAST_SCHEMA, "partial", "uniqueItems")


def test_an_event_the_fast_path_cannot_translate_is_judged_by_jsonschema_alone(tmp_path):
    # dependentRequired at the top: every line of the event goes to jsonschema, still exactly counted
    _check_new_event(tmp_path, CONFLICT_SCHEMA, "none", "dependentRequired")
