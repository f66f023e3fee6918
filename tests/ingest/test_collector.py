"""`rolloutctl collect` (SPEC §4): valid events appended as whole lines to <log-dir>/<feature>/<UTC date>.jsonl,
invalid ones reported and not written, safe with several collectors at once, no way out of the log folder."""
from __future__ import annotations

import json
import multiprocessing
import random
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from ingest.collector import collect
from ingest.events import event_utc_day
from ingest.loader import ingest
from tests.support.event_lines import NAMES, file_lines, random_valid_event
from tests.support.ingest_support import FEATURE_OF, ROLLOUTCTL, cli, reference_verdict, time_field, utc_micros
from tests.support.tiers import sized

SESSION = {"event": "app.session.ended", "ts": "2026-03-01T12:00:00Z", "phase": "A-0", "crashed": False}


def files_under(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def enc(obj: dict) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode()


def utc_day(obj: dict) -> str:
    return (date(1970, 1, 1) + timedelta(microseconds=utc_micros(obj[time_field(obj["event"])]))).isoformat()


def test_valid_events_go_to_feature_and_utc_date_files_as_whole_lines(tmp_path):
    rng = random.Random(5)
    events = [random_valid_event(rng, name) for name in NAMES]
    events[0] = {**events[0], time_field(events[0]["event"]): "2026-03-01T23:30:00-05:00"}  # UTC: March 2nd
    events[1] = {**events[1], time_field(events[1]["event"]): "2026-03-02T03:00:00+05:30"}  # UTC: March 1st
    lines = [enc(e) for e in events]
    result = collect(tmp_path / "logs", [("in", [x + b"\n" for x in lines])])
    assert (result.read, result.written, result.rejected) == (9, 9, [])
    expected: dict[str, list[bytes]] = {}
    for obj, text in zip(events, lines):
        expected.setdefault(f"{FEATURE_OF[obj['event']]}/{utc_day(obj)}.jsonl", []).append(text + b"\n")
    assert utc_day(events[0]) == "2026-03-02" and utc_day(events[1]) == "2026-03-01"
    assert files_under(tmp_path / "logs") == {k: b"".join(v) for k, v in expected.items()}
    assert sorted(result.files) == sorted(str((tmp_path / "logs" / k).resolve()) for k in expected)


def test_invalid_lines_are_reported_with_reasons_and_not_written(tmp_path):
    lines = [enc(SESSION), b"not json", enc({**SESSION, "crashed": "no"}), b"", b"  \r",
             enc({**SESSION, "ts": "2026-02-30T00:00:00Z"}), b"[1]", enc({**SESSION, "phase": "B-1"}) + b"\r"]
    result = collect(tmp_path / "logs", [("producer.jsonl", lines)])
    assert (result.read, result.written) == (6, 2)  # blank lines are not events
    assert [(r["source"], r["line"], r["json_path"]) for r in result.rejected] == [
        ("producer.jsonl", 2, "$"), ("producer.jsonl", 3, "$.crashed"), ("producer.jsonl", 6, "$.ts"),
        ("producer.jsonl", 7, "$")]
    assert result.rejected[1]["message"] == "crashed: 'no' is not of type 'boolean'"
    assert files_under(tmp_path / "logs") == {
        "app/2026-03-01.jsonl": enc(SESSION) + b"\n" + enc({**SESSION, "phase": "B-1"}) + b"\n"}


@pytest.mark.scaled
@settings(max_examples=sized(40, 200), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(file=file_lines())
def test_what_the_collector_writes_and_rejects_is_jsonschemas_verdict(tmp_path_factory, file):
    """The Collector decides in bulk (the loader's DuckDB fast path, then jsonschema for what it leaves undecided):
    the lines written, in order and filed by feature and UTC date, and the lines rejected are exactly the
    reference verdict's."""
    data, _ = file
    lines = data.split(b"\n")
    log_dir = tmp_path_factory.mktemp("collect") / "logs"
    result = collect(log_dir, [("in", lines)])
    expected: dict[str, list[bytes]] = {}
    rejected = []
    for no, line in enumerate(lines, start=1):
        raw = line.removesuffix(b"\r")   # a line's end: \n or \r\n
        if not raw.strip(b" \t\r"):
            continue
        ok, obj = reference_verdict(raw)
        if ok:   # (the calendar's edges: test_times_at_the_calendar_edges_are_filed_under_their_utc_date)
            day = event_utc_day(obj, time_field(obj["event"]))
            expected.setdefault(f"{FEATURE_OF[obj['event']]}/{day}.jsonl", []).append(raw + b"\n")
        else:
            rejected.append(no)
    assert [r["line"] for r in result.rejected] == rejected
    assert files_under(log_dir) == {k: b"".join(v) for k, v in expected.items()}


def test_an_unterminated_tail_left_by_a_killed_writer_does_not_swallow_the_next_line(tmp_path):
    target = tmp_path / "logs" / "app" / "2026-03-01.jsonl"
    target.parent.mkdir(parents=True)
    target.write_bytes(enc(SESSION) + b"\n" + b'{"event":"app.sess')  # torn
    collect(tmp_path / "logs", [("in", [enc({**SESSION, "event_id": "after"})])])
    lines = target.read_bytes().split(b"\n")
    assert lines[-1] == b"" and lines[-2] == enc({**SESSION, "event_id": "after"})
    result = ingest(tmp_path / "home", [tmp_path / "logs"])
    assert (result.loaded, result.rejected, result.pending_partial) == (2, 1, 0)  # the fragment is not lost silently


def test_no_event_field_can_steer_the_path_outside_the_log_folder(tmp_path):
    root = tmp_path / "sandbox"
    log_dir = root / "logs"
    hostile = [
        {**SESSION, "feature": "../../../escape", "event_id": "../../../../tmp/x"},
        {"event": "qa.case.result", "ts": "2026-03-01T12:00:00Z", "phase": "A-1", "suite": "autosave_qa",
         "case_id": "/etc/passwd", "result": "pass", "executor": "..\\..\\win", "feature": "/abs"},
        {"event": "rollback.executed", "timestamp": "2026-03-01T12:00:00Z", "phase_from": "A-2", "phase_to": "A-1",
         "trigger_metric": "../m", "reason": "\u0000/../x", "feature": "../.."},
        {**SESSION, "event": "../../app.session.ended"},
        {**SESSION, "event": "app.session.ended/../../x"},
        {**SESSION, "ts": "../../2026-03-01T12:00:00Z"},
        {**SESSION, "ts": "2026-03-01T12:00:00Z/../../x"},
    ]
    result = collect(log_dir, [("in", [enc(e) for e in hostile])])
    assert (result.written, len(result.rejected)) == (3, 4)
    assert set(files_under(root)) == {"logs/app/2026-03-01.jsonl", "logs/qa/2026-03-01.jsonl",
                                      "logs/rollout/2026-03-01.jsonl"}
    assert {p.name for p in tmp_path.iterdir()} == {"sandbox"}


def test_times_at_the_calendar_edges_are_filed_under_their_utc_date(tmp_path):
    lines = [enc({**SESSION, "ts": "0001-01-01T00:30:00+01:00"}), enc({**SESSION, "ts": "9999-12-31t23:30:00-01:00"}),
             enc({**SESSION, "ts": "2024-02-29T23:00:00-02:00"}),
             json.dumps({**SESSION, "ts": "2026-03-01T12:00:00Z\n"}).encode()]
    result = collect(tmp_path / "logs", [("in", lines)])
    assert result.written == 4
    assert set(files_under(tmp_path / "logs")) == {"app/0000-12-31.jsonl", "app/10000-01-01.jsonl",
                                                   "app/2024-03-01.jsonl", "app/2026-03-01.jsonl"}


def test_cli_collect_reads_stdin_and_files(tmp_path):
    data = enc(SESSION) + b"\n" + b"garbage\n" + enc({**SESSION, "phase": "A-2"}) + b"\n"
    proc = cli("collect", "--log-dir", str(tmp_path / "logs"), "--json", input=data, home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert (out["read"], out["written"], out["rejected"]) == (3, 2, 1)
    assert out["rejects"][0]["line"] == 2 and out["rejects"][0]["source"] == "<stdin>"
    assert (tmp_path / "logs" / "app" / "2026-03-01.jsonl").read_bytes().count(b"\n") == 2

    src = tmp_path / "in.jsonl"
    src.write_bytes(data)
    strict = cli("collect", "--strict", str(src), home=tmp_path)  # default log dir: <home>/logs
    assert strict.returncode == 3
    assert "in.jsonl:2" in strict.stderr.decode()
    assert (tmp_path / "logs" / "app" / "2026-03-01.jsonl").read_bytes().count(b"\n") == 4
    missing = cli("collect", str(tmp_path / "none.jsonl"), home=tmp_path)
    assert missing.returncode == 2 and b"Traceback" not in missing.stderr


# --- several collectors at once -----------------------------------------------------------------------------------

def _writer(args) -> int:
    log_dir, worker, batches, per_batch = args
    rng = random.Random(worker)
    written = 0
    for b in range(batches):
        lines = []
        for i in range(per_batch):
            size = rng.choice([10, 100, 5000, 70_000, 300_000])
            obj = {"event": "rollback.executed", "timestamp": "2026-03-01T12:00:00Z", "phase_from": "A-2",
                   "phase_to": "A-1", "trigger_metric": "m", "event_id": f"w{worker}-b{b}-i{i}",
                   "reason": chr(ord("a") + worker) * size}
            lines.append(json.dumps(obj).encode())
        written += collect(Path(log_dir), [(f"w{worker}", lines)]).written
    return written


def test_several_collector_processes_append_whole_lines(tmp_path):
    log_dir = tmp_path / "logs"
    workers, batches, per_batch = 4, 12, 6
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        written = pool.map(_writer, [(str(log_dir), w, batches, per_batch) for w in range(workers)])
    assert written == [batches * per_batch] * workers
    target = log_dir / "rollout" / "2026-03-01.jsonl"
    assert files_under(log_dir).keys() == {"rollout/2026-03-01.jsonl"}
    data = target.read_bytes()
    assert data.endswith(b"\n")
    lines = data.split(b"\n")[:-1]
    assert len(lines) == workers * batches * per_batch  # every line, none torn, none merged
    ids = []
    for text in lines:
        ok, obj = reference_verdict(text)
        assert ok, text[:200]
        assert set(obj["reason"]) == {chr(ord("a") + int(obj["event_id"][1]))}  # no bytes from another writer
        ids.append(obj["event_id"])
    assert len(set(ids)) == len(ids)
    result = ingest(tmp_path / "home", [log_dir])
    assert (result.loaded, result.rejected, result.duplicates) == (len(ids), 0, 0)


def test_several_collect_commands_at_once(tmp_path):
    log_dir = tmp_path / "logs"
    inputs = []
    for w in range(3):
        body = b"".join(enc({**SESSION, "event_id": f"c{w}-{i}", "feature": "x" * (i * 997 % 50_000 + 1)}) + b"\n"
                        for i in range(150))
        inputs.append(body)
    procs = [subprocess.Popen([str(ROLLOUTCTL), "collect", "--log-dir", str(log_dir)], stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in inputs]
    for p, body in zip(procs, inputs):
        p.stdin.write(body)
        p.stdin.close()
    for p in procs:
        assert p.wait(timeout=120) == 0, p.stderr.read()
        p.stderr.close()
    lines = (log_dir / "app" / "2026-03-01.jsonl").read_bytes().split(b"\n")
    assert lines[-1] == b""
    assert sorted(lines[:-1]) == sorted(x for body in inputs for x in body.split(b"\n")[:-1])
