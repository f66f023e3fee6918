"""`ingest` (SPEC §4), bad input first: every line ends in exactly one place, with a reason a person can act on;
resumable and idempotent on growth, unterminated lines, truncation and replacement; duplicates by event_id."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ingest.loader import ingest
from tests.support.event_lines import dump
from tests.support.ingest_support import MIB, count, rows

SAVE = {"event": "autosave.save.completed", "ts": "2026-03-01T12:00:00Z", "phase": "A-1", "feature": "autosave",
        "duration_ms": 250.5, "retry_count": 0, "bytes": 2048}
RESTORE = {"event": "autosave.restore.result", "ts": "2026-03-01T12:00:00Z", "phase": "A-2", "feature": "autosave",
           "success": True, "source": "history", "duration_ms": 12}
LOCK = {"event": "autosave.lock.error", "ts": "2026-03-01T12:00:00Z", "phase": "A-1", "feature": "autosave",
        "code": "EBUSY", "retryable": True, "attempt": 1, "lease_id": "l-1"}
MERGE = {"event": "merge.diff.apply", "ts": "2026-03-01T12:00:00Z", "phase": "B-0", "feature": "merge",
         "precision": "beta", "auto_accept_ratio": 0.5, "auto_accepted": True, "hunk_count": 3}
ROLLBACK = {"event": "rollback.executed", "timestamp": "2026-03-01T12:00:00Z", "phase_from": "A-2",
            "phase_to": "A-1", "trigger_metric": "save_p95_ms"}
SESSION = {"event": "app.session.ended", "ts": "2026-03-01T12:00:00Z", "phase": "A-0", "crashed": False}


def line(obj: dict, **changes) -> bytes:
    return json.dumps({**obj, **changes}, ensure_ascii=False).encode()


def write(path: Path, lines: list[bytes], end: bytes = b"\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(x + end for x in lines))
    return path


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as fh:
        fh.write(data)


def run(tmp_path: Path, *paths: Path):
    return ingest(tmp_path / "home", list(paths))


def tally(result) -> tuple:
    return result.lines, result.loaded, result.rejected, result.duplicates, result.pending_partial


def rejects(tmp_path: Path) -> list[tuple]:
    return rows(tmp_path / "home", "select line_no, json_path, message, raw_line, line_bytes, source_file "
                                   "from raw.rejected_events order by source_file, line_no")


def loaded_lines(tmp_path: Path) -> list[int]:
    return [r[0] for r in rows(tmp_path / "home", "select line_no from raw.events order by line_no")]


# --- not JSON, not an object -----------------------------------------------------------------------------------

def test_lines_that_are_not_json_are_rejected_with_the_parser_error(tmp_path):
    bad = [b'{"event": "autosave.save.completed", ', b"hello", dump(SAVE).encode()[:-1] + b",}",
           b"{'event': 'app.session.ended'}", dump(SAVE).encode() + b" {}", b'{"a":01}']
    f = write(tmp_path / "a.jsonl", [line(SAVE)] + bad)
    result = run(tmp_path, f)
    assert tally(result) == (7, 1, 6, 0, 0)
    got = rejects(tmp_path)
    assert [r[0] for r in got] == [2, 3, 4, 5, 6, 7]
    for line_no, json_path, message, raw_line, line_bytes, source in got:
        assert json_path == "$"
        assert message.startswith("not valid JSON: ")
        assert raw_line.encode() == bad[line_no - 2] and line_bytes == len(bad[line_no - 2])
        assert source == str(f.resolve())


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(tmp_path, literal):
    text = dump(SAVE).replace('"duration_ms":250.5', f'"duration_ms":{literal}').encode()
    assert literal.encode() in text
    f = write(tmp_path / "a.jsonl", [text, line(MERGE, auto_accept_ratio=0.25)])
    result = run(tmp_path, f)
    assert tally(result) == (2, 1, 1, 0, 0)
    [(line_no, json_path, message, *_)] = rejects(tmp_path)
    assert (line_no, json_path) == (1, "$")
    assert message == f"not valid JSON: {literal} is not valid JSON"


@pytest.mark.parametrize("text,kind", [(b"[1, 2]", "an array"), (b'"autosave.save.completed"', "a string"),
                                       (b"42", "a number"), (b"-1.5e3", "a number"), (b"null", "null"),
                                       (b"true", "a boolean"), (b"[]", "an array")])
def test_json_that_is_not_an_object_is_rejected(tmp_path, text, kind):
    f = write(tmp_path / "a.jsonl", [text])
    assert tally(run(tmp_path, f)) == (1, 0, 1, 0, 0)
    [(_, json_path, message, raw_line, *_)] = rejects(tmp_path)
    assert (json_path, message, raw_line) == ("$", f"line is {kind}, not a JSON object", text.decode())


# --- every kind of schema violation ----------------------------------------------------------------------------

PHASES = "['A-0', 'A-1', 'A-2', 'B-0', 'B-1']"
VIOLATIONS = [
    # (base, changes, removed key, json_path, message)
    (SAVE, {"duration_ms": -5}, None, "$.duration_ms", "duration_ms: -5 is less than the minimum of 0"),
    (MERGE, {"auto_accept_ratio": 1.5}, None, "$.auto_accept_ratio",
     "auto_accept_ratio: 1.5 is greater than the maximum of 1"),
    (MERGE, {"hunk_count": -1}, None, "$.hunk_count", "hunk_count: -1 is less than the minimum of 0"),
    (LOCK, {"attempt": 0}, None, "$.attempt", "attempt: 0 is less than the minimum of 1"),
    (SAVE, {"retry_count": 1.5}, None, "$.retry_count", "retry_count: 1.5 is not of type 'integer'"),
    (SAVE, {"duration_ms": "12"}, None, "$.duration_ms", "duration_ms: '12' is not of type 'number'"),
    (SAVE, {"duration_ms": True}, None, "$.duration_ms", "duration_ms: True is not of type 'number'"),
    (SAVE, {"bytes": None}, None, "$.bytes", "bytes: None is not of type 'integer'"),
    (SESSION, {"crashed": "false"}, None, "$.crashed", "crashed: 'false' is not of type 'boolean'"),
    (LOCK, {"code": 17}, None, "$.code", "code: 17 is not of type 'string'"),
    (SAVE, {"phase": "C-9"}, None, "$.phase", f"phase: 'C-9' is not one of {PHASES}"),
    (ROLLBACK, {"phase_to": "b-1"}, None, "$.phase_to", f"phase_to: 'b-1' is not one of {PHASES}"),
    (MERGE, {"precision": "exact"}, None, "$.precision",
     "precision: 'exact' is not one of ['legacy', 'beta', 'stable']"),
    (SAVE, {"feature": "merge"}, None, "$.feature", "feature: 'autosave' was expected"),
    (SAVE, {"ts": "2026-02-30T00:00:00Z"}, None, "$.ts", "ts: '2026-02-30T00:00:00Z' is not a 'date-time'"),
    (SAVE, {"ts": "2026-03-01T12:00:00"}, None, "$.ts", "ts: '2026-03-01T12:00:00' is not a 'date-time'"),
    (ROLLBACK, {"timestamp": "yesterday"}, None, "$.timestamp", "timestamp: 'yesterday' is not a 'date-time'"),
    (SAVE, {"event_id": "x" * 129}, None, "$.event_id", f"event_id: '{'x' * 129}' is too long"),
    (LOCK, {"lease_id": ""}, None, "$.lease_id", "lease_id: '' should be non-empty"),
    (SAVE, {}, "duration_ms", "$", "(line): 'duration_ms' is a required property"),
    (SAVE, {"extra": 1}, None, "$", "(line): Additional properties are not allowed ('extra' was unexpected)"),
    (RESTORE, {"success": False}, None, "$", "(line): 'retryable' is a required property"),
    (RESTORE, {"success": False, "retryable": True}, None, "$.retryable", "retryable: False was expected"),
    (SAVE, {"event": "autosave.save.started"}, None, "$.event", "event: 'autosave.save.started' is not one of"),
    (SAVE, {}, "event", "$", "(line): 'event' is a required property"),
]


@pytest.mark.parametrize("base,changes,removed,json_path,message", VIOLATIONS,
                         ids=[f"{v[3]}:{v[4][:40]}" for v in VIOLATIONS])
def test_each_schema_violation_names_its_path_and_says_what_is_wrong(tmp_path, base, changes, removed, json_path,
                                                                      message):
    obj = {**base, **changes}
    if removed:
        del obj[removed]
    text = json.dumps(obj).encode()
    f = write(tmp_path / "a.jsonl", [line(base), text])
    assert tally(run(tmp_path, f)) == (2, 1, 1, 0, 0)
    [(line_no, got_path, got_message, raw_line, line_bytes, _)] = rejects(tmp_path)
    assert (line_no, got_path, raw_line, line_bytes) == (2, json_path, text.decode(), len(text))
    if message.endswith("is not one of"):
        assert got_message.startswith(message)
    else:
        assert got_message == message


def test_several_violations_are_all_listed_and_the_first_path_kept(tmp_path):
    text = json.dumps({**SAVE, "duration_ms": -1, "phase": "Z", "extra": 1}).encode()
    f = write(tmp_path / "a.jsonl", [text])
    run(tmp_path, f)
    [(_, json_path, message, *_)] = rejects(tmp_path)
    assert json_path == "$"
    assert message.split("; ") == [
        "(line): Additional properties are not allowed ('extra' was unexpected)",
        "duration_ms: -1 is less than the minimum of 0",
        f"phase: 'Z' is not one of {PHASES}",
    ]


# --- size, line ends, blank lines ------------------------------------------------------------------------------

def padded(obj: dict, size: int) -> bytes:
    text = line(obj)
    return text + b" " * (size - len(text))


def test_line_over_one_mib_is_rejected_truncated_with_full_length_recorded(tmp_path):
    over, exact = padded(SAVE, MIB + 1), padded(MERGE, MIB)
    huge_garbage = b"x" * (3 * MIB)
    f = write(tmp_path / "a.jsonl", [over, exact, huge_garbage, line(SESSION)], end=b"\r\n")
    result = run(tmp_path, f)
    assert tally(result) == (4, 2, 2, 0, 0)
    assert loaded_lines(tmp_path) == [2, 4]  # exactly 1 MiB (without its CRLF) is still fine
    got = rejects(tmp_path)
    assert [(r[0], r[1], r[4]) for r in got] == [(1, "$", MIB + 1), (3, "$", 3 * MIB)]
    for _, _, message, raw_line, line_bytes, _ in got:
        assert "1 MiB" in message and str(line_bytes) in message
        assert 0 < len(raw_line.encode()) <= 64 * 1024  # kept for a person to look at, not the whole line
    assert got[0][3].encode() == over[: len(got[0][3].encode())]


def test_blank_lines_of_any_size_are_ignored_and_not_counted(tmp_path):
    lines = [b"", line(SAVE), b"   ", b"\t", b" \t \r", line(MERGE), b" " * (2 * MIB), b"", line(SESSION)]
    f = write(tmp_path / "a.jsonl", lines)
    append(f, b"\r\n\n")
    result = run(tmp_path, f)
    assert tally(result) == (3, 3, 0, 0, 0)
    assert result.lines == result.loaded + result.rejected + result.duplicates
    assert count(tmp_path / "home", "raw.rejected_events") == 0
    assert loaded_lines(tmp_path) == [2, 6, 9]  # physical line numbers, blank lines included


def test_crlf_line_ends_are_line_ends(tmp_path):
    f = write(tmp_path / "a.jsonl", [line(SAVE), line(MERGE), line(SESSION, ts="2026-03-01t12:00:00z")],
              end=b"\r\n")
    append(f, line(LOCK) + b" \r\r\n")  # a CR before the CRLF is whitespace inside the line
    assert tally(run(tmp_path, f)) == (4, 4, 0, 0, 0)
    payloads = rows(tmp_path / "home", "select payload::varchar from raw.events order by line_no")
    assert all("\r" not in p for p, in payloads[:3])  # the CR of a CRLF is not part of the line
    assert [json.loads(p)["event"] for p, in payloads] == [
        "autosave.save.completed", "merge.diff.apply", "app.session.ended", "autosave.lock.error"]


# --- unterminated last line, growth, truncation, replacement --------------------------------------------------

def test_unterminated_last_line_waits_then_loads_when_completed(tmp_path):
    f = write(tmp_path / "a.jsonl", [line(SAVE, event_id="s-1")])
    tail = line(MERGE, event_id="m-1")
    append(f, tail[:25])  # a producer mid-write
    first = run(tmp_path, f)
    assert tally(first) == (1, 1, 0, 0, 1)
    assert count(tmp_path / "home", "raw.rejected_events") == 0

    append(f, tail[25:])  # complete JSON, still no line end
    assert tally(run(tmp_path, f)) == (0, 0, 0, 0, 1)

    append(f, b"\n")
    third = run(tmp_path, f)
    assert tally(third) == (1, 1, 0, 0, 0)
    assert rows(tmp_path / "home", "select event_id, line_no from raw.events order by line_no") == [
        ("s-1", 1), ("m-1", 2)]


def test_a_file_that_grew_loads_only_its_new_lines(tmp_path):
    f = write(tmp_path / "a.jsonl", [line(SAVE), line(SAVE), line(MERGE)])  # no ids: identical lines both count
    assert tally(run(tmp_path, f)) == (3, 3, 0, 0, 0)
    append(f, line(SESSION) + b"\n" + b"oops\n" + line(SAVE) + b"\n")
    assert tally(run(tmp_path, f)) == (3, 2, 1, 0, 0)
    assert loaded_lines(tmp_path) == [1, 2, 3, 4, 6]
    assert [r[0] for r in rejects(tmp_path)] == [5]
    assert tally(run(tmp_path, f)) == (0, 0, 0, 0, 0)


@pytest.mark.parametrize("with_ids", [True, False])
def test_a_truncated_file_is_reread_from_the_start_without_duplicating(tmp_path, with_ids):
    ids = (lambda i: {"event_id": f"e-{i}"}) if with_ids else (lambda i: {})
    old = [line(SAVE, duration_ms=i, **ids(i)) for i in range(5)]
    f = write(tmp_path / "a.jsonl", old)
    assert tally(run(tmp_path, f)) == (5, 5, 0, 0, 0)

    new = old[:2] + [line(MERGE, hunk_count=9, **ids(9))]  # rotated by copytruncate, then 3 lines written
    write(f, new)
    assert f.stat().st_size < sum(len(x) + 1 for x in old)
    result = run(tmp_path, f)
    assert any("truncated" in n for n in result.notes)
    assert tally(result) == (3, 1, 0, 2, 0)
    assert count(tmp_path / "home", "raw.events") == 6
    got = rows(tmp_path / "home", "select line_no, event, count(*) over (partition by line_no) from raw.events "
                                  "order by line_no, event")
    assert [(r[0], r[1]) for r in got] == [(1, "autosave.save.completed"), (2, "autosave.save.completed"),
                                           (3, "autosave.save.completed"), (3, "merge.diff.apply"),
                                           (4, "autosave.save.completed"), (5, "autosave.save.completed")]
    assert tally(run(tmp_path, f)) == (0, 0, 0, 0, 0)


@pytest.mark.parametrize("with_ids", [True, False])
@pytest.mark.parametrize("how", ["rewritten", "renamed over"])
def test_a_replaced_file_is_reread_from_the_start_without_duplicating(tmp_path, with_ids, how):
    ids = (lambda i: {"event_id": f"e-{i}"}) if with_ids else (lambda i: {})
    old = [line(SAVE, duration_ms=i, **ids(i)) for i in range(4)]
    f = write(tmp_path / "a.jsonl", old)
    assert tally(run(tmp_path, f)) == (4, 4, 0, 0, 0)

    # the first line edited in place (same length), two lines added: longer than before, but not an append
    new = [line(SAVE, duration_ms=7, **ids(7))] + old[1:] + [line(MERGE, **ids(10)), line(LOCK, **ids(11))]
    assert len(new[0]) == len(old[0])
    if how == "rewritten":
        write(f, new)
    else:
        write(tmp_path / "a.jsonl.tmp", new)
        os.replace(tmp_path / "a.jsonl.tmp", f)
    result = run(tmp_path, f)
    assert any("replaced" in n for n in result.notes)
    assert tally(result) == (6, 3, 0, 3, 0)  # line 1 is a new event; lines 2-4 are the ones already loaded
    assert count(tmp_path / "home", "raw.events") == 7
    if with_ids:
        assert rows(tmp_path / "home", "select count(distinct event_id), count(*) from raw.events") == [(7, 7)]
    assert tally(run(tmp_path, f)) == (0, 0, 0, 0, 0)


def test_state_is_in_the_database_with_the_rows(tmp_path):
    f = write(tmp_path / "a.jsonl", [line(SAVE), line(MERGE)])
    append(f, b'{"partial')
    run(tmp_path, f)
    [(source, consumed, lines)] = rows(tmp_path / "home",
                                       "select source_file, bytes_consumed, lines_consumed from raw.ingest_files")
    assert source == str(f.resolve())
    assert consumed == f.stat().st_size - len(b'{"partial') and lines == 2


# --- duplicates --------------------------------------------------------------------------------------------------

def test_duplicate_event_ids_within_a_file_across_files_and_across_runs(tmp_path):
    a = write(tmp_path / "logs" / "a.jsonl", [
        line(SAVE, event_id="x-1"),
        line(SAVE, event_id="x-1", duration_ms=999),  # same id, other content: still the same event
        line(MERGE, event_id="x-2"),
        line(SAVE), line(SAVE),  # no id: two events
    ])
    b = write(tmp_path / "logs" / "b.jsonl", [line(SESSION, event_id="x-2"), line(SESSION, event_id="x-3"),
                                              line(SESSION, event_id="x-3")])
    first = run(tmp_path, tmp_path / "logs")
    assert tally(first) == (8, 5, 0, 3, 0)
    assert rows(tmp_path / "home", "select event_id, payload->>'$.duration_ms' from raw.events "
                                   "where event_id = 'x-1'") == [("x-1", "250.5")]  # the first one wins
    c = write(tmp_path / "logs" / "c.jsonl", [line(LOCK, event_id="x-1"), line(LOCK, event_id="x-4")])
    second = run(tmp_path, tmp_path / "logs")
    assert tally(second) == (2, 1, 0, 1, 0)
    assert rows(tmp_path / "home", "select count(*), count(distinct event_id), count(event_id) from raw.events") \
        == [(6, 4, 4)]
    assert {r[0] for r in rows(tmp_path / "home", "select source_file from raw.events")} == {
        str(a.resolve()), str(b.resolve()), str(c.resolve())}


def test_the_same_id_written_with_and_without_escapes_is_one_event(tmp_path):
    f = write(tmp_path / "a.jsonl", [line(SAVE, event_id="café-1"),
                                     json.dumps({**SAVE, "event_id": "café-1"}, ensure_ascii=True).encode()])
    assert b"\\u00e9" in f.read_bytes()
    assert tally(run(tmp_path, f)) == (2, 1, 0, 1, 0)


def test_distinct_ids_with_lone_surrogates_are_distinct_events(tmp_path):
    f = write(tmp_path / "a.jsonl", [json.dumps({**SAVE, "event_id": i}).encode() for i in ("\ud800", "\udbff")])
    assert tally(run(tmp_path, f)) == (2, 2, 0, 0, 0)
    # Stored with each lone surrogate as its escape text (UTF-8 cannot hold it), so the ids stay distinct.
    got = rows(tmp_path / "home", "select event_id from raw.events order by line_no")
    assert got == [("\\ud800",), ("\\udbff",)]


# --- text, times, bytes ------------------------------------------------------------------------------------------

def test_non_ascii_text_is_kept_exactly(tmp_path):
    reason = "ロールバック — naïve café 😀 \u2028 Ω"
    lines = [line(ROLLBACK, reason=reason, executor="José", event_id="é" * 128),
             json.dumps({**ROLLBACK, "reason": reason, "event_id": "日" * 127 + "本"}).encode(),  # \u escapes
             line(ROLLBACK, event_id="é" * 129)]
    f = write(tmp_path / "a.jsonl", lines)
    assert tally(run(tmp_path, f)) == (3, 2, 1, 0, 0)
    got = rows(tmp_path / "home", "select event_id, payload::varchar from raw.events order by line_no")
    assert [(e, json.loads(p)["reason"]) for e, p in got] == [("é" * 128, reason), ("日" * 127 + "本", reason)]
    assert json.loads(got[0][1])["executor"] == "José"
    [(_, json_path, message, *_)] = rejects(tmp_path)
    assert json_path == "$.event_id" and message.endswith("is too long")


@pytest.mark.parametrize("written", [
    "2026-03-01T05:30:00+05:30", "2026-03-01t05:30:00+05:30", "2026-02-28T16:00:00-08:00",
    "2026-03-01T00:00:00Z", "2026-03-01T00:00:00z", "2026-03-01T00:00:00-00:00", "2026-03-01T05:30:00.000000+05:30",
    "2026-03-01T05:30:00.0000009+05:30",
])
def test_offsets_are_stored_as_the_right_utc_instant(tmp_path, written):
    f = write(tmp_path / "a.jsonl", [line(SAVE, ts=written), line(ROLLBACK, timestamp=written)])
    assert tally(run(tmp_path, f)) == (2, 2, 0, 0, 0)
    got = rows(tmp_path / "home", "select event_at = timestamptz '2026-03-01 00:00:00+00', epoch_us(event_at), "
                                  "payload->>'$.ts', payload->>'$.timestamp' from raw.events order by line_no")
    assert [r[:2] for r in got] == [(True, 1772323200000000)] * 2
    assert got[0][2] == written and got[1][3] == written  # the payload keeps what was written


def test_times_at_the_edges_of_the_calendar(tmp_path):
    times = ["2024-02-29T23:59:59Z", "0001-01-01T00:30:00+01:00", "0001-01-01t00:30:00+01:00",
             "9999-12-31T23:59:59-01:00", "9999-12-31t23:59:59-01:00", "2026-03-01T12:00:00Z\n"]
    f = write(tmp_path / "a.jsonl", [json.dumps({**SESSION, "ts": t}).encode() for t in times])
    assert tally(run(tmp_path, f)) == (6, 6, 0, 0, 0)
    got = [r[0] for r in rows(tmp_path / "home", "select epoch_us(event_at) from raw.events order by line_no")]
    assert got == [1709251199000000, -62135598600000000, -62135598600000000, 253402304399000000,
                   253402304399000000, 1772366400000000]


def test_invalid_utf8_is_rejected_and_the_rest_of_the_block_loads(tmp_path):
    bad = line(LOCK).replace(b"EBUSY", b"EB\xffSY")
    cesu = line(LOCK).replace(b"EBUSY", b"\xed\xa0\x80")
    f = write(tmp_path / "a.jsonl", [line(SAVE), bad, line(MERGE), cesu, line(SESSION)])
    assert tally(run(tmp_path, f)) == (5, 3, 2, 0, 0)
    got = rejects(tmp_path)
    assert [(r[0], r[1]) for r in got] == [(2, "$"), (4, "$")]
    at = bad.index(b"\xff")
    assert got[0][2] == f"line is not valid UTF-8 (byte {at}): fix the producer's encoding"
    assert "\\xff" in got[0][3] and got[0][4] == len(bad)
    assert loaded_lines(tmp_path) == [1, 3, 5]


# --- idempotence and what is read --------------------------------------------------------------------------------

def test_second_run_loads_nothing(tmp_path):
    logs = tmp_path / "logs"
    write(logs / "a.jsonl", [line(SAVE), b"bad", line(MERGE, event_id="m")])
    write(logs / "b.jsonl", [line(SAVE, event_id="m"), line(SESSION)])
    first = run(tmp_path, logs)
    assert (first.files, *tally(first)) == (2, 5, 3, 1, 1, 0)
    before = [count(tmp_path / "home", t) for t in ("raw.events", "raw.rejected_events")]
    second = run(tmp_path, logs)
    assert (second.files, *tally(second)) == (2, 0, 0, 0, 0, 0)
    assert [count(tmp_path / "home", t) for t in ("raw.events", "raw.rejected_events")] == before == [3, 1]
    assert rows(tmp_path / "home", "select count(*), sum(loaded), sum(lines) from raw.loads") == [(2, 3, 5)]


def test_folders_are_searched_recursively_for_jsonl_files_only(tmp_path):
    logs = tmp_path / "logs"
    picked = [write(logs / "a.jsonl", [line(SAVE)]), write(logs / "x" / "b.jsonl", [line(MERGE)]),
              write(logs / "x" / "y" / "z" / "c.jsonl", [line(SESSION)])]
    for other in ("notes.json", "d.txt", "e.jsonl.gz", "f.jsonl.bak", "G.JSONL", "x/h.ndjson"):
        write(logs / other, [line(LOCK)])
    (logs / "dir.jsonl").mkdir()  # a folder named like a log file is not a file
    result = run(tmp_path, logs)
    assert (result.files, result.loaded) == (3, 3)
    assert sorted(r[0] for r in rows(tmp_path / "home", "select source_file from raw.events")) == sorted(
        str(p.resolve()) for p in picked)
    # a file named explicitly is read whatever its name; the same file twice counts once
    again = run(tmp_path, logs / "notes.json", logs / "a.jsonl", logs)
    assert (again.files, again.loaded) == (4, 1)


# --- the batch handed to DuckDB in slices ---------------------------------------------------------------------


def test_a_block_in_many_slices_loads_every_line_once_in_place(tmp_path, monkeypatch):
    """DuckDB reads the block's lines in slices (ingest.loader.SCAN_ROWS); with slices of 3 lines, a duplicate, a
    reject, an undecided line (\\u escape) and blank lines fall in different slices and each keeps its line."""
    monkeypatch.setattr("ingest.loader.SCAN_ROWS", 3)
    lines = [line(SAVE, event_id=f"s-{i}") for i in range(10)]
    lines[4] = line(SAVE, event_id="s-1")                        # duplicate of line 2, two slices later
    lines[6] = line(SAVE, event_id="s-6", duration_ms=-1)        # rejected
    lines[7] = line(SAVE, event_id="s-7", phase="A-\\u0031").replace(b"\\\\", b"\\")  # valid, for jsonschema
    lines[8] = b"  "                                             # blank: not counted
    path = write(tmp_path / "logs" / "a.jsonl", lines)
    assert tally(run(tmp_path, path)) == (9, 7, 1, 1, 0)
    assert loaded_lines(tmp_path) == [1, 2, 3, 4, 6, 8, 10]
    assert [r[0] for r in rejects(tmp_path)] == [7]
    assert rows(tmp_path / "home", "select phase from raw.events where line_no = 8") == [("A-1",)]


def test_a_file_of_blank_lines_only_loads_nothing(tmp_path):
    path = write(tmp_path / "logs" / "blank.jsonl", [b"", b" \t", b"\r"])
    assert tally(run(tmp_path, path)) == (0, 0, 0, 0, 0)
    assert count(tmp_path / "home", "raw.events") == 0
