"""Hostile and broken input: the loader never crashes or hangs, and every line ends in exactly one place."""
from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.loader import ingest
from tests.support.tiers import sized

VALID = ('{"event":"app.session.ended","ts":"2026-11-02T10:00:00Z","phase":"A-0","crashed":false,'
         '"event_id":"ok-%d"}')


def _counts(home: Path):
    con = duckdb.connect(str(home / "warehouse" / "rollout.duckdb"), read_only=True)
    try:
        return (con.execute("select count(*) from raw.events").fetchall()[0][0],
                con.execute("select count(*) from raw.rejected_events").fetchall()[0][0])
    finally:
        con.close()


def _check_accounting(home: Path, result, nonblank: int):
    events, rejects = _counts(home)
    assert result.lines == nonblank
    assert result.loaded + result.rejected + result.duplicates == nonblank
    assert (events, rejects) == (result.loaded, result.rejected)


HOSTILE_LINES = [
    b"[" * 100_000 + b"]" * 100_000,                      # deep nesting
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    b'{"event":"app.session.ended","ts":"2026-11-02T10:00:00Z","phase":"A-0","crashed":false,"x":' + b"9" * 6000 + b"}",
    b'{"event":"autosave.save.completed","ts":"2026-11-02T10:00:00Z","phase":"A-1","feature":"autosave",'
    b'"duration_ms":1e999999,"retry_count":0,"bytes":1}',   # overflows a double: inf to Python's json
    b'{"event":"app.session.ended","ts":"2026-11-02T10:00:00Z","phase":"A-0","crashed":false,"event_id":"\xff\xfe"}',
    b'{"event":"app.session.ended","ts":"2026-11-02T10:00:00Z","phase":"A-0","crashed":false,"event_id":"\\ud800"}',
    b'{"event":"app.session.ended","ts":"2026-11-02T10:00:00Z","phase":"A-0","crashed":false,"event_id":"a\x01b"}',
    b"\x00\x01\x02\x03",
    b'{"event":"app.session.ended","ts":"2026-11-02T10:00:00Z\x00","phase":"A-0","crashed":false}',
    b"\xed\xa0\x80",                                        # a surrogate encoded in UTF-8: invalid
    b'{"event":"app.session.ended","ts":"2026-11-02T10:00:00Z","phase":"A-0","crashed":NaN}',
]


def test_hostile_lines_end_in_exactly_one_place(tmp_path):
    path = tmp_path / "hostile.jsonl"
    lines = HOSTILE_LINES + [(VALID % i).encode() for i in range(3)]
    path.write_bytes(b"\n".join(lines) + b"\n")
    home = tmp_path / "home"
    result = ingest(home, [path])
    _check_accounting(home, result, len(lines))
    # The valid lines and the lone-surrogate one (valid JSON, accepted by jsonschema) are in; the rest rejected.
    assert result.loaded == 3 + 2   # + the 1e999999 save (inf is a number >= 0 to jsonschema) and the surrogate
    con = duckdb.connect(str(home / "warehouse" / "rollout.duckdb"), read_only=True)
    messages = [m for (m,) in con.execute("select message from raw.rejected_events order by line_no").fetchall()]
    con.close()
    assert any("not valid UTF-8" in m for m in messages)
    assert any("nested too deeply" in m or "not valid JSON" in m for m in messages)


def test_a_100_mb_line_is_rejected_and_the_rest_loads(tmp_path):
    path = tmp_path / "big.jsonl"
    with open(path, "wb") as fh:
        fh.write((VALID % 1).encode() + b"\n")
        fh.write(b'{"event":"app.session.ended","pad":"' + b"x" * (100 * 1024 * 1024) + b'"}\n')
        fh.write((VALID % 2).encode() + b"\n")
    home = tmp_path / "home"
    result = ingest(home, [path])
    _check_accounting(home, result, 3)
    assert (result.loaded, result.rejected) == (2, 1)
    con = duckdb.connect(str(home / "warehouse" / "rollout.duckdb"), read_only=True)
    line_no, raw_bytes, stored, message = con.execute(
        "select line_no, line_bytes, strlen(raw_line), message from raw.rejected_events").fetchall()[0]
    con.close()
    assert line_no == 2 and raw_bytes > 100 * 1024 * 1024 and stored <= 64 * 1024
    assert "over the limit" in message


@pytest.mark.scaled
@settings(max_examples=sized(25, 100), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.binary(min_size=0, max_size=300), min_size=1, max_size=30))
def test_random_bytes_never_crash_and_every_line_is_accounted(tmp_path_factory, chunks):
    tmp = tmp_path_factory.mktemp("fuzz")
    data = b"\n".join(chunks) + b"\n"
    (tmp / "f.jsonl").write_bytes(data)
    result = ingest(tmp / "home", [tmp / "f.jsonl"])
    nonblank = sum(1 for line in data.split(b"\n")[:-1] if line.removesuffix(b"\r").strip(b" \t\r"))
    _check_accounting(tmp / "home", result, nonblank)


@pytest.mark.scaled
@settings(max_examples=sized(20, 100), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                    max_leaves=30))
def test_random_json_values_are_rejected_with_a_message(tmp_path_factory, value):
    tmp = tmp_path_factory.mktemp("fuzzjson")
    (tmp / "f.jsonl").write_text(json.dumps(value) + "\n", encoding="utf-8")
    result = ingest(tmp / "home", [tmp / "f.jsonl"])
    _check_accounting(tmp / "home", result, 1)
    assert result.rejected == 1  # no random value is a valid event
